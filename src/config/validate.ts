/**
 * validateConfigText turns configuration text into a normalised GatewayConfig plus every
 * problem found, each with its path, its line and column, and the reference's wording. It
 * is pure (no I/O, no globals) so the server, `keyway check` and the dashboard editor share
 * one validator, and so one verdict (problems.ts).
 */
import { validateChatModels } from './chat-models.js';
import { isAwsKey, parseAwsKey } from './aws-key.js';
import { Checker, isHttpUrl, isObject, parseHeaderEntry, type Obj } from './checker.js';
import { formatPath, parseHujson, type PathSegment } from './hujson.js';
import { LineIndex, nearestNode } from './locate.js';
import { substituteMacros, type Env } from './macros.js';
import { reportNotImplemented } from './not-implemented.js';
import {
  AUTH_MODES,
  AUTHORIZATION_STYLES,
  COST_BASES,
  FORMAT_FLAGS,
  type AuthMode,
  type AuthorizationStyle,
  type FormatFlag,
  type GatewayConfig,
  type ModelCostMapEntry,
  type Problem,
  type ProviderSpec,
} from './types.js';
import { validateMcp } from './validate-mcp.js';
import { reportRequireExport, validateS3Export } from './validate-exporters.js';
import { validateHooks } from './validate-hooks.js';
import { validateQuotas } from './validate-quotas.js';
import { validateGrants, validateOtherSections } from './validate-sections.js';
import { isKeyfileKey, parseKeyfile, type ServiceAccountKeyfile } from '../upstream/credentials/keyfile.js';
import type { SelfAddress } from '../upstream/url-safety.js';

const TOP_LEVEL_KEYS = new Set([
  'providers', 'grants', 'temp_grants', 'quotas', 'hooks', 'exporters', 'auto_cost_basis',
  'mcp', 'database', 'connectors', 'flags', 'chat_models',
]);

const PROVIDER_KEYS = new Set([
  'baseurl', 'models', 'apikey', 'authorization', 'auth_mode', 'name', 'description',
  'compatibility', 'cost_basis', 'model_cost_map', 'preference', 'disabled', 'add_headers',
]);

const FLAG_SET: ReadonlySet<string> = new Set(FORMAT_FLAGS);

// A provider ID is the first segment of `provider/model` names and of grant globs.
const PROVIDER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

// Headers that describe the connection, not the request: a provider may not set them.
const RESERVED_ADD_HEADERS = new Set([
  'host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer',
]);

export interface ValidateOptions {
  /** Environment for `${VAR}` macros; undefined leaves macros unexpanded (browser). */
  env?: Env;
  /** keyway's own listen address, when known: an MCP server there is refused (url-safety.ts). */
  self?: SelfAddress;
}

export interface ValidationResult {
  /** The normalised config, or undefined when any problem has severity `error` (problems.ts: blocking). */
  config: GatewayConfig | undefined;
  problems: Problem[];
}

export function validateConfigText(text: string, options: ValidateOptions = {}): ValidationResult {
  if (text.trim() === '') {
    return { config: undefined, problems: [{ severity: 'error', path: '', message: 'config must not be empty' }] };
  }
  const parsed = parseHujson(text);
  const problems: Problem[] = parsed.problems.map((p) => ({
    severity: p.severity,
    path: formatPath(p.path),
    message: p.message,
    line: p.line,
    column: p.column,
  }));
  if (parsed.value === undefined) return { config: undefined, problems };
  const result = validateConfigValue(parsed.value, options);
  const lines = new LineIndex(text);
  const located = result.problems.map((p): Problem => {
    const node = p.path && parsed.tree ? nearestNode(parsed.tree, p.path) : undefined;
    return node ? { ...p, ...lines.at(node.offset) } : p;
  });
  // A duplicate key is found by the parser, not the schema checks: it refuses the document too.
  const syntaxErrors = problems.some((p) => p.severity === 'error');
  return { config: syntaxErrors ? undefined : result.config, problems: [...problems, ...located] };
}

