/**
 * Validation of MCP servers and connectors: `mcp` (the reference's beta form),
 * `connectors` (its later form, in force with `flags.connectors`), `flags`, and the grant
 * fields that give access to them (`mcp_tools`, `mcp_resources`, `mcp_templates`,
 * `connectors`). As everywhere, what keyway would have to drop or guess at is an error:
 * an ID that cannot prefix a tool name, an auth type it does not know, a URL it refuses
 * to call (url-safety.ts).
 */
import { unsafeUrlReason, type SelfAddress } from '../upstream/url-safety.js';
import { Checker, isObject, type Obj } from './checker.js';
import type { PathSegment } from './hujson.js';
import { globSegmentMatches } from './validate-sections.js';
import { MCP_AUTH_TYPES, type McpAuthSpec, type McpConfig, type McpServerSpec } from './types.js';

/** Server and connector IDs: the prefix of `id_tool` and `id-uri`, so no `_` or `-`. */
const SERVER_ID = /^[a-zA-Z][a-zA-Z0-9]*$/;
/** IDs the reference reserves (built-in connectors), compared without case. */
const RESERVED_IDS = new Set(['aperture', 'tailscale', 'internal']);
/** `auto1`, `auto2`, …: the IDs POST /v1/mcp/register hands out. */
const REGISTRATION_ID = /^auto\d+$/i;
const RESERVED_LABELS = new Set(['system']);

/** Grant categories of a connector (`connectorID/category/item`). */
export const MCP_CATEGORIES = ['tools', 'resources', 'templates', 'proxy'] as const;
export type McpCategory = (typeof MCP_CATEGORIES)[number];
const CATEGORY_SET: ReadonlySet<string> = new Set(MCP_CATEGORIES);

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const RESERVED_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'te', 'trailer', 'content-type', 'accept', 'mcp-session-id', 'mcp-protocol-version']);

const AUTH_KEYS: Record<(typeof MCP_AUTH_TYPES)[number], string[]> = {
  bearer_token: ['token'],
  api_key: ['api_key', 'header'],
  basic: ['username', 'password'],
  oauth2_client_credentials: ['token_url', 'client_id', 'client_secret', 'scopes', 'audience'],
  oauth2_authorization_code: ['authorization_url', 'token_url', 'client_id', 'client_secret', 'scopes', 'redirect_url'],
  oauth2_dcr: ['scopes', 'registration_url', 'authorization_url', 'token_url'],
};

export interface McpValidateOptions {
  /** keyway's own listen address, when known: a server there would be keyway calling itself. */
  self?: SelfAddress;
}

/** validateMcp checks `mcp`, `connectors` and `flags` and returns the servers keyway connects to. */
export function validateMcp(c: Checker, doc: Obj, options: McpValidateOptions = {}): McpConfig {
  const connectorsEnabled = validateFlags(c, doc);
  const servers: McpServerSpec[] = [];
  const seen = new Map<string, string>();
  const add = (spec: McpServerSpec | undefined, path: PathSegment[]) => {
    if (!spec) return;
    const other = seen.get(spec.id.toLowerCase());
    if (other !== undefined) {
      c.error(path, `server ID "${spec.id}" is already used by ${other}; tool names would clash`);
      return;
    }
    seen.set(spec.id.toLowerCase(), spec.source === 'mcp' ? `mcp.servers.${spec.id}` : `connectors.servers.${spec.id}`);
    servers.push(spec);
  };

  const mcp = c.object(doc, 'mcp', []);
  let acceptRegistrations = false;
  if (mcp) {
    c.unknownKeys(mcp, new Set(['accept_registrations', 'servers']), ['mcp']);
    acceptRegistrations = c.boolean(mcp, 'accept_registrations', ['mcp'], false);
    for (const [id, raw] of Object.entries(c.object(mcp, 'servers', ['mcp']) ?? {})) {
      const path: PathSegment[] = ['mcp', 'servers', id];
      add(validateServer(c, id, raw, path, 'mcp', options), path);
    }
  }

  const connectors = c.object(doc, 'connectors', []);
  if (connectors) {
    c.unknownKeys(connectors, new Set(['servers']), ['connectors']);
    const entries = Object.entries(c.object(connectors, 'servers', ['connectors']) ?? {});
    // Checked either way, so turning the flag on never reveals errors that were there all along.
    const specs = entries.map(([id, raw]) => [validateServer(c, id, raw, ['connectors', 'servers', id], 'connector', options), id] as const);
    if (entries.length > 0 && !connectorsEnabled) {
      c.warn(['connectors'], '"connectors" has no effect without the connectors feature flag ("flags": {"connectors": {"value": true}})');
    } else {
      for (const [spec, id] of specs) add(spec, ['connectors', 'servers', id]);
    }
  }
  return { acceptRegistrations, connectorsEnabled, servers };
}

