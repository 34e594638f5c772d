/**
 * Prometheus metrics (`GET /metrics`). One registry per keyway instance, so several can
 * run in one process (tests) without clashing. Label values come from the configuration
 * (providers, models, formats), never from free request input, so cardinality is bounded.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RecorderStats } from './recorder.js';

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'format' | 'provider' | 'model' | 'status'>;
  readonly duration: Histogram<'format' | 'provider'>;
  readonly ttfb: Histogram<'format' | 'provider'>;
  readonly tokens: Counter<'provider' | 'model' | 'kind'>;
  readonly cost: Counter<'provider' | 'model'>;
  readonly upstreamErrors: Counter<'provider' | 'code'>;
  readonly configReloads: Counter<'source' | 'result'>;

  constructor(stats: () => RecorderStats | undefined) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'keyway_requests_total', help: 'Inference requests by API format, provider, model and status', labelNames: ['format', 'provider', 'model', 'status'], registers });
    this.duration = new Histogram({ name: 'keyway_request_duration_seconds', help: 'Time from request to the end of the answer', labelNames: ['format', 'provider'], buckets: LATENCY_BUCKETS, registers });
    this.ttfb = new Histogram({ name: 'keyway_time_to_first_byte_seconds', help: 'Time from request to the first byte of the upstream answer', labelNames: ['format', 'provider'], buckets: LATENCY_BUCKETS, registers });
    this.tokens = new Counter({ name: 'keyway_tokens_total', help: 'Tokens by provider, model and kind (input, output, cache_read, cache_write, reasoning)', labelNames: ['provider', 'model', 'kind'], registers });
    this.cost = new Counter({ name: 'keyway_cost_usd_total', help: 'Estimated cost in US dollars', labelNames: ['provider', 'model'], registers });
    this.upstreamErrors = new Counter({ name: 'keyway_upstream_errors_total', help: 'Upstream failures keyway answered itself (unreachable, timeout, broken)', labelNames: ['provider', 'code'], registers });
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
    collectDefaultMetrics({ register: this.registry, prefix: 'keyway_' });
  }
}
