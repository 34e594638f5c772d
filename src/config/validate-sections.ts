/**
 * Validation of the sections around providers: grants (and the legacy temp_grants),
 * database (quotas: validate-quotas.ts, hooks: validate-hooks.ts, exporters: validate-exporters.ts). Sections keyway does not act on yet are checked
 * as far as the reference allows and kept; not-implemented.ts warns that they have no
 * effect. As everywhere, what would be dropped (an entry of the wrong shape, a role keyway
 * does not know, a malformed header) is an error; the reference's warnings stay warnings.
 */
import { Checker, isObject, parseHeaderEntry, type Obj } from './checker.js';
import type { PathSegment } from './hujson.js';
import type { Capability, CorsSpec, GrantSpec, Role } from './types.js';
import { parseMcpGrants } from './validate-mcp.js';
import { tempGrantHookCapabilities, validateSendHooks } from './validate-hooks.js';
import { validateBucketRefs } from './validate-quotas.js';

export const APERTURE_CAP = 'tailscale.com/cap/aperture';

const CAPABILITY_KEYS = new Set([
  'role', 'models', 'quotas', 'send_hooks', 'add_headers', 'mcp_tools', 'mcp_resources', 'mcp_templates',
  'connectors', 'enable_chat_ui', 'read_metrics', 'set_cors', 'cors_paths',
  'Access-Control-Allow-Origin', 'Access-Control-Allow-Methods', 'Access-Control-Allow-Headers',
]);

/** validateGrants checks `grants` and `temp_grants` and returns both in one normalised list. */
export function validateGrants(c: Checker, doc: Obj, providerIds: string[], mcpServerIds: ReadonlySet<string> = new Set()): GrantSpec[] {
  const hooks = isObject(doc.hooks) ? new Set(Object.keys(doc.hooks)) : new Set<string>();
  const quotas = isObject(doc.quotas) ? new Set(Object.keys(doc.quotas)) : new Set<string>();
  const out: GrantSpec[] = [];

  (c.array(doc, 'grants', []) ?? []).forEach((g, i) => {
    const path: PathSegment[] = ['grants', i];
    if (!isObject(g)) {
      c.error(path, `grants[${i}] must be an object with "src" and "app"`);
      return;
    }
    for (const key of Object.keys(g)) {
      if (key === 'dst' || key === 'ip') c.warn([...path, key], `grants[${i}]: "${key}" belongs in the tailnet policy file, not in the gateway config`);
      else if (key !== 'src' && key !== 'app') c.warn([...path, key], `unknown config key "${key}"`);
    }
    const src = c.stringArray(g, 'src', path);
    const app = c.object(g, 'app', path) ?? {};
    const caps: Capability[] = [];
    // A null prototype: an app key from the document (even `__proto__`) is only ever a key.
    const otherApps: Record<string, unknown[]> = Object.create(null) as Record<string, unknown[]>;
    for (const [capName, list] of Object.entries(app)) {
      if (!Array.isArray(list)) {
        c.error([...path, 'app', capName], `grants[${i}]: app["${capName}"] must be an array of capability objects`);
        continue;
      }
      if (capName !== APERTURE_CAP) {
        otherApps[capName] = list;
        continue;
      }
      list.forEach((cap, j) => {
        const parsed = validateCapability(c, cap, [...path, 'app', capName, j], { hooks, quotas, providerIds, mcpServerIds });
        if (parsed) caps.push(parsed);
      });
    }
    out.push({ src, caps, otherApps });
  });

  (c.array(doc, 'temp_grants', []) ?? []).forEach((g, i) => {
    const spec = validateTempGrant(c, g, ['temp_grants', i], hooks);
    if (spec) out.push(spec);
  });

  const hasProviders = isObject(doc.providers) && Object.keys(doc.providers).length > 0;
  if (out.length === 0) {
    if (hasProviders) c.warn(['grants'], 'providers are configured but no grants or temp_grants defined; all access will be denied');
  } else if (!out.some((g) => g.caps.some((cap) => cap.role === 'admin'))) {
    c.warn(['grants'], 'no grant in grants or temp_grants assigns role:admin; nobody will be able to manage this instance');
  }
  return out;
}

interface Known {
  /** The document's hooks; undefined for capabilities from the tailnet (not checked against them). */
  hooks: ReadonlySet<string> | undefined;
  quotas: Set<string>;
  providerIds: string[];
  /** Declared MCP server and connector IDs; undefined skips the unknown-server warning. */
  mcpServerIds: ReadonlySet<string> | undefined;
}

