/**
 * Validation of the `hooks` section and of the `send_hooks` entries grants (and legacy
 * `temp_grants` `hook` entries) wire them with. Hooks are in force (src/hooks/), so what
 * the reference only warns about is re-graded by keyway's one rule: a value keyway would
 * have to drop or guess at is an error. A typo in `fail_policy` would otherwise fail open
 * a guardrail meant to fail closed, and an unknown event name would silently never fire.
 */
import { parseDurationMs } from '../duration.js';
import { Checker, isObject, type Obj } from './checker.js';
import type { PathSegment } from './hujson.js';
import {
  AUTHORIZATION_STYLES,
  HOOK_EVENTS,
  HOOK_FAIL_POLICIES,
  HOOK_SEND_FIELDS,
  type AuthorizationStyle,
  type Capability,
  type HookFailPolicy,
  type HookSpec,
} from './types.js';

const HOOK_KEYS = new Set(['url', 'apikey', 'authorization', 'timeout', 'disabled', 'fail_policy', 'preference']);
const SEND_HOOK_KEYS = new Set(['name', 'events', 'send']);
const EVENTS: ReadonlySet<string> = new Set(HOOK_EVENTS);
const SEND: ReadonlySet<string> = new Set(HOOK_SEND_FIELDS);

/** The reference's default: a hook call may take 5 s. */
export const DEFAULT_HOOK_TIMEOUT_MS = 5_000;

type SendHook = NonNullable<Capability['send_hooks']>[number];

/** validateHooks checks `hooks` and returns the endpoints, in document order. */
export function validateHooks(c: Checker, doc: Obj): HookSpec[] {
  const section = c.object(doc, 'hooks', []);
  const out: HookSpec[] = [];
  for (const [name, h] of Object.entries(section ?? {})) {
    const path: PathSegment[] = ['hooks', name];
    if (!isObject(h)) {
      c.error(path, `hook ${name} must be an object`);
      continue;
    }
    c.unknownKeys(h, HOOK_KEYS, path);
    let ok = true;
    const url = c.string(h, 'url', path);
    let parsed: URL | undefined;
    if (url === '') {
      c.error([...path, 'url'], `hook ${name} has no url configured`);
      ok = false;
    } else if (!/^https?:\/\//i.test(url)) {
      c.error([...path, 'url'], `hook ${name} has invalid URL scheme (must be http:// or https://): ${url}`);
      ok = false;
    } else {
      try {
        parsed = new URL(url);
      } catch {
        c.error([...path, 'url'], `hook ${name} has invalid url: ${url}`);
        ok = false;
      }
    }
    const auth = c.string(h, 'authorization', path, 'bearer');
    if (!(AUTHORIZATION_STYLES as readonly string[]).includes(auth)) {
      c.error([...path, 'authorization'], `hook ${name} has invalid authorization type: ${auth} (want bearer, x-api-key or x-goog-api-key)`);
      ok = false;
    }
    const policy = c.string(h, 'fail_policy', path, 'fail_open');
    if (!(HOOK_FAIL_POLICIES as readonly string[]).includes(policy)) {
      c.error([...path, 'fail_policy'], `hook ${name} has invalid fail_policy: ${policy} (want "fail_open" or "fail_closed")`);
      ok = false;
    }
    const timeoutText = c.string(h, 'timeout', path, '5s');
    const timeoutMs = parseDurationMs(timeoutText);
    if (timeoutMs === undefined) {
      c.error([...path, 'timeout'], `hook ${name} has invalid timeout "${timeoutText}" (a duration like "5s" or "500ms"; "0" for none)`);
      ok = false;
    } else if (timeoutMs === 0) {
      c.info([...path, 'timeout'], `hook ${name} has no timeout: a call that never answers holds its request until the client gives up`);
    }
    const apikey = c.string(h, 'apikey', path);
    if (parsed && apikey !== '' && parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname)) {
      c.warn([...path, 'url'], `hook ${name} sends its apikey over plain http:// to ${parsed.host}; use https://`);
    }
    const disabled = c.boolean(h, 'disabled', path, false);
    const preference = c.integer(h, 'preference', path, 0);
    if (!ok || timeoutMs === undefined) continue;
    out.push({
      id: name,
      url,
      apikey,
      authorization: auth as AuthorizationStyle,
      timeoutMs: Math.ceil(timeoutMs),
      disabled,
      failPolicy: policy as HookFailPolicy,
      preference,
    });
  }
  return out;
}

