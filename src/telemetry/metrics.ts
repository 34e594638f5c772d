/**
 * Prometheus metrics (`GET /metrics`). One registry per keyway instance, so several can
 * run in one process (tests) without clashing. Label values come from the configuration
 * (providers, models, formats), never from free request input, so cardinality is bounded.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { QuotaObserver } from '../governance/quotas.js';
import type { HookEvent } from '../config/types.js';
import type { HookFailure } from '../hooks/hook-client.js';
import type { HookObserver } from '../hooks/hooks.js';
import type { RequestRecord } from './record.js';
import type { RecorderStats } from './recorder.js';
import type { StoreStatus } from './store.js';
import { SeriesCounter, SeriesHistogram } from './series.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
// A guardrail answers in milliseconds; its timeout is seconds.
const HOOK_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A bucket's numbers for the balance gauges. */
export interface QuotaGaugeRow {
  quota: string;
  bucket: string;
  balanceNanos: number;
  capacityNanos: number;
}

type TokenKind = 'input' | 'output' | 'cache_read' | 'cache_write' | 'reasoning';

/** What observe() needs to find one route's series (Metrics.routeKeys). */
interface RouteKeys {
  /** `format\0provider\0model`, the requests counter's key without the status. */
  route: string;
  labels: { format: string; provider: string; model: string };
  /** The requests counter's key per status. */
  requests: Map<number, string>;
  /** The duration and time-to-first-byte histograms' key and labels. */
  by: string;
  byLabels: () => { format: string; provider: string };
  tokens: Record<TokenKind, { key: string; labels: () => { provider: string; model: string; kind: TokenKind } }>;
}

export class Metrics implements QuotaObserver, HookObserver {
  readonly registry = new Registry();
  /** Series keys by format, provider and model (bounded like the series themselves: labels come from the configuration). */
  private readonly keysByRoute = new Map<string, Map<string, Map<string, RouteKeys>>>();
  // Per-request metrics: aggregated by hand (series.ts), read by prom-client at scrape time.
  readonly requests: SeriesCounter<'format' | 'provider' | 'model' | 'status'>;
  readonly duration: SeriesHistogram<'format' | 'provider'>;
  readonly ttfb: SeriesHistogram<'format' | 'provider'>;
  readonly tokens: SeriesCounter<'provider' | 'model' | 'kind'>;
  readonly cost: SeriesCounter<'provider' | 'model'>;
  readonly upstreamErrors: SeriesCounter<'provider' | 'code'>;
  readonly configReloads: Counter<'source' | 'result'>;
  // Quotas. Bucket labels are logins or node ids (`<user>`, `<node>` templates): bounded by
  // the tailnet's people and devices, never by request input.
  readonly quotaRefusals: SeriesCounter<'quota' | 'bucket'>;
  readonly quotaCharged: SeriesCounter<'quota' | 'bucket'>;
  readonly quotaUnmetered: SeriesCounter<'quota' | 'reason'>;
  private quotaRows: (() => QuotaGaugeRow[]) | undefined;
  // Hooks. Hook labels are the configuration's hook ids (or names a tailnet grant uses).
  readonly hookCalls: SeriesCounter<'hook' | 'event' | 'result'>;
  readonly hookDuration: SeriesHistogram<'hook' | 'event'>;
  readonly hookFailures: SeriesCounter<'hook' | 'event' | 'reason'>;
  readonly hookDrops: SeriesCounter<'hook' | 'event'>;
  private hookDepth: (() => number) | undefined;
  private storeStatus: (() => Promise<StoreStatus>) | undefined;