function validateCapability(c: Checker, raw: unknown, path: PathSegment[], known: Known): Capability | undefined {
  if (!isObject(raw)) {
    c.error(path, 'capability must be an object');
    return undefined;
  }
  c.unknownKeys(raw, CAPABILITY_KEYS, path);
  const cap: Capability = { extra: {} };
  for (const [key, v] of Object.entries(raw)) {
    if (!['role', 'models', 'quotas', 'send_hooks', 'add_headers', 'enable_chat_ui', 'read_metrics', ...CORS_KEYS, ...MCP_KEYS].includes(key)) cap.extra[key] = v;
  }
  const mcp = parseMcpGrants(c, raw, path, known.mcpServerIds);
  if (mcp) cap.mcp = mcp;
  if (raw.role !== undefined) {
    const role = c.string(raw, 'role', path);
    if (role === 'admin' || role === 'user') cap.role = role as Role;
    else if (typeof raw.role === 'string') c.error([...path, 'role'], `invalid role "${role}" (want "admin" or "user")`);
  }
  if (raw.models !== undefined) {
    const pattern = c.string(raw, 'models', path);
    if (pattern !== '') {
      cap.models = pattern;
      const first = pattern.split('/')[0]!;
      if (!first.includes('*') ? !known.providerIds.includes(first) : !known.providerIds.some((id) => globSegmentMatches(first, id))) {
        if (first !== '**') c.warn([...path, 'models'], `models pattern "${pattern}" references provider "${first}" which does not match any declared provider`);
      }
    }
  }
  if (raw.quotas !== undefined) cap.quotas = validateBucketRefs(c, raw, path, known.quotas);
  if (raw.send_hooks !== undefined) cap.send_hooks = validateSendHooks(c, raw, path, known.hooks);
  if (raw.add_headers !== undefined) {
    cap.add_headers = [];
    c.stringArray(raw, 'add_headers', path).forEach((entry, k) => {
      const header = parseHeaderEntry(entry);
      if (header) cap.add_headers!.push(header);
      else c.error([...path, 'add_headers', k], `add_headers entry "${entry}" must be in "Header-Name: value" format`);
    });
  }
  if (raw.enable_chat_ui !== undefined) cap.enable_chat_ui = c.boolean(raw, 'enable_chat_ui', path, true);
  if (raw.read_metrics !== undefined) cap.read_metrics = c.boolean(raw, 'read_metrics', path, false);
  const cors = validateCors(c, raw, path);
  if (cors) cap.cors = cors;
  return cap;
}

const MCP_KEYS = ['mcp_tools', 'mcp_resources', 'mcp_templates', 'connectors'];
const CORS_KEYS = ['set_cors', 'cors_paths', 'Access-Control-Allow-Origin', 'Access-Control-Allow-Methods', 'Access-Control-Allow-Headers'];

/** Paths a CORS grant opens when it names none: the provider APIs, not keyway's own. */
export const DEFAULT_CORS_PATHS = ['/v1/**', '/v1beta/**'];

/**
 * validateCors reads a capability's CORS fields. They take effect only with
 * `set_cors: true`; an origin list is required then, since CORS without one opens nothing.
 */
function validateCors(c: Checker, raw: Obj, path: PathSegment[]): CorsSpec | undefined {
  const setCors = c.boolean(raw, 'set_cors', path, false);
  const paths = c.stringArray(raw, 'cors_paths', path);
  paths.forEach((p, i) => {
    if (!p.startsWith('/')) c.error([...path, 'cors_paths', i], `cors_paths entry "${p}" must be a path starting with "/"`);
  });
  const originText = c.string(raw, 'Access-Control-Allow-Origin', path);
  const origins = originText.split(/[\s,]+/).filter((o) => o !== '');
  origins.forEach((o) => {
    if (o !== '*' && !isOrigin(o)) c.error([...path, 'Access-Control-Allow-Origin'], `Access-Control-Allow-Origin "${o}" must be "*" or an origin like "https://app.example.com" (scheme, host and optional port, no path)`);
  });
  const methods = c.string(raw, 'Access-Control-Allow-Methods', path);
  const headers = c.string(raw, 'Access-Control-Allow-Headers', path);
  if (!setCors) {
    if (paths.length > 0 || origins.length > 0 || methods !== '' || headers !== '') {
      c.warn([...path, 'set_cors'], 'CORS fields have no effect without "set_cors": true');
    }
    return undefined;
  }
  if (origins.length === 0) {
    c.warn([...path, 'Access-Control-Allow-Origin'], 'set_cors is true but no Access-Control-Allow-Origin is given; no web origin is allowed');
  }
  return {
    paths: paths.length > 0 ? paths.filter((p) => p.startsWith('/')) : DEFAULT_CORS_PATHS,
    origins: origins.filter((o) => o === '*' || isOrigin(o)).map((o) => (o === '*' ? o : new URL(o).origin)),
    methods: methods === '' ? undefined : methods,
    headers: headers === '' ? undefined : headers,
  };
}

