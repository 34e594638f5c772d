/**
 * Counters and histograms for the request path, cheaper than prom-client's own: a
 * request bumps plain numbers in a series found by one Map lookup on a key the caller
 * already has, and the Prometheus shape (labels, cumulative buckets) is built only when
 * `/metrics` is scraped. prom-client's `inc`/`observe` hash their label objects on every
 * call, which cost several microseconds a request at full load.
 *
 * Both classes satisfy what a prom-client `Registry` asks of a metric (`name`, `help`,
 * `type`, `get()`, `reset()`), so they are registered beside prom-client's own metrics and
 * come out of the same `registry.metrics()` text.
 */
import type { Registry } from 'prom-client';

type Labels<L extends string> = Record<L, string>;

interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

abstract class SeriesMetric<L extends string, S> {
  protected readonly series = new Map<string, { labels: Labels<L>; data: S }>();
  readonly aggregator = 'sum';
  abstract readonly type: 'counter' | 'histogram';

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
  ) {
    // The registry only calls get() and reset(); its Metric type wants prom-client's classes.
    registry.registerMetric(this as never);
  }

  /** The series for `key`, created with `labels()` the first time the key is seen. */
  protected at(key: string, labels: () => Labels<L>, create: () => S): S {
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels: labels(), data: create() }));
    return s.data;
  }

  reset(): void {
    this.series.clear();
  }

  protected abstract samples(): Sample[];

  get(): { name: string; help: string; type: string; aggregator: string; values: Sample[] } {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.samples() };
  }
}

/** A counter; the caller names each series by a key that determines its labels. */
export class SeriesCounter<L extends string> extends SeriesMetric<L, { value: number }> {
  readonly type = 'counter';

  inc(key: string, labels: () => Labels<L>, by = 1): void {
    this.at(key, labels, () => ({ value: 0 })).value += by;
  }

  protected samples(): Sample[] {
    return [...this.series.values()].map((s) => ({ labels: s.labels, value: s.data.value }));
  }
}

interface HistogramData {
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  counts: Float64Array;
  sum: number;
  count: number;
}

/** A histogram with fixed upper bounds, in seconds like prom-client's. */
export class SeriesHistogram<L extends string> extends SeriesMetric<L, HistogramData> {
  readonly type = 'histogram';

  constructor(name: string, help: string, registry: Registry, private readonly bounds: readonly number[]) {
    super(name, help, registry);
  }

  observe(key: string, labels: () => Labels<L>, value: number): void {
    const h = this.at(key, labels, () => ({ counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 }));
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    h.counts[i]!++;
    h.sum += value;
    h.count++;
  }

  protected samples(): Sample[] {
    const out: Sample[] = [];
    for (const { labels, data } of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += data.counts[i]!;
        out.push({ metricName: `${this.name}_bucket`, labels: { le, ...labels }, value: cumulative });
      });
      out.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', ...labels }, value: data.count });
      out.push({ metricName: `${this.name}_sum`, labels, value: data.sum });
      out.push({ metricName: `${this.name}_count`, labels, value: data.count });
    }
    return out;
  }
}