  constructor(stats: () => RecorderStats | undefined) {
    const registers = [this.registry];
    const r = this.registry;
    this.requests = new SeriesCounter('keyway_requests_total', 'Inference requests by API format, provider, model and status', r);
    this.duration = new SeriesHistogram('keyway_request_duration_seconds', 'Time from request to the end of the answer', r, LATENCY_BUCKETS);
    this.ttfb = new SeriesHistogram('keyway_time_to_first_byte_seconds', 'Time from request to the first byte of the upstream answer', r, LATENCY_BUCKETS);
    this.tokens = new SeriesCounter('keyway_tokens_total', 'Tokens by provider, model and kind (input, output, cache_read, cache_write, reasoning)', r);
    this.cost = new SeriesCounter('keyway_cost_usd_total', 'Estimated cost in US dollars', r);
    this.upstreamErrors = new SeriesCounter('keyway_upstream_errors_total', 'Upstream failures keyway answered itself (unreachable, timeout, broken)', r);
    this.quotaRefusals = new SeriesCounter('keyway_quota_rejections_total', 'Requests refused because a quota bucket was empty, by quota and bucket', r);
    this.quotaCharged = new SeriesCounter('keyway_quota_charged_usd_total', 'Estimated cost charged to quota buckets, in US dollars', r);
    this.quotaUnmetered = new SeriesCounter('keyway_quota_unmetered_requests_total', 'Requests charged nothing to a bucket because their cost was unknown (reason: unpriced model, no usage)', r);
    this.hookCalls = new SeriesCounter('keyway_hook_calls_total', 'Hook calls by hook, event and result (allow, modify, block, failed_open, failed_closed; delivered, failed for events)', r);
    this.hookDuration = new SeriesHistogram('keyway_hook_duration_seconds', 'Time a hook call took, from sending to its answer', r, HOOK_BUCKETS);
    this.hookFailures = new SeriesCounter('keyway_hook_failures_total', 'Hook calls that failed, by reason (timeout, unreachable, connection, status, bad_json, bad_answer, model_changed, too_large, not_configured)', r);
    this.hookDrops = new SeriesCounter('keyway_hook_events_dropped_total', 'Asynchronous hook events dropped because the hook queue was full', r);
    const hookDepth = () => this.hookDepth?.() ?? 0;
    new Gauge({
      name: 'keyway_hook_queue_depth',
      help: 'Asynchronous hook events waiting or in flight',
      registers,
      collect() {
        this.set(hookDepth());
      },
    });
    const quotaRows = () => this.quotaRows?.() ?? [];
    const quotaGauge = (name: string, help: string, pick: (row: QuotaGaugeRow) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['quota', 'bucket'],
        registers,
        collect() {
          this.reset();
          for (const row of quotaRows()) this.set({ quota: row.quota, bucket: row.bucket }, pick(row) / 1e9);
        },
      });
    quotaGauge('keyway_quota_balance_usd', 'Balance of each quota bucket in use, in US dollars (negative: in debt)', (row) => row.balanceNanos);
    quotaGauge('keyway_quota_capacity_usd', 'Capacity of each quota bucket in use, in US dollars', (row) => row.capacityNanos);
    this.configReloads = new Counter({ name: 'keyway_config_reloads_total', help: 'Configuration changes applied or rejected, by source', labelNames: ['source', 'result'], registers });
    const gauge = (name: string, help: string, read: (s: RecorderStats) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          const s = stats();
          this.set(s ? read(s) : 0);
        },
      });
    gauge('keyway_telemetry_queue_depth', 'Request records waiting to be written', (s) => s.queued);
    gauge('keyway_telemetry_dropped_records', 'Request records dropped because the write queue was full or a write failed', (s) => s.droppedRecords);
    gauge('keyway_telemetry_dropped_captures', 'Captures dropped under pressure (their records were kept)', (s) => s.droppedCaptures);
    gauge('keyway_telemetry_failed_writes', 'Batches the store failed to write', (s) => s.failedWrites);
    gauge('keyway_telemetry_written_records', 'Request records written', (s) => s.written);
    // Asked of the store's worker when /metrics is read: whether its database takes writes.
    const storeStatus = () => this.storeStatus?.().catch(() => undefined);
    const storeGauge = (name: string, help: string, read: (s: StoreStatus) => number) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const status = await storeStatus();
          this.set(status ? read(status) : 1);
        },
      });
    storeGauge('keyway_telemetry_store_available', 'Whether the telemetry database takes writes (0 while writes fail and are retried)', (s) => (s.available ? 1 : 0));
    storeGauge('keyway_telemetry_store_retries', 'Telemetry writes that failed and were retried (database unreachable), since start', (s) => s.retries);
    collectDefaultMetrics({ register: this.registry, prefix: 'keyway_' });
  }

  /** observe counts one finished request. */
  observe(r: RequestRecord): void {
    const keys = this.routeKeys(r.format, r.provider ?? 'none', r.provider ? (r.upstreamModel ?? 'unknown') : 'unknown');
    const status = r.status;
    let requestsKey = keys.requests.get(status);
    if (requestsKey === undefined) keys.requests.set(status, (requestsKey = `${keys.route}\0${status}`));
    this.requests.inc(requestsKey, () => ({ ...keys.labels, status: String(status) }));
    this.duration.observe(keys.by, keys.byLabels, r.durationMs / 1000);
    if (r.ttfbMs !== null) this.ttfb.observe(keys.by, keys.byLabels, r.ttfbMs / 1000);
    if (r.errorClass === 'gateway' && r.provider && r.errorCode?.startsWith('UPSTREAM_')) {
      const provider = r.provider;
      const code = r.errorCode;
      this.upstreamErrors.inc(`${provider}\0${code}`, () => ({ provider, code }));
    }
    const u = r.usage;
    if (u && r.provider) {
      const t = keys.tokens;
      if (u.inputTokens > 0) this.tokens.inc(t.input.key, t.input.labels, u.inputTokens);
      if (u.outputTokens > 0) this.tokens.inc(t.output.key, t.output.labels, u.outputTokens);
      if (u.cacheReadTokens > 0) this.tokens.inc(t.cache_read.key, t.cache_read.labels, u.cacheReadTokens);
      const cacheWrite = u.cacheWrite5mTokens + u.cacheWrite1hTokens;
      if (cacheWrite > 0) this.tokens.inc(t.cache_write.key, t.cache_write.labels, cacheWrite);
      if (u.reasoningTokens > 0) this.tokens.inc(t.reasoning.key, t.reasoning.labels, u.reasoningTokens);
    }
  }

  /**
   * The series keys of one format, provider and model, built once: a key made by joining
   * strings on every request is a new string each time, which the series' Map must hash
   * and compare in full (about 2 µs a request for the seven lookups, at full load).
   */
  private routeKeys(format: string, provider: string, model: string): RouteKeys {
    let byProvider = this.keysByRoute.get(format);
    if (!byProvider) this.keysByRoute.set(format, (byProvider = new Map()));
    let byModel = byProvider.get(provider);
    if (!byModel) byProvider.set(provider, (byModel = new Map()));
    let keys = byModel.get(model);
    if (!keys) {
      const by = `${format}\0${provider}`;
      const tokenKeys = (kind: TokenKind) => ({ key: `${provider}\0${model}\0${kind}`, labels: () => ({ provider, model, kind }) });
      keys = {
        route: `${format}\0${provider}\0${model}`,
        labels: { format, provider, model },
        requests: new Map(),
        by,
        byLabels: () => ({ format, provider }),
        tokens: { input: tokenKeys('input'), output: tokenKeys('output'), cache_read: tokenKeys('cache_read'), cache_write: tokenKeys('cache_write'), reasoning: tokenKeys('reasoning') },
      };
      byModel.set(model, keys);
    }
    return keys;
  }

  /** watchQuotas gives the balance gauges their source (read when /metrics is scraped). */
  watchQuotas(rows: () => QuotaGaugeRow[]): void {
    this.quotaRows = rows;
  }

  refused(quota: string, bucket: string): void {
    this.quotaRefusals.inc(`${quota}\0${bucket}`, () => ({ quota, bucket }));
  }

  charged(quota: string, bucket: string, nanos: number): void {
    this.quotaCharged.inc(`${quota}\0${bucket}`, () => ({ quota, bucket }), nanos / 1e9);
  }

  unmetered(quota: string, reason: 'unpriced' | 'no_usage'): void {
    this.quotaUnmetered.inc(`${quota}\0${reason}`, () => ({ quota, reason }));
  }

  /** watchStore gives the store gauges their source (read when /metrics is scraped). */
  watchStore(status: () => Promise<StoreStatus>): void {
    this.storeStatus = status;
  }

  /** watchHooks gives the hook queue gauge its source (read when /metrics is scraped). */
  watchHooks(depth: () => number): void {
    this.hookDepth = depth;
  }

  hookCalled(hook: string, event: HookEvent, result: string, seconds: number): void {
    this.hookCalls.inc(`${hook}\0${event}\0${result}`, () => ({ hook, event, result }));
    this.hookDuration.observe(`${hook}\0${event}`, () => ({ hook, event }), seconds);
  }

  hookFailed(hook: string, event: HookEvent, reason: HookFailure, calls = 1): void {
    this.hookFailures.inc(`${hook}\0${event}\0${reason}`, () => ({ hook, event, reason }), calls);
  }

  hookDropped(hook: string, event: HookEvent, calls = 1): void {
    this.hookDrops.inc(`${hook}\0${event}`, () => ({ hook, event }), calls);
  }

  /** observeCost adds a request's estimated cost, known once the store has priced it. */
  observeCost(provider: string, model: string, usd: number): void {
    this.cost.inc(`${provider}\0${model}`, () => ({ provider, model }), usd);
  }
}