function isOrigin(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === s.replace(/\/$/, '');
  } catch {
    return false;
  }
}

/**
 * parseCapabilities reads capability objects that arrive with a caller (the
 * `tailscale.com/cap/aperture` entries of their tailnet CapMap). What does not parse is
 * dropped: a malformed grant grants nothing.
 */
export function parseCapabilities(list: readonly unknown[]): Capability[] {
  const c = new Checker();
  const known: Known = { hooks: undefined, quotas: new Set(), providerIds: [], mcpServerIds: undefined };
  const out: Capability[] = [];
  list.forEach((raw, i) => {
    const cap = validateCapability(c, raw, [i], known);
    if (cap) out.push(cap);
  });
  return out;
}

/** globSegmentMatches matches one `*` glob segment (no `/`) against a name. */
export function globSegmentMatches(pattern: string, name: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === name;
  let pos = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (i === 0) {
      if (!name.startsWith(part)) return false;
      pos = part.length;
    } else if (i === parts.length - 1) {
      return name.length - part.length >= pos && name.endsWith(part);
    } else {
      const at = name.indexOf(part, pos);
      if (at < 0) return false;
      pos = at + part.length;
    }
  }
  return true;
}

/**
 * validateTempGrant converts the legacy form
 * `{src, grants: [{role}, {providers: [{provider, model}]}, {hook: …}]}` into a grant
 * (hook entries: validate-hooks.ts).
 */
function validateTempGrant(c: Checker, raw: unknown, path: PathSegment[], hooks: ReadonlySet<string>): GrantSpec | undefined {
  if (!isObject(raw)) {
    c.error(path, 'temp_grants entries must be objects with "src" and "grants"');
    return undefined;
  }
  c.unknownKeys(raw, new Set(['src', 'grants']), path);
  const src = c.stringArray(raw, 'src', path);
  const caps: Capability[] = [];
  (c.array(raw, 'grants', path) ?? []).forEach((g, i) => {
    const gp = [...path, 'grants', i];
    if (!isObject(g)) {
      c.error(gp, 'temp_grants capabilities must be objects');
      return;
    }
    if (g.role !== undefined) {
      const role = c.string(g, 'role', gp);
      if (role === 'admin' || role === 'user') caps.push({ role, extra: {} });
      else if (typeof g.role === 'string') c.error([...gp, 'role'], `invalid role "${role}" (want "admin" or "user")`);
    }
    (c.array(g, 'providers', gp) ?? []).forEach((p, k) => {
      if (!isObject(p)) {
        c.error([...gp, 'providers', k], 'temp_grants providers entries must be objects with "provider" and "model"');
        return;
      }
      const provider = c.string(p, 'provider', [...gp, 'providers', k], '*');
      const model = c.string(p, 'model', [...gp, 'providers', k], '*');
      // Legacy "*" meant "any model", which may itself contain "/": widen to "**".
      caps.push({ models: `${provider}/${model === '*' ? '**' : model}`, extra: {} });
    });
    if (g.hook !== undefined) caps.push(...tempGrantHookCapabilities(c, g.hook, [...gp, 'hook'], hooks));
  });
  return { src, caps, otherApps: {} };
}

/** validateOtherSections checks database and flags (quotas: validate-quotas.ts; hooks: validate-hooks.ts; exporters: validate-exporters.ts). */
export function validateOtherSections(c: Checker, doc: Obj): void {
  const database = c.object(doc, 'database', []);
  if (database) {
    c.unknownKeys(database, new Set(['retention']), ['database']);
    const retention = c.object(database, 'retention', ['database']);
    if (retention) {
      const path = ['database', 'retention'];
      c.unknownKeys(retention, new Set(['duration', 'require_export', 'purge']), path);
      const duration = c.string(retention, 'duration', path);
      // Retention is in force (telemetry/capture.ts): a duration it cannot read would keep
      // captures forever, so it is an error, like an unknown purge entry.
      if (duration !== '' && duration !== '0' && !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d))+$/.test(duration)) {
        c.error([...path, 'duration'], `database.retention.duration "${duration}" is not a duration like "30d" or "720h"`);
      }
      c.boolean(retention, 'require_export', path, false);
      c.stringArray(retention, 'purge', path).forEach((p, i) => {
        if (p !== 'captures' && p !== 'tools') c.error([...path, 'purge', i], `database.retention.purge entries must be "captures" or "tools"`);
      });
    }
  }

}

export type { Obj };