/** validateFlags checks `flags` (`{"name": {"value": …}}`) and reports whether connectors are on. */
function validateFlags(c: Checker, doc: Obj): boolean {
  const flags = c.object(doc, 'flags', []);
  if (!flags) return false;
  let connectors = false;
  for (const [name, raw] of Object.entries(flags)) {
    const path: PathSegment[] = ['flags', name];
    if (!isObject(raw)) {
      c.error(path, `flag ${name} must be an object like {"value": true}`);
      continue;
    }
    c.unknownKeys(raw, new Set(['value']), path);
    if (name === 'connectors') {
      connectors = c.boolean(raw, 'value', path, false);
    } else if (raw.value !== undefined && raw.value !== null && raw.value !== false) {
      c.warn(path, `"flags.${name}" has no effect: keyway does not know the feature flag "${name}"`);
    }
  }
  return connectors;
}

function validateServer(c: Checker, id: string, raw: unknown, path: PathSegment[], source: McpServerSpec['source'], options: McpValidateOptions): McpServerSpec | undefined {
  const what = source === 'mcp' ? 'MCP server' : 'connector';
  if (!isObject(raw)) {
    c.error(path, `${what} ${id} must be an object with a "url"`);
    return undefined;
  }
  let ok = true;
  if (!SERVER_ID.test(id)) {
    c.error(path, `${what} ID "${id}" must start with a letter and contain only letters and digits (it prefixes tool names as "${id}_tool" and resources as "${id}-uri")`);
    ok = false;
  } else if (RESERVED_IDS.has(id.toLowerCase())) {
    c.error(path, `${what} ID "${id}" is reserved (aperture, tailscale and internal are)`);
    ok = false;
  } else if (REGISTRATION_ID.test(id)) {
    c.error(path, `${what} ID "${id}" is reserved for servers registered with POST /v1/mcp/register (auto1, auto2, …)`);
    ok = false;
  }

  const keys = source === 'mcp' ? ['url'] : ['protocol', 'url', 'auth', 'labels', 'description'];
  c.unknownKeys(raw, new Set(keys), path);

  let protocol: McpServerSpec['protocol'] = 'mcp';
  if (source === 'connector') {
    const p = c.string(raw, 'protocol', path);
    if (p === 'mcp' || p === 'http') protocol = p;
    else if (typeof raw.protocol === 'string' || raw.protocol === undefined || raw.protocol === null) {
      c.error([...path, 'protocol'], p === '' ? `connector ${id} needs "protocol": "mcp" or "http"` : `connector ${id} has invalid protocol "${p}" (want "mcp" or "http")`);
      ok = false;
    }
  }

  const url = c.string(raw, 'url', path).trim();
  if (!checkUrl(c, [...path, 'url'], `${what} ${id}`, url, raw.url, options)) ok = false;

  const auth = source === 'connector' ? validateAuth(c, id, raw, path, options) : ({ type: 'none' } as const);
  if (!auth) ok = false;

  const labels = source === 'connector' ? c.stringArray(raw, 'labels', path) : [];
  labels.forEach((label, i) => {
    if (RESERVED_LABELS.has(label)) c.error([...path, 'labels', i], `label "${label}" is reserved`);
    else if (label === '' || label.includes('/')) c.error([...path, 'labels', i], `label "${label}" must be a non-empty name without "/"`);
  });
  const description = source === 'connector' ? c.string(raw, 'description', path) : '';

  return ok && auth ? { id, source, protocol, url, auth, labels, description } : undefined;
}

