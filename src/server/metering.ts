/**
 * Metering: what reads an answer for usage, and what happens with that usage when the
 * answer ends. With telemetry on, the request's trace does both (it records the request,
 * charges its quota ticket and queues its hook events); with telemetry off, a tap that
 * keeps nothing reads the usage just for the ticket and the hooks. Requests without any
 * of them are not read at all.
 */
import type { CompiledProvider } from '../config/snapshot.js';
import type { ApiFormat } from '../formats/types.js';
import type { QuotaTicket } from '../governance/quotas.js';
import type { AfterAnswer } from '../hooks/hooks.js';
import { ResponseTap, type TapResult } from '../telemetry/tap.js';
import type { RequestTrace } from '../telemetry/trace.js';
import type { ForwardOutcome } from '../upstream/proxy.js';

export interface Metering {
  /** Reads a copy of the answer; undefined when nothing needs it. */
  tap: ResponseTap | undefined;
  /**
   * finish records, charges and notifies once the answer has been relayed; it never rejects.
   * `clientAnswer` is what a translated request's client received (for the capture).
   */
  finish(outcome: ForwardOutcome, clientAnswer?: string): Promise<TapResult | undefined>;
}

/**
 * startMetering is called once the route is known, before the request is forwarded.
 * `format` is the provider's API, whose answer the tap reads (the client's unless keyway
 * translates).
 */
export function startMetering(
  trace: RequestTrace | undefined,
  ticket: QuotaTicket | undefined,
  format: ApiFormat,
  provider: CompiledProvider,
  upstreamModel: string,
  after?: AfterAnswer,
): Metering {
  if (trace) {
    const tap = trace.setRoute(provider, upstreamModel, format, after?.keepRaw);
    trace.setQuota(ticket);
    trace.setAfterAnswer(after);
    return { tap, finish: (outcome, clientAnswer) => trace.finish(outcome, clientAnswer) };
  }
  if (!ticket && !after) return { tap: undefined, finish: () => Promise.resolve(undefined) };
  const tap = new ResponseTap(format, performance.now(), 0, after?.keepRaw);
  const settle = (result: TapResult | undefined, status: number) => {
    // Charged first, so a hook sent `quotas` sees the balances with this request charged.
    ticket?.settle(result?.summary?.usage, status);
    after?.answered(result);
    return result;
  };
  return {
    tap,
    finish: (outcome) =>
      tap.finish().then(
        (result) => settle(result, outcome.status),
        () => settle(undefined, outcome.status),
      ),
  };
}
