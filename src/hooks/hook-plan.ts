/**
 * HookPlan answers, for one configuration snapshot, "which hooks does this request call,
 * for which event, with what?": every `send_hooks` entry of every capability of the caller
 * that applies to the model (a capability without `models` applies to all of them),
 * merged by hook so that a hook wired through several grants is called once per event
 * with the union of their events and `send` fields. The pre_request chain is in
 * descending `preference`, then by hook id. Pure and cached, like the quota plan: the
 * answer for a caller and a model is worked out once per snapshot.
 */
import type { Access } from '../access/grants.js';
import { compileModelGlob, type ModelMatcher } from '../access/glob.js';
import type { Capability, HookEvent, HookSendField, HookSpec } from '../config/types.js';

/** The `send` fields as bits: one request's merged fields are one number. */
export const SEND_BITS: Readonly<Record<HookSendField, number>> = Object.freeze({
  request_body: 1,
  response_body: 2,
  raw_responses: 4,
  user_message: 8,
  tools: 16,
  grants: 32,
  estimated_cost: 64,
  quotas: 128,
});

/** A configured hook, ready to call: its target, headers and policy. */
export interface CompiledHook {
  readonly id: string;
  /** `https://policy.example.com`: the connection pool's key. */
  readonly origin: string;
  /** Path and query on the origin. */
  readonly path: string;
  /** Request headers as a flat list (content type, credential), built once. */
  readonly headers: readonly string[];
  /** 0: no timeout. */
  readonly timeoutMs: number;
  readonly failClosed: boolean;
  readonly preference: number;
}

/** One hook a request calls for an event, and what it sends (SEND_BITS). */
export interface HookCall {
  /** The hook's id as grants name it. */
  readonly name: string;
  /** undefined when no configured hook has that name (a tailnet grant naming one the document lacks). */
  readonly hook: CompiledHook | undefined;
  readonly send: number;
}

/** The hooks of one request, per event. */
export interface RequestHooks {
  /** The pre_request chain, in the order it runs. */
  readonly pre: readonly HookCall[];
  readonly entire: readonly HookCall[];
  readonly toolCalls: readonly HookCall[];
  /** The union of the `send` bits of the asynchronous calls (does anything need raw_responses?). */
  readonly asyncSend: number;
}

export const NO_HOOKS: RequestHooks = Object.freeze({ pre: Object.freeze([]), entire: Object.freeze([]), toolCalls: Object.freeze([]), asyncSend: 0 });

/** Most (provider, model) answers remembered per caller. */
const MEMO_LIMIT = 10_000;

interface Wiring {
  name: string;
  events: number;
  send: number;
}

interface CallerHooks {
  /** Wirings of capabilities without `models`: they apply to every model. */
  floating: Wiring[];
  byPattern: Array<{ matches: ModelMatcher; wirings: Wiring[] }>;
  memo: Map<string, RequestHooks>;
}

const EVENT_BITS: Readonly<Record<HookEvent, number>> = { pre_request: 1, entire_request: 2, tool_call_entire_request: 4 };
// Maps, not the objects: a name from a tailnet grant (`toString`) must find nothing.
const EVENT_BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(EVENT_BITS));
const SEND_BY_NAME: ReadonlyMap<string, number> = new Map(Object.entries(SEND_BITS));

export class HookPlan {
  readonly hooks: ReadonlyMap<string, CompiledHook>;
  /** Hooks configured but `disabled`: skipped without a word. */
  private readonly disabled: ReadonlySet<string>;
  private readonly globs = new Map<string, ModelMatcher>();
  private readonly callers = new WeakMap<Access, CallerHooks | null>();

  constructor(specs: readonly HookSpec[]) {
    this.hooks = new Map(specs.filter((s) => !s.disabled).map((s) => [s.id, compileHook(s)]));
    this.disabled = new Set(specs.filter((s) => s.disabled).map((s) => s.id));
  }

  /** hooksFor returns the hooks a request of this caller for `provider/model` calls. */
  hooksFor(access: Access, provider: string, model: string): RequestHooks {
    const caller = this.caller(access);
    if (!caller) return NO_HOOKS;
    const fqn = `${provider}/${model}`;
    let hooks = caller.memo.get(fqn);
    if (hooks === undefined) {
      const wirings = [...caller.floating];
      for (const p of caller.byPattern) if (p.matches(fqn)) wirings.push(...p.wirings);
      hooks = this.merge(wirings);
      if (caller.memo.size >= MEMO_LIMIT) caller.memo.clear();
      caller.memo.set(fqn, hooks);
    }
    return hooks;
  }

