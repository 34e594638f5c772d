/**
 * The pre_request chain: each hook in order is sent the request and answers with a
 * GuardrailResponse (reference §12.2). `allow` goes on to the next hook; `modify` replaces
 * the body the next hook and the provider see; `block` ends the request with the hook's
 * status and message, and earlier modifications are discarded with it. A hook that cannot
 * be reached, times out, answers non-2xx or not a GuardrailResponse has failed: under
 * `fail_open` the chain goes on without it, under `fail_closed` the request ends with 503.
 *
 * A modification may change what is asked, not where it goes: a `modify` whose body names
 * another model than the request did is a failed call (see docs/hooks.md). The route, the
 * grants and the quota buckets were all decided for the model the caller named; following
 * the hook to another model would skip the checks (and the hooks) that model has.
 */
import { GatewayError } from '../errors.js';
import type { HookEntry } from '../telemetry/record.js';
import type { HookCallResult, HookClient, HookFailure } from './hook-client.js';
import type { HookCall } from './hook-plan.js';
import { PayloadBuilder, partsOf, type HookRequest } from './payload.js';

export const DEFAULT_BLOCK_MESSAGE = 'request blocked by guardrail';

/** What the chain decided. `body` is set when a hook modified the request. */
export type ChainOutcome =
  | { ok: true; entries: HookEntry[]; body?: { json: Record<string, unknown>; text: string } }
  | { ok: false; entries: HookEntry[]; error: GatewayError };

/** What the chain reports as it goes (hooks.ts counts and logs it). */
export interface ChainObserver {
  called(call: HookCall, entry: HookEntry, failure?: { reason: HookFailure; detail: string }): void;
}

/** A GuardrailResponse as keyway understands it. */
type Verdict =
  | { action: 'allow' }
  | { action: 'block'; status: number; message: string }
  | { action: 'modify'; body: Record<string, unknown>; text: string }
  | { action: 'failed'; reason: HookFailure; detail: string };

export interface ChainRequest extends HookRequest {
  /** The model the caller named in the body, or undefined for formats that name it in the URL. */
  bodyModel: string | undefined;
}

/** runChain calls the pre_request hooks of one request, in order. It never rejects. */
export async function runChain(client: HookClient, calls: readonly HookCall[], request: ChainRequest, observer: ChainObserver): Promise<ChainOutcome> {
  const entries: HookEntry[] = [];
  let current: HookRequest = request;
  let send = 0;
  for (const call of calls) send |= call.send;
  let builder = new PayloadBuilder(partsOf(current, send));
  let modified = false;
  for (const call of calls) {
    const started = performance.now();
    let verdict: Verdict;
    if (!call.hook) {
      verdict = { action: 'failed', reason: 'not_configured', detail: `no hook "${call.name}" is configured` };
    } else {
      const result = await client.call(call.hook, builder.build('pre_request', call.send), true);
      verdict = readVerdict(result, request.bodyModel);
    }
    const ms = performance.now() - started;
    if (verdict.action === 'failed') {
      // A hook that is not configured has no policy of its own: the default, fail_open.
      const closed = call.hook?.failClosed === true;
      const entry: HookEntry = { hook: call.name, event: 'pre_request', verdict: closed ? 'failed_closed' : 'failed_open', ms, detail: `${verdict.reason}: ${verdict.detail}` };
      entries.push(entry);
      observer.called(call, entry, verdict);
      if (closed) {
        const error = new GatewayError('HOOK_FAILED', `request refused: guardrail hook "${call.name}" failed (${verdict.detail}) and its fail_policy is fail_closed`);
        return { ok: false, entries, error };
      }
      continue;
    }
    const entry: HookEntry = { hook: call.name, event: 'pre_request', verdict: verdict.action, ms };
    entries.push(entry);
    observer.called(call, entry);
    if (verdict.action === 'block') {
      return { ok: false, entries, error: new GatewayError('GUARDRAIL_BLOCKED', verdict.message, { status: verdict.status }) };
    }
    if (verdict.action === 'modify') {
      current = { ...current, body: verdict.body, bodyText: verdict.text };
      builder = new PayloadBuilder(partsOf(current, send));
      modified = true;
    }
  }
  return modified ? { ok: true, entries, body: { json: current.body, text: current.bodyText } } : { ok: true, entries };
}

/**
 * readVerdict reads a hook's answer. `action` is required; unknown fields are ignored; a
 * `modify` whose `request_body` is not an object is an `allow` (reference §12.2).
 */
function readVerdict(result: HookCallResult, bodyModel: string | undefined): Verdict {
  if (!result.ok) return { action: 'failed', reason: result.reason, detail: result.detail };
  const a = result.answer;
  if (a === null || typeof a !== 'object' || Array.isArray(a)) return { action: 'failed', reason: 'bad_answer', detail: 'answer is not a JSON object with an "action"' };
  const answer = a as Record<string, unknown>;
  switch (answer.action) {
    case 'allow':
      return { action: 'allow' };
    case 'block': {
      const status = answer.status_code;
      // A block is an error answer: a status outside 400-599 would read as success or a redirect.
      const valid = typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599;
      const message = typeof answer.message === 'string' && answer.message !== '' ? answer.message : DEFAULT_BLOCK_MESSAGE;
      return { action: 'block', status: valid ? status : 403, message };
    }
    case 'modify': {
      const body = answer.request_body;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) return { action: 'allow' };
      const json = body as Record<string, unknown>;
      if (bodyModel !== undefined && json.model !== bodyModel) {
        return { action: 'failed', reason: 'model_changed', detail: `modify changed the model from ${JSON.stringify(bodyModel)} to ${JSON.stringify(json.model ?? null)}; a guardrail may change a request, not the model it goes to` };
      }
      let text: string;
      try {
        text = JSON.stringify(json);
      } catch {
        // JSON.parse takes nesting that JSON.stringify cannot write back (its stack overflows).
        return { action: 'failed', reason: 'bad_answer', detail: 'request_body is nested too deeply to forward' };
      }
      return { action: 'modify', body: json, text };
    }
    default:
      return { action: 'failed', reason: 'bad_answer', detail: `"action" must be "allow", "block" or "modify", not ${JSON.stringify(answer.action ?? null)}` };
  }
}