export function validateConfigValue(raw: unknown, options: ValidateOptions = {}): ValidationResult {
  const c = new Checker();
  const { value, missing } = substituteMacros(raw, options.env);
  if (missing.length > 0) c.error([], `unsubstituted macros: [${missing.join(' ')}]`);
  if (!isObject(value)) {
    c.error([], 'config must be a JSON object');
    return { config: undefined, problems: c.problems };
  }
  c.unknownKeys(value, TOP_LEVEL_KEYS, []);

  const providers: ProviderSpec[] = [];
  const providersObj = c.object(value, 'providers', []);
  if (providersObj) {
    for (const [id, p] of Object.entries(providersObj)) {
      const spec = validateProvider(c, id, p);
      if (spec) providers.push(spec);
    }
  }
  if (providersObj) reportPrefixShadowing(c, providersObj, providers);
  const hasMcp = isObject(value.mcp) && isObject(value.mcp.servers) && Object.keys(value.mcp.servers).length > 0;
  const hasConnectors = isObject(value.connectors) && Object.keys(value.connectors).length > 0;
  if (providers.length === 0 && !hasMcp && !hasConnectors) {
    c.warn(['providers'], 'no providers or mcp servers defined; users will not be able to access any models');
  }

  const mcp = validateMcp(c, value, { self: options.self });
  const grants = validateGrants(c, value, providers.map((p) => p.id), new Set(mcp.servers.map((s) => s.id)));
  const quotas = validateQuotas(c, value);
  const hooks = validateHooks(c, value);
  validateOtherSections(c, value);
  const s3Export = validateS3Export(c, value);
  reportRequireExport(c, value, s3Export);
  const chatModels = validateChatModels(c, value, providers);
  const autoCostBasis = c.boolean(value, 'auto_cost_basis', [], true);
  reportNotImplemented(c, value);

  const hasErrors = c.problems.some((p) => p.severity === 'error');
  return {
    config: hasErrors ? undefined : { providers, grants, quotas, hooks, mcp, autoCostBasis, chatModels, s3Export, document: value },
    problems: c.problems,
  };
}