  /** merge folds wirings into one call per hook and event, the chain sorted. */
  private merge(wirings: readonly Wiring[]): RequestHooks {
    if (wirings.length === 0) return NO_HOOKS;
    const byName = new Map<string, Wiring>();
    for (const w of wirings) {
      const m = byName.get(w.name);
      if (m) {
        m.events |= w.events;
        m.send |= w.send;
      } else {
        byName.set(w.name, { ...w });
      }
    }
    const pre: HookCall[] = [];
    const entire: HookCall[] = [];
    const toolCalls: HookCall[] = [];
    let asyncSend = 0;
    for (const w of byName.values()) {
      if (this.disabled.has(w.name) || w.events === 0) continue;
      const call: HookCall = Object.freeze({ name: w.name, hook: this.hooks.get(w.name), send: w.send });
      if (w.events & EVENT_BITS.pre_request) pre.push(call);
      if (w.events & EVENT_BITS.entire_request) entire.push(call);
      if (w.events & EVENT_BITS.tool_call_entire_request) toolCalls.push(call);
      if (w.events & (EVENT_BITS.entire_request | EVENT_BITS.tool_call_entire_request)) asyncSend |= w.send;
    }
    if (pre.length + entire.length + toolCalls.length === 0) return NO_HOOKS;
    // Descending preference, then by key (reference §12.2). A hook that is not configured
    // sorts as preference 0.
    pre.sort((a, b) => (b.hook?.preference ?? 0) - (a.hook?.preference ?? 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return Object.freeze({ pre: Object.freeze(pre), entire: Object.freeze(entire), toolCalls: Object.freeze(toolCalls), asyncSend });
  }

  /**
   * The caller's hook wirings, resolved once: Access objects live one per identity and
   * snapshot, so this runs once per caller, not per request.
   */
  private caller(access: Access): CallerHooks | null {
    let c = this.callers.get(access);
    if (c !== undefined) return c;
    c = null;
    for (const cap of access.capabilities) {
      const wirings = wiringsOf(cap);
      if (wirings.length === 0) continue;
      c ??= { floating: [], byPattern: [], memo: new Map() };
      if (cap.models === undefined) c.floating.push(...wirings);
      else c.byPattern.push({ matches: this.glob(cap.models), wirings });
    }
    this.callers.set(access, c);
    return c;
  }

  private glob(pattern: string): ModelMatcher {
    let m = this.globs.get(pattern);
    if (!m) this.globs.set(pattern, (m = compileModelGlob(pattern)));
    return m;
  }
}

/**
 * wiringsOf reads a capability's `send_hooks`. Names of events and fields keyway does not
 * know count for nothing: the document's are refused by validation, so only a tailnet
 * grant can carry them, and it is never validated beforehand.
 */
function wiringsOf(cap: Capability): Wiring[] {
  const out: Wiring[] = [];
  for (const h of cap.send_hooks ?? []) {
    if (h.name === '') continue;
    let events = 0;
    for (const e of h.events) events |= EVENT_BY_NAME.get(e) ?? 0;
    let send = 0;
    for (const s of h.send) send |= SEND_BY_NAME.get(s) ?? 0;
    out.push({ name: h.name, events, send });
  }
  return out;
}

function compileHook(spec: HookSpec): CompiledHook {
  const url = new URL(spec.url);
  const headers = ['content-type', 'application/json', 'user-agent', 'keyway-hooks'];
  if (spec.apikey !== '') {
    if (spec.authorization === 'x-api-key') headers.push('x-api-key', spec.apikey);
    else if (spec.authorization === 'x-goog-api-key') headers.push('x-goog-api-key', spec.apikey);
    else headers.push('authorization', `Bearer ${spec.apikey}`);
  }
  return Object.freeze({
    id: spec.id,
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    headers: Object.freeze(headers),
    timeoutMs: spec.timeoutMs,
    failClosed: spec.failPolicy === 'fail_closed',
    preference: spec.preference,
  });
}