/** checkUrl reports an unusable or unsafe server URL; it returns whether the URL can be used. */
function checkUrl(c: Checker, path: PathSegment[], what: string, url: string, raw: unknown, options: McpValidateOptions): boolean {
  if (typeof raw !== 'string' && raw !== undefined && raw !== null) return false; // reported by c.string
  if (url === '') {
    c.error(path, `${what} has no url configured`);
    return false;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    c.error(path, `${what} has invalid url (must be an http:// or https:// URL): ${url}`);
    return false;
  }
  if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.hostname === '') {
    c.error(path, `${what} has invalid url (must be an http:// or https:// URL): ${url}`);
    return false;
  }
  if (parsed.username !== '' || parsed.password !== '') {
    c.error(path, `${what}: the url must not hold credentials; put them in "auth", where they are kept secret`);
    return false;
  }
  const unsafe = unsafeUrlReason(parsed, options.self);
  if (unsafe) {
    c.error(path, `${what}: keyway refuses to call ${parsed.host}: ${unsafe}`);
    return false;
  }
  return true;
}

function validateAuth(c: Checker, id: string, server: Obj, serverPath: PathSegment[], options: McpValidateOptions): McpAuthSpec | undefined {
  const raw = c.object(server, 'auth', serverPath);
  if (server.auth !== undefined && server.auth !== null && !raw) return undefined;
  if (!raw) return { type: 'none' };
  const path = [...serverPath, 'auth'];
  const type = c.string(raw, 'type', path);
  if (!(MCP_AUTH_TYPES as readonly string[]).includes(type)) {
    c.error([...path, 'type'], type === '' ? `connector ${id}: auth needs a "type" (${MCP_AUTH_TYPES.join(', ')})` : `connector ${id} has invalid auth type "${type}" (want ${MCP_AUTH_TYPES.join(', ')})`);
    return undefined;
  }
  const t = type as (typeof MCP_AUTH_TYPES)[number];
  c.unknownKeys(raw, new Set(['type', ...AUTH_KEYS[t]]), path);
  const required = (key: string): string => {
    const v = c.string(raw, key, path);
    if (v === '' && (raw[key] === undefined || raw[key] === null || raw[key] === '')) c.error([...path, key], `connector ${id}: auth type ${t} needs "${key}"`);
    return v;
  };
  const before = c.problems.length;
  let spec: McpAuthSpec;
  switch (t) {
    case 'bearer_token':
      spec = { type: t, token: required('token') };
      break;
    case 'api_key': {
      const header = c.string(raw, 'header', path, 'X-API-Key').trim();
      if (!HEADER_NAME.test(header)) c.error([...path, 'header'], `connector ${id}: "${header}" is not a header name`);
      else if (RESERVED_HEADERS.has(header.toLowerCase())) c.error([...path, 'header'], `connector ${id}: the api_key may not be sent as ${header}`);
      spec = { type: t, header, apiKey: required('api_key') };
      break;
    }
    case 'basic':
      spec = { type: t, username: required('username'), password: c.string(raw, 'password', path) };
      break;
    case 'oauth2_client_credentials': {
      const tokenUrl = required('token_url').trim();
      if (tokenUrl !== '') checkUrl(c, [...path, 'token_url'], `connector ${id} token_url`, tokenUrl, raw.token_url, options);
      const audience = c.string(raw, 'audience', path);
      spec = { type: t, tokenUrl, clientId: required('client_id'), clientSecret: required('client_secret'), scopes: c.stringArray(raw, 'scopes', path), audience: audience === '' ? undefined : audience };
      break;
    }
    default:
      // Per-user OAuth: checked as far as its fields are known; not-implemented.ts warns.
      for (const key of AUTH_KEYS[t]) if (key === 'scopes') c.stringArray(raw, key, path);
      else c.string(raw, key, path);
      spec = { type: t };
  }
  return c.problems.slice(before).some((p) => p.severity === 'error') ? undefined : spec;
}

