/**
 * Hooks is what the request path asks about hooks: `forRequest` (which hooks, once the
 * route is known), `preRequest` (run the guardrail chain before forwarding) and
 * `afterAnswer` (queue the asynchronous events once the answer has been relayed). The
 * plan is pure and per snapshot (hook-plan.ts); pre_request calls go through a client of
 * their own (hook-client.ts), events through a bounded queue on a thread of their own
 * (event-sender.ts, event-worker.ts). A request without hooks costs one cached lookup.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import type { Access } from '../access/grants.js';
import type { CompiledProvider, Snapshot } from '../config/snapshot.js';
import type { HookEvent } from '../config/types.js';
import type { ApiFormat } from '../formats/types.js';
import type { Quotas } from '../governance/quotas.js';
import type { Identity } from '../identity/identity.js';
import { redactQuery } from '../telemetry/capture.js';
import { estimateCost, pricingFor } from '../telemetry/pricing.js';
import type { HookEntry } from '../telemetry/record.js';
import { sessionOf } from '../telemetry/session.js';
import type { TapResult } from '../telemetry/tap.js';
import { newRequestId, type RequestTrace } from '../telemetry/trace.js';
import { DEFAULT_EVENT_QUEUE_SETTINGS, type EventQueueSettings } from './event-queue.js';
import { EventSender, type EventReport } from './event-sender.js';
import { runChain, type ChainOutcome, type ChainRequest } from './guardrail.js';
import { DEFAULT_HOOK_CLIENT_SETTINGS, HookClient, type HookClientSettings, type HookFailure } from './hook-client.js';
import { HookPlan, NO_HOOKS, SEND_BITS, type HookCall, type RequestHooks } from './hook-plan.js';
import { partsOf, type HookRequest, type PartsCost, type PayloadParts, type QuotaState } from './payload.js';

/** What counts hook calls for /metrics (telemetry/metrics.ts implements it). */
export interface HookObserver {
  /** A call that was answered: its verdict (pre_request) or `delivered` (events), and how long it took. */
  hookCalled(hook: string, event: HookEvent, result: string, seconds: number): void;
  hookFailed(hook: string, event: HookEvent, reason: HookFailure, calls?: number): void;
  hookDropped(hook: string, event: HookEvent, calls?: number): void;
}

export interface HookSettings {
  client: HookClientSettings;
  events: EventQueueSettings;
}

export const DEFAULT_HOOK_SETTINGS: HookSettings = { client: DEFAULT_HOOK_CLIENT_SETTINGS, events: DEFAULT_EVENT_QUEUE_SETTINGS };

/** What the relay's end hands the asynchronous events (see server/metering.ts). */
export interface AfterAnswer {
  /** Whether the tap must keep every SSE event's data for `raw_responses`. */
  readonly keepRaw: boolean;
  /** answered queues the events for the answer that was read; the entries go into the record. */
  answered(result: TapResult | undefined): HookEntry[];
}

/** The request's side of the hooks, given once the route is known. */
export interface HookRequestArgs {
  snapshot: Snapshot;
  access: Access;
  identity: Identity;
  provider: CompiledProvider;
  upstreamModel: string;
}

/** Everything `start` needs to know about a routed request. */
export interface HookStart extends HookRequestArgs {
  format: ApiFormat;
  /** The client's headers: only the user agent and session headers are read. */
  headers: IncomingHttpHeaders;
  /** The request path and query as received (credential parameters are redacted here). */
  url: string;
  body: Record<string, unknown>;
  bodyText: string;
  /** The model the body names, for formats that route on it (undefined: it is in the URL). */
  bodyModel: string | undefined;
  /** The request's telemetry, when on: the hooks use its request and session ids. */
  trace: RequestTrace | undefined;
}

export class Hooks {
  readonly client: HookClient;
  readonly events: EventSender;
  /** The tailnet's name, when keyway has learned it from tailscaled (`tailnet_name`). */
  tailnetName = '';
  private readonly plans = new WeakMap<Snapshot, HookPlan>();
  private dropLoggedAt = 0;

  constructor(
    settings: HookSettings,
    private readonly quotas: Quotas,
    private readonly log: Logger,
    /** Counts calls for /metrics (telemetry's metrics; undefined when it is off). */
    private readonly observer?: HookObserver,
  ) {
    this.client = new HookClient(settings.client);
    this.events = new EventSender(settings, this.eventReport());
  }