function validateProvider(c: Checker, id: string, raw: unknown): ProviderSpec | undefined {
  const path: PathSegment[] = ['providers', id];
  // Every problem that would leave a provider out of routing, or make keyway guess how to
  // call it, is an error: the document is refused rather than served in part.
  if (!isObject(raw)) {
    c.error(path, `provider ${id} must be an object`);
    return undefined;
  }
  if (!PROVIDER_ID.test(id)) {
    c.error(path, `provider ID "${id}" must start with a letter or digit and contain only letters, digits, ".", "_" and "-" (it is the prefix in "${id}/model" names)`);
  }
  c.unknownKeys(raw, PROVIDER_KEYS, path);

  const baseurl = c.string(raw, 'baseurl', path).trim();
  // A baseurl of the wrong type is reported by c.string; "no baseurl" would say it twice.
  if (typeof raw.baseurl === 'string' || raw.baseurl === undefined || raw.baseurl === null) {
    if (baseurl === '') {
      c.error([...path, 'baseurl'], `provider ${id} has no baseurl configured`);
    } else if (!isHttpUrl(baseurl)) {
      c.error([...path, 'baseurl'], `provider ${id} has invalid baseurl (must be an http:// or https:// URL): ${baseurl}`);
    } else if (/\/v1\/?$/.test(baseurl)) {
      c.info([...path, 'baseurl'], `provider ${id} baseurl ends in /v1; keyway appends the request path (which starts with /v1), so the doubled /v1 is collapsed`);
    }
  }

  const authorizationRaw = c.string(raw, 'authorization', path, 'bearer');
  let authorization: AuthorizationStyle = 'bearer';
  if ((AUTHORIZATION_STYLES as readonly string[]).includes(authorizationRaw)) {
    authorization = authorizationRaw as AuthorizationStyle;
  } else {
    c.error([...path, 'authorization'], `provider ${id} has invalid authorization type: ${authorizationRaw}`);
  }

  const authModeRaw = c.string(raw, 'auth_mode', path, '');
  let authMode: AuthMode = 'override';
  if ((AUTH_MODES as readonly string[]).includes(authModeRaw)) {
    authMode = authModeRaw === '' ? 'override' : (authModeRaw as AuthMode);
  } else {
    c.error([...path, 'auth_mode'], `provider ${id} has invalid auth_mode: ${authModeRaw} (want "override", "passthrough" or "none")`);
  }

  const apikey = c.string(raw, 'apikey', path);
  let keyfile: ServiceAccountKeyfile | undefined;
  if (isKeyfileKey(apikey)) {
    const read = parseKeyfile(apikey);
    if ('error' in read) {
      c.error([...path, 'apikey'], `provider ${id} has an invalid keyfile:: apikey (want base64 of a service-account JSON key with client_email and private_key): ${read.error}`);
    } else {
      keyfile = read.keyfile;
      if (keyfile.projectId === undefined) {
        c.info([...path, 'apikey'], `provider ${id}: the keyfile has no project_id, so paths with _aperture_auto_vertex_project_id_ cannot be served; clients must name the project`);
      }
      if (raw.authorization !== undefined && authorization !== 'bearer') {
        c.info([...path, 'authorization'], `provider ${id}: authorization is not used with a keyfile:: apikey (keyway sends the service account's access token as Authorization: Bearer)`);
      }
    }
  }
  if (authModeRaw === 'override' && apikey === '') {
    c.error([...path, 'apikey'], `provider ${id} uses auth_mode "override" but has no apikey`);
  } else if (authModeRaw === '' && apikey === '') {
    c.info([...path, 'apikey'], `provider ${id} has no apikey; its requests are sent without credentials`);
  }

  const models = c.stringArray(raw, 'models', path);
  const uniqueModels: string[] = [];
  const seenModels = new Set<string>();
  models.forEach((m, i) => {
    if (m.trim() === '') c.error([...path, 'models', i], `provider ${id} lists an empty model name`);
    else if (m.includes('*')) c.error([...path, 'models', i], `provider ${id}: model "${m}" contains a wildcard; model names are exact, so it matches nothing`);
    if (seenModels.has(m)) c.info([...path, 'models', i], `provider ${id} lists model "${m}" more than once`);
    else uniqueModels.push(m);
    seenModels.add(m);
  });
  if (raw.models === undefined || raw.models === null || (Array.isArray(raw.models) && raw.models.length === 0)) {
    c.warn([...path, 'models'], `provider ${id} has no models; it serves nothing`);
  }

  const compatibility = validateCompatibility(c, raw, path);
  if (isAwsKey(apikey)) {
    // IAM access keys: keyway signs with SigV4 (a keyway extension, docs/configuration.md).
    const key = parseAwsKey(apikey);
    if ('problem' in key) {
      c.error([...path, 'apikey'], `provider ${id}: an "aws::" apikey ${key.problem}`);
    } else if (!compatibility.bedrock_model_invoke && !compatibility.bedrock_converse) {
      c.info([...path, 'apikey'], `provider ${id}: an "aws::" apikey signs requests for Amazon Bedrock, but the provider serves no Bedrock format (bedrock_model_invoke, bedrock_converse)`);
    }
  }

  const costBasisRaw = c.string(raw, 'cost_basis', path);
  if (costBasisRaw !== '' && !(COST_BASES as readonly string[]).includes(costBasisRaw)) {
    c.warn([...path, 'cost_basis'], `provider ${id} has unknown cost_basis: ${costBasisRaw} (its requests get no cost estimate)`);
  }

  const addHeaders: Array<[string, string]> = [];
  c.stringArray(raw, 'add_headers', path).forEach((entry, i) => {
    const header = parseHeaderEntry(entry);
    if (!header) {
      c.error([...path, 'add_headers', i], `provider ${id}: add_headers entry "${entry}" must be in "Header-Name: value" format`);
    } else if (RESERVED_ADD_HEADERS.has(header[0].toLowerCase())) {
      c.error([...path, 'add_headers', i], `provider ${id}: add_headers may not set ${header[0]}`);
    } else {
      addHeaders.push(header);
    }
  });

  return {
    id,
    baseurl,
    models: uniqueModels,
    apikey,
    keyfile,
    authorization,
    authMode,
    name: c.string(raw, 'name', path),
    description: c.string(raw, 'description', path),
    compatibility,
    costBasis: costBasisRaw === '' ? undefined : costBasisRaw,
    modelCostMap: validateModelCostMap(c, raw, path),
    preference: c.integer(raw, 'preference', path, 0),
    disabled: c.boolean(raw, 'disabled', path, false),
    addHeaders,
  };
}

