/**
 * Validation of the sections around providers: grants (and the legacy temp_grants),
 * hooks, exporters and database (quotas: validate-quotas.ts). Hooks, exporters and the
 * database section are checked as far as the reference allows and kept for the
 * features that use them.
 */
import { Checker, isObject, parseHeaderEntry, type Obj } from './checker.js';
import type { PathSegment } from './hujson.js';
import type { Capability, GrantSpec, Role } from './types.js';
import { validateBucketRefs } from './validate-quotas.js';

export const APERTURE_CAP = 'tailscale.com/cap/aperture';

const CAPABILITY_KEYS = new Set([
  'role', 'models', 'quotas', 'send_hooks', 'add_headers', 'mcp_tools', 'mcp_resources', 'mcp_templates',
  'connectors', 'enable_chat_ui', 'read_metrics', 'set_cors', 'cors_paths',
  'Access-Control-Allow-Origin', 'Access-Control-Allow-Methods', 'Access-Control-Allow-Headers',
]);
const HOOK_EVENTS = new Set(['pre_request', 'entire_request', 'tool_call_entire_request']);
const HOOK_SEND = new Set([
  'request_body', 'response_body', 'raw_responses', 'user_message', 'tools', 'grants', 'estimated_cost', 'quotas',
]);

/** validateGrants checks `grants` and `temp_grants` and returns both in one normalised list. */
export function validateGrants(c: Checker, doc: Obj, providerIds: string[]): GrantSpec[] {
  const hooks = isObject(doc.hooks) ? new Set(Object.keys(doc.hooks)) : new Set<string>();
  const quotas = isObject(doc.quotas) ? new Set(Object.keys(doc.quotas)) : new Set<string>();
  const out: GrantSpec[] = [];

  (c.array(doc, 'grants', []) ?? []).forEach((g, i) => {
    const path: PathSegment[] = ['grants', i];
    if (!isObject(g)) {
      c.warn(path, `grants[${i}] must be an object with "src" and "app"`);
      return;
    }
    for (const key of Object.keys(g)) {
      if (key === 'dst' || key === 'ip') c.warn([...path, key], `grants[${i}]: "${key}" belongs in the tailnet policy file, not in the gateway config`);
      else if (key !== 'src' && key !== 'app') c.warn([...path, key], `unknown config key "${key}"`);
    }
    const src = c.stringArray(g, 'src', path);
    const app = c.object(g, 'app', path) ?? {};
    const caps: Capability[] = [];
    const otherApps: Record<string, unknown[]> = {};
    for (const [capName, list] of Object.entries(app)) {
      if (!Array.isArray(list)) {
        c.warn([...path, 'app', capName], `grants[${i}]: app["${capName}"] must be an array of capability objects`);
        continue;
      }
      if (capName !== APERTURE_CAP) {
        otherApps[capName] = list;
        continue;
      }
      list.forEach((cap, j) => {
        const parsed = validateCapability(c, cap, [...path, 'app', capName, j], { hooks, quotas, providerIds });
        if (parsed) caps.push(parsed);
      });
    }
    out.push({ src, caps, otherApps });
  });

  (c.array(doc, 'temp_grants', []) ?? []).forEach((g, i) => {
    const spec = validateTempGrant(c, g, ['temp_grants', i]);
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
  hooks: Set<string>;
  quotas: Set<string>;
  providerIds: string[];
}

function validateCapability(c: Checker, raw: unknown, path: PathSegment[], known: Known): Capability | undefined {
  if (!isObject(raw)) {
    c.warn(path, 'capability must be an object');
    return undefined;
  }
  c.unknownKeys(raw, CAPABILITY_KEYS, path);
  const cap: Capability = { extra: {} };
  for (const [key, v] of Object.entries(raw)) {
    if (!['role', 'models', 'quotas', 'send_hooks', 'add_headers', 'enable_chat_ui', 'read_metrics'].includes(key)) cap.extra[key] = v;
  }
  if (raw.role !== undefined) {
    const role = c.string(raw, 'role', path);
    if (role === 'admin' || role === 'user') cap.role = role as Role;
    else c.warn([...path, 'role'], `invalid role "${role}" (want "admin" or "user")`);
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
  if (raw.send_hooks !== undefined) {
    cap.send_hooks = [];
    (c.array(raw, 'send_hooks', path) ?? []).forEach((h, k) => {
      const hp = [...path, 'send_hooks', k];
      if (!isObject(h)) {
        c.warn(hp, 'send_hooks entries must be objects');
        return;
      }
      const name = c.string(h, 'name', hp);
      if (!known.hooks.has(name)) c.warn([...hp, 'name'], `send_hooks references undefined hook "${name}"`);
      const events = c.stringArray(h, 'events', hp);
      events.forEach((e, n) => HOOK_EVENTS.has(e) || c.warn([...hp, 'events', n], `unknown hook event "${e}"`));
      const send = c.stringArray(h, 'send', hp);
      send.forEach((s, n) => HOOK_SEND.has(s) || c.warn([...hp, 'send', n], `unknown hook send field "${s}"`));
      cap.send_hooks!.push({ name, events, send });
    });
  }
  if (raw.add_headers !== undefined) {
    cap.add_headers = [];
    c.stringArray(raw, 'add_headers', path).forEach((entry, k) => {
      const header = parseHeaderEntry(entry);
      if (header) cap.add_headers!.push(header);
      else c.warn([...path, 'add_headers', k], `add_headers entry "${entry}" must be in "Header-Name: value" format`);
    });
  }
  if (raw.enable_chat_ui !== undefined) cap.enable_chat_ui = c.boolean(raw, 'enable_chat_ui', path, true);
  if (raw.read_metrics !== undefined) cap.read_metrics = c.boolean(raw, 'read_metrics', path, false);
  return cap;
}

/**
 * parseCapabilities reads capability objects that arrive with a caller (the
 * `tailscale.com/cap/aperture` entries of their tailnet CapMap). What does not parse is
 * dropped: a malformed grant grants nothing.
 */
export function parseCapabilities(list: readonly unknown[]): Capability[] {
  const c = new Checker();
  const known: Known = { hooks: new Set(), quotas: new Set(), providerIds: [] };
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
 * `{src, grants: [{role}, {providers: [{provider, model}]}, {hook: …}]}` into a grant.
 */
function validateTempGrant(c: Checker, raw: unknown, path: PathSegment[]): GrantSpec | undefined {
  if (!isObject(raw)) {
    c.warn(path, 'temp_grants entries must be objects with "src" and "grants"');
    return undefined;
  }
  c.unknownKeys(raw, new Set(['src', 'grants']), path);
  const src = c.stringArray(raw, 'src', path);
  const caps: Capability[] = [];
  (c.array(raw, 'grants', path) ?? []).forEach((g, i) => {
    const gp = [...path, 'grants', i];
    if (!isObject(g)) {
      c.warn(gp, 'temp_grants capabilities must be objects');
      return;
    }
    if (g.role !== undefined) {
      const role = c.string(g, 'role', gp);
      if (role === 'admin' || role === 'user') caps.push({ role, extra: {} });
      else c.warn([...gp, 'role'], `invalid role "${role}" (want "admin" or "user")`);
    }
    (c.array(g, 'providers', gp) ?? []).forEach((p, k) => {
      if (!isObject(p)) return;
      const provider = c.string(p, 'provider', [...gp, 'providers', k], '*');
      const model = c.string(p, 'model', [...gp, 'providers', k], '*');
      // Legacy "*" meant "any model", which may itself contain "/": widen to "**".
      caps.push({ models: `${provider}/${model === '*' ? '**' : model}`, extra: {} });
    });
    if (g.hook !== undefined) caps.push({ extra: { hook: g.hook } });
  });
  return { src, caps, otherApps: {} };
}

/** validateOtherSections checks hooks, exporters, database and flags (quotas: validate-quotas.ts). */
export function validateOtherSections(c: Checker, doc: Obj): void {
  const hooks = c.object(doc, 'hooks', []);
  for (const [name, h] of Object.entries(hooks ?? {})) {
    const path = ['hooks', name];
    if (!isObject(h)) {
      c.warn(path, `hook ${name} must be an object`);
      continue;
    }
    c.unknownKeys(h, new Set(['url', 'apikey', 'authorization', 'timeout', 'disabled', 'fail_policy', 'preference']), path);
    const url = c.string(h, 'url', path);
    if (url === '') c.warn([...path, 'url'], `hook ${name} has no url configured`);
    else if (!/^https?:\/\//.test(url)) c.warn([...path, 'url'], `hook ${name} has invalid URL scheme (must be http:// or https://): ${url}`);
    const auth = c.string(h, 'authorization', path, 'bearer');
    if (!['bearer', 'x-api-key', 'x-goog-api-key'].includes(auth)) c.warn([...path, 'authorization'], `hook ${name} has invalid authorization type: ${auth}`);
    const policy = c.string(h, 'fail_policy', path, 'fail_open');
    if (policy !== 'fail_open' && policy !== 'fail_closed') c.warn([...path, 'fail_policy'], `hook ${name} has invalid fail_policy: ${policy}`);
    c.string(h, 'timeout', path);
    c.boolean(h, 'disabled', path, false);
    c.integer(h, 'preference', path, 0);
  }

  const exporters = c.object(doc, 'exporters', []);
  if (exporters) {
    c.unknownKeys(exporters, new Set(['s3']), ['exporters']);
    const s3 = c.object(exporters, 's3', ['exporters']);
    if (s3) {
      const prefix = c.string(s3, 'prefix', ['exporters', 's3']);
      if (prefix.endsWith('/')) c.warn(['exporters', 's3', 'prefix'], 'exporters.s3.prefix must not end with a slash');
    }
  }

  const database = c.object(doc, 'database', []);
  if (database) {
    c.unknownKeys(database, new Set(['retention']), ['database']);
    const retention = c.object(database, 'retention', ['database']);
    if (retention) {
      const path = ['database', 'retention'];
      c.unknownKeys(retention, new Set(['duration', 'require_export', 'purge']), path);
      const duration = c.string(retention, 'duration', path);
      if (duration !== '' && duration !== '0' && !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d))+$/.test(duration)) {
        c.warn([...path, 'duration'], `database.retention.duration "${duration}" is not a duration like "30d" or "720h"`);
      }
      c.boolean(retention, 'require_export', path, false);
      c.stringArray(retention, 'purge', path).forEach((p, i) => {
        if (p !== 'captures' && p !== 'tools') c.warn([...path, 'purge', i], `database.retention.purge entries must be "captures" or "tools"`);
      });
    }
  }

  c.object(doc, 'flags', []);
  c.object(doc, 'mcp', []);
  c.object(doc, 'connectors', []);
}

export type { Obj };