  /** eventReport turns what the events thread reports into /metrics and (coalesced) log lines. */
  private eventReport(): EventReport {
    return {
      outcomes: (groups) => {
        for (const g of groups) {
          if (g.result === 'dropped') {
            this.observer?.hookDropped(g.hook, g.event, g.ms.length);
            continue;
          }
          for (const ms of g.ms) this.observer?.hookCalled(g.hook, g.event, g.result, ms / 1000);
          if (g.result !== 'failed') continue;
          this.observer?.hookFailed(g.hook, g.event, g.reason as HookFailure, g.ms.length);
          // One warn line per hook, event and reason in a batch: a dead hook fails every call.
          this.log.warn({ hook: g.hook, event: g.event, reason: g.reason, detail: g.detail, calls: g.ms.length, retrying: g.ms.length - g.final }, 'hook call failed');
        }
      },
      dropped: (hook, event) => {
        this.observer?.hookDropped(hook, event);
        // A full queue drops every event for a while: one line a second is enough.
        const now = Date.now();
        if (now - this.dropLoggedAt < 1_000) return;
        this.dropLoggedAt = now;
        this.log.warn({ hook, event }, 'hook event dropped: the hook queue is full (keyway_hook_events_dropped_total counts every one)');
      },
      crashed: (err, lost) => this.log.error({ err: err.message, lost }, 'the hook events thread failed; its calls are lost'),
    };
  }

  /** plan returns the snapshot's hook plan, built once per snapshot. */
  plan(snapshot: Snapshot): HookPlan {
    let p = this.plans.get(snapshot);
    if (!p) this.plans.set(snapshot, (p = new HookPlan(snapshot.config.hooks)));
    return p;
  }

  /** start returns the hook run of a routed request, or undefined when it calls no hook (most requests). */
  start(s: HookStart): HookRun | undefined {
    const calls = this.forRequest(s);
    if (calls === NO_HOOKS) return undefined;
    const request: ChainRequest = {
      identity: s.identity,
      userAgent: String(s.headers['user-agent'] ?? '').slice(0, 256),
      url: redactQuery(s.url),
      model: s.upstreamModel,
      provider: s.provider.id,
      requestId: s.trace?.id ?? newRequestId(),
      sessionId: s.trace?.session ?? sessionOf(s.headers, s.body, s.identity.login),
      tailnetName: this.tailnetName,
      format: s.format,
      access: s.access,
      body: s.body,
      bodyText: s.bodyText,
      quotas: () => this.quotaStates(s),
      bodyModel: s.bodyModel,
    };
    return new HookRun(this, calls, request, s);
  }

  /** forRequest returns the hooks a routed request calls (NO_HOOKS for most). */
  forRequest(r: HookRequestArgs): RequestHooks {
    if (r.access.capabilities.length === 0) return NO_HOOKS;
    return this.plan(r.snapshot).hooksFor(r.access, r.provider.id, r.upstreamModel);
  }

  /** quotaStates returns the request's buckets as hooks see them, or undefined when it has none. */
  quotaStates(r: HookRequestArgs): Record<string, QuotaState> | undefined {
    const refs = this.quotas.plan(r.snapshot).bucketsFor(r.access, r.identity, r.provider.id, r.upstreamModel);
    let out: Record<string, QuotaState> | undefined;
    for (const ref of refs) {
      if (!ref.spec) continue;
      (out ??= {})[ref.bucket] = { current: this.quotas.ledger.peek(ref.bucket)?.balance ?? ref.spec.capacityNanos, capacity: ref.spec.capacityNanos, rate: ref.spec.rate };
    }
    return out;
  }

  /** preRequest runs the request's pre_request chain; it logs and counts what happens, and never rejects. */
  async preRequest(calls: readonly HookCall[], request: ChainRequest): Promise<ChainOutcome> {
    const outcome = await runChain(this.client, calls, request, {
      called: (call, entry, failure) => {
        if (entry.ms !== null) this.observer?.hookCalled(call.name, 'pre_request', entry.verdict, entry.ms / 1000);
        if (failure) {
          this.observer?.hookFailed(call.name, 'pre_request', failure.reason);
          const closed = entry.verdict === 'failed_closed';
          this.log.warn(
            { hook: call.name, reason: failure.reason, detail: failure.detail, request: request.requestId, login_name: request.identity.login, model: request.model },
            closed ? 'request refused: guardrail hook failed and its fail_policy is fail_closed' : 'guardrail hook failed; fail_open, the request goes on',
          );
        }
      },
    });
    if (!outcome.ok && outcome.error.code === 'GUARDRAIL_BLOCKED') {
      const hook = outcome.entries[outcome.entries.length - 1]!.hook;
      this.log.warn({ hook, status: outcome.error.status, detail: outcome.error.message, request: request.requestId, login_name: request.identity.login, model: request.model }, 'request blocked by guardrail');
    }
    return outcome;
  }