/**
 * reportPrefixShadowing notes (info: it never blocks a save) every listed model name that
 * reads as another provider's `provider/model`. Exact names are matched first (the
 * reference's order, which OpenRouter-style IDs such as `qwen/qwen3-coder` need), so a
 * request for `openai/gpt-5` goes to the provider listing that literal name, in
 * passthrough with the caller's own OpenAI credential, and never to provider `openai`.
 */
function reportPrefixShadowing(c: Checker, raw: Obj, providers: readonly ProviderSpec[]): void {
  const byId = new Map(providers.map((p) => [p.id, p]));
  for (const p of providers) {
    for (const m of p.models) {
      const slash = m.indexOf('/');
      const other = slash > 0 ? byId.get(m.slice(0, slash)) : undefined;
      if (!other || other.id === p.id) continue;
      const rest = m.slice(slash + 1);
      const index = ((raw[p.id] as Obj).models as unknown[]).indexOf(m);
      // A warning: it blocks nothing (warnings never do), but check, the API and the dashboard show it.
      c.warn(
        ['providers', p.id, 'models', index],
        `provider ${p.id} lists model "${m}", which also names provider ${other.id}${other.models.includes(rest) ? ` (which lists "${rest}")` : ''}: exact names are matched first, so requests for "${m}" go to ${p.id}, not to ${other.id}`,
      );
    }
  }
}

/**
 * validateCompatibility applies the reference's defaults: with no block only
 * `openai_chat` is on; with a block every flag it does not mention is off.
 */
function validateCompatibility(c: Checker, raw: Obj, path: PathSegment[]): Record<FormatFlag, boolean> {
  const flags = Object.fromEntries(FORMAT_FLAGS.map((f) => [f, false])) as Record<FormatFlag, boolean>;
  const block = c.object(raw, 'compatibility', path);
  if (!block) {
    flags.openai_chat = true;
    return flags;
  }
  for (const [key, v] of Object.entries(block)) {
    if (!FLAG_SET.has(key)) {
      c.warn([...path, 'compatibility', key], `unknown config key "${key}"`);
      continue;
    }
    flags[key as FormatFlag] = c.boolean(block, key, [...path, 'compatibility'], false) && v === true;
  }
  return flags;
}

function validateModelCostMap(c: Checker, raw: Obj, path: PathSegment[]): ModelCostMapEntry[] {
  const list = c.array(raw, 'model_cost_map', path) ?? [];
  const out: ModelCostMapEntry[] = [];
  list.forEach((entry, i) => {
    const p = [...path, 'model_cost_map', i];
    if (!isObject(entry)) {
      c.error(p, 'model_cost_map entries must be objects with "match" and "as"');
      return;
    }
    c.unknownKeys(entry, new Set(['match', 'as', 'adjustment']), p);
    const match = c.string(entry, 'match', p);
    const as = c.string(entry, 'as', p);
    if (match === '' || as === '') {
      c.error(p, 'model_cost_map entries need both "match" and "as"');
      return;
    }
    out.push({ match, as, adjustment: c.number(entry, 'adjustment', p, 1) });
  });
  return out;
}

