/**
 * The S3 export's Prometheus metrics, on keyway's registry (telemetry/metrics.ts). The
 * backlog gauges ask the store when `/metrics` is read, so they are current at every
 * scrape; nothing here runs per request.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** What the gauges read at scrape time. */
export interface ExportGaugeSource {
  consecutiveFailures(): number;
  /** Milliseconds since the epoch of the last run that exported everything waiting, or null. */
  lastSuccessAt(): number | null;
  /** Records waiting and the start of the first of them; undefined when the export is off. */
  backlog(): Promise<{ records: number; oldestAt: number | null } | undefined>;
}

export class ExportMetrics {
  private readonly objects: Counter<'result'>;
  private readonly records: Counter;
  private readonly bytes: Counter;

  constructor(registry: Registry, source: ExportGaugeSource) {
    const registers = [registry];
    this.objects = new Counter({ name: 'keyway_export_objects_total', help: 'S3 export objects: uploaded (result="ok") or failed attempts (result="error")', labelNames: ['result'], registers });
    this.records = new Counter({ name: 'keyway_export_records_total', help: 'Request records exported to S3', registers });
    this.bytes = new Counter({ name: 'keyway_export_bytes_total', help: 'Bytes uploaded to S3 (compressed)', registers });
    new Gauge({
      name: 'keyway_export_consecutive_failures',
      help: 'S3 export attempts that failed in a row (0 when the last one succeeded)',
      registers,
      collect() {
        this.set(source.consecutiveFailures());
      },
    });
    new Gauge({
      name: 'keyway_export_last_success_timestamp_seconds',
      help: 'When the S3 export last sent everything that was waiting (unix seconds; 0 before the first time)',
      registers,
      collect() {
        this.set((source.lastSuccessAt() ?? 0) / 1000);
      },
    });
    let backlog: Promise<{ records: number; oldestAt: number | null } | undefined> | undefined;
    // Both backlog gauges are read in one scrape: one question to the store serves the two.
    const readBacklog = () => {
      backlog ??= source.backlog().catch(() => undefined).finally(() => setImmediate(() => (backlog = undefined)));
      return backlog;
    };
    new Gauge({
      name: 'keyway_export_pending_records',
      help: 'Request records not yet exported to S3',
      registers,
      async collect() {
        this.set((await readBacklog())?.records ?? 0);
      },
    });
    new Gauge({
      name: 'keyway_export_lag_seconds',
      help: 'Age of the oldest request record not yet exported to S3 (0 when none waits)',
      registers,
      async collect() {
        const b = await readBacklog();
        this.set(b?.oldestAt ? Math.max(0, (Date.now() - b.oldestAt) / 1000) : 0);
      },
    });
  }

  uploaded(records: number, bytes: number): void {
    this.objects.inc({ result: 'ok' });
    this.records.inc(records);
    this.bytes.inc(bytes);
  }

  failed(): void {
    this.objects.inc({ result: 'error' });
  }
}