  /**
   * afterAnswer prepares the asynchronous events of a request; undefined when it has none.
   * Nothing is sent until `answered`, which the metering calls once the answer has reached
   * the client.
   */
  afterAnswer(hooks: RequestHooks, request: HookRequest, r: HookRequestArgs, formatFlag: string): AfterAnswer | undefined {
    if (hooks.entire.length === 0 && hooks.toolCalls.length === 0) return undefined;
    return {
      keepRaw: (hooks.asyncSend & SEND_BITS.raw_responses) !== 0,
      answered: (result) => {
        try {
          return this.answered(hooks, request, r, formatFlag, result);
        } catch (err) {
          this.log.error({ err: (err as Error).message, request: request.requestId }, 'could not queue hook events');
          return [];
        }
      },
    };
  }

  private answered(hooks: RequestHooks, request: HookRequest, r: HookRequestArgs, formatFlag: string, result: TapResult | undefined): HookEntry[] {
    const summary = result?.summary;
    let cost: PartsCost | undefined;
    if (hooks.asyncSend & SEND_BITS.estimated_cost && summary?.usage) {
      const pricing = pricingFor(r.provider.spec, formatFlag, r.upstreamModel, r.snapshot.config.autoCostBasis);
      const estimate = pricing ? estimateCost(pricing, summary.usage) : null;
      if (estimate) cost = { dollars: estimate.usd, basis: estimate.basis, usage: summary.usage };
    }
    // The parts, once for every call; the payloads' JSON is written on the events thread.
    const parts = partsOf(request, hooks.asyncSend, { summary, raw: result?.raw, json: result?.answerJson, cost });
    const entries: HookEntry[] = [];
    for (const call of hooks.entire) entries.push(this.enqueue(call, 'entire_request', parts, request.requestId));
    if (summary && summary.toolCalls.length > 0) for (const call of hooks.toolCalls) entries.push(this.enqueue(call, 'tool_call_entire_request', parts, request.requestId));
    return entries;
  }

  private enqueue(call: HookCall, event: HookEvent, parts: PayloadParts, requestId: string): HookEntry {
    if (!call.hook) {
      this.observer?.hookFailed(call.name, event, 'not_configured');
      this.log.warn({ hook: call.name, event, request: requestId }, 'hook event not sent: no hook of that name is configured');
      return { hook: call.name, event, verdict: 'failed_open', ms: null, detail: `not_configured: no hook "${call.name}" is configured` };
    }
    return { hook: call.name, event, verdict: this.events.push(parts, call.hook, event, call.send) ? 'queued' : 'dropped', ms: null };
  }

  /** close waits up to `graceMs` for queued events, then drops the hook connections. */
  async close(graceMs = 5_000): Promise<void> {
    await this.events.close(graceMs);
    await this.client.destroy();
  }
}

/** HookRun is one request's hooks: the chain before forwarding, the events after the answer. */
export class HookRun {
  constructor(
    private readonly hooks: Hooks,
    readonly calls: RequestHooks,
    private request: ChainRequest,
    private readonly args: HookStart,
  ) {}

  /**
   * preRequest runs the pre_request chain (an allow without any hook). After a `modify`,
   * the events see the body as modified, as the provider does.
   */
  async preRequest(): Promise<ChainOutcome> {
    if (this.calls.pre.length === 0) return { ok: true, entries: [] };
    const outcome = await this.hooks.preRequest(this.calls.pre, this.request);
    if (outcome.ok && outcome.body) this.request = { ...this.request, body: outcome.body.json, bodyText: outcome.body.text };
    return outcome;
  }

  /** afterAnswer returns what queues the asynchronous events once the answer is read (undefined: none). */
  afterAnswer(): AfterAnswer | undefined {
    return this.hooks.afterAnswer(this.calls, this.request, this.args, this.args.format.flag);
  }
}