/**
 * parseMcpGrants reads a capability's MCP fields into `serverID/category/item` globs:
 * `mcp_tools: "local/*"` becomes `local/tools/*`, and `connectors` entries are already in
 * that form (or `label:<label>`, which stands for `label:<label>/**`). `known` lists the
 * declared server IDs for the reference's warning; undefined (a caller's tailnet grants)
 * skips it. Returns undefined when the capability has none of the fields.
 */
export function parseMcpGrants(c: Checker, raw: Obj, path: PathSegment[], known: ReadonlySet<string> | undefined): string[] | undefined {
  let out: string[] | undefined;
  const push = (p: string) => (out ??= []).includes(p) || out.push(p);
  for (const [field, category] of [['mcp_tools', 'tools'], ['mcp_resources', 'resources'], ['mcp_templates', 'templates']] as const) {
    if (raw[field] === undefined || raw[field] === null) continue;
    const pattern = c.string(raw, field, path);
    if (typeof raw[field] !== 'string') continue;
    const slash = pattern.indexOf('/');
    if (pattern === '**') {
      push(`*/${category}/**`);
      continue;
    }
    if (slash <= 0 || slash === pattern.length - 1) {
      c.error([...path, field], `${field} pattern "${pattern}" must be "serverID/item" (for example "local/*", "*/search" or "**")`);
      continue;
    }
    const server = pattern.slice(0, slash);
    const rest = pattern.slice(slash + 1);
    warnUnknownServer(c, [...path, field], field, pattern, server, known);
    push(server === '**' ? `*/${category}/**/${rest}` : `${server}/${category}/${rest}`);
  }
  if (raw.connectors !== undefined && raw.connectors !== null) {
    c.stringArray(raw, 'connectors', path).forEach((pattern, i) => {
      const normal = normaliseConnectorPattern(pattern);
      if (!normal) {
        c.error([...path, 'connectors', i], `connectors pattern "${pattern}" must be "connectorID/category/item" (categories ${MCP_CATEGORIES.join(', ')}) or "label:<label>"`);
        return;
      }
      const first = normal.slice(0, normal.indexOf('/'));
      if (!first.startsWith('label:')) warnUnknownServer(c, [...path, 'connectors', i], 'connectors', pattern, first, known);
      push(normal);
    });
  }
  return out;
}

/** normaliseConnectorPattern returns a `connectors` grant entry as a 3-segment glob, or undefined when malformed. */
function normaliseConnectorPattern(pattern: string): string | undefined {
  if (pattern === '**') return '**';
  const segments = pattern.split('/');
  if (segments.some((s) => s === '')) return undefined;
  const [first, category] = segments as [string, string | undefined];
  if (first.startsWith('label:') && first.length === 'label:'.length) return undefined;
  if (segments.length === 1) return first.startsWith('label:') ? `${first}/**` : undefined;
  if (category === '**' && segments.length === 2) return pattern;
  if (segments.length < 3) return undefined;
  if (category !== '*' && category !== '**' && !CATEGORY_SET.has(category!)) return undefined;
  return pattern;
}

function warnUnknownServer(c: Checker, path: PathSegment[], field: string, pattern: string, server: string, known: ReadonlySet<string> | undefined): void {
  // Registered servers (auto1, …) come and go at run time: no declaration to check against.
  if (!known || server === '**' || server === 'internal' || /^auto/i.test(server)) return;
  const matches = server.includes('*') ? [...known].some((id) => globSegmentMatches(server, id)) : known.has(server);
  if (!matches) c.warn(path, `${field} pattern "${pattern}" references server "${server}" which does not match any declared MCP server`);
}