/**
 * validateSendHooks reads a capability's `send_hooks` list. `hooks` names the document's
 * hooks; it is undefined for capabilities that arrive from the tailnet, which are never
 * validated beforehand (an entry naming a hook the document lacks fails open at request
 * time, see hooks/hook-plan.ts).
 */
export function validateSendHooks(c: Checker, cap: Obj, capPath: readonly PathSegment[], hooks: ReadonlySet<string> | undefined): SendHook[] {
  const out: SendHook[] = [];
  (c.array(cap, 'send_hooks', capPath) ?? []).forEach((h, k) => {
    const hp = [...capPath, 'send_hooks', k];
    if (!isObject(h)) {
      c.error(hp, 'send_hooks entries must be objects with "name", "events" and "send"');
      return;
    }
    c.unknownKeys(h, SEND_HOOK_KEYS, hp);
    const name = c.string(h, 'name', hp);
    if (name === '') c.error(hp, 'send_hooks entries need the "name" of a hook');
    else if (hooks && !hooks.has(name)) c.error([...hp, 'name'], `send_hooks references undefined hook "${name}"`);
    const events = checkEvents(c, c.stringArray(h, 'events', hp), [...hp, 'events'], name);
    const send = checkSend(c, c.stringArray(h, 'send', hp), [...hp, 'send']);
    out.push({ name, events, send });
  });
  return out;
}

function checkEvents(c: Checker, events: string[], path: PathSegment[], name: string): string[] {
  events.forEach((e, n) => EVENTS.has(e) || c.error([...path, n], `unknown hook event "${e}" (want ${HOOK_EVENTS.join(', ')})`));
  if (events.length === 0) c.warn(path, `hook "${name}" is wired with no events; it is never called`);
  return events;
}

function checkSend(c: Checker, send: string[], path: PathSegment[]): string[] {
  send.forEach((s, n) => SEND.has(s) || c.error([...path, n], `unknown hook send field "${s}" (want ${HOOK_SEND_FIELDS.join(', ')})`));
  return send;
}

/**
 * tempGrantHookCapabilities converts a legacy `temp_grants` entry
 * `{"hook": {"match": {"providers": [...], "models": [...], "events": [...]}, "hook": "<id>", "fields": [...]}}`
 * (reference §2.11) into capabilities: one per provider and model pattern, each wiring
 * the hook for the events with `fields` as its `send`. A match on every provider and
 * model is one capability without `models`, which applies to every request.
 */
export function tempGrantHookCapabilities(c: Checker, raw: unknown, path: PathSegment[], hooks: ReadonlySet<string>): Capability[] {
  if (!isObject(raw)) {
    c.error(path, 'temp_grants hook entries must be objects with "hook", "match" and "fields"');
    return [];
  }
  c.unknownKeys(raw, new Set(['hook', 'match', 'fields']), path);
  const name = c.string(raw, 'hook', path);
  if (name === '') c.error(path, 'temp_grants hook entries need the "hook" to call');
  else if (!hooks.has(name)) c.error([...path, 'hook'], `temp_grants hook references undefined hook "${name}"`);
  const match = c.object(raw, 'match', path) ?? {};
  const matchPath = [...path, 'match'];
  c.unknownKeys(match, new Set(['providers', 'models', 'events']), matchPath);
  const providers = orEverything(c.stringArray(match, 'providers', matchPath));
  const models = orEverything(c.stringArray(match, 'models', matchPath));
  const events = checkEvents(c, c.stringArray(match, 'events', matchPath), [...matchPath, 'events'], name);
  const send = checkSend(c, c.stringArray(raw, 'fields', path), [...path, 'fields']);
  const wiring = { name, events, send };
  if (providers.includes('*') && models.includes('*')) return [{ send_hooks: [wiring], extra: {} }];
  const caps: Capability[] = [];
  // Legacy "*" meant "any model", which may itself contain "/": widen to "**" as for providers entries.
  for (const p of providers) for (const m of models) caps.push({ models: `${p}/${m === '*' ? '**' : m}`, send_hooks: [wiring], extra: {} });
  return caps;
}

function orEverything(list: string[]): string[] {
  return list.length === 0 ? ['*'] : list;
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || host.startsWith('127.');
}
