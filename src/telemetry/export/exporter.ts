/**
 * S3Exporter sends telemetry to S3 on its own timer, off the request path: `every` after
 * the last export it asks the store for the records written since (the store builds the
 * object in the telemetry worker), uploads it as
 * `<prefix>/ts-aperture-export-<unix seconds>.cbor.zstd` and then commits, which moves the
 * durable cursor. A backlog goes out one object a second until it is drained (keys are
 * unix seconds, so two objects never share one). A failure moves nothing: the same
 * records go out under the same key on the next attempt, after a backoff; it is logged
 * (without a secret), counted in `/metrics` and shown in the dashboard.
 */
import type { Logger } from 'pino';
import type { Env } from '../../config/macros.js';
import type { S3ExportSpec } from '../../config/types.js';
import type { ExportState, ExportStore } from '../store.js';
import { ExportMetrics } from './export-metrics.js';
import { createS3Uploader, type ObjectUploader } from './s3-uploader.js';
import type { Registry } from 'prom-client';

/** The first retry waits a second, each next one twice as long, up to `every` or five minutes. */
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 5 * 60_000;
/** Longest error text kept for the log and the API. */
const MAX_MESSAGE = 500;

export interface ExporterOptions {
  store: ExportStore;
  log: Logger;
  registry: Registry;
  /** The environment the standard AWS variables are read from. */
  env: Env;
  /** Called after a run that exported records (the retention purge then runs). */
  onExported?: () => void;
  /** How uploaders are made (the S3 client; a test can wrap it). */
  createUploader?: (spec: S3ExportSpec, env: Env) => Promise<ObjectUploader>;
}

const OFF_STATE: ExportState = { afterSeq: 0, exportedRecords: 0, exportedObjects: 0, lastKeySeconds: 0, lastExportAt: null, pending: null, unexported: 0, oldestUnexportedAt: null };

export type ExportRunState = 'off' | 'idle' | 'exporting' | 'failing';

/** GET /api/export: where the export stands (times are ISO 8601, null when never). */
export interface ExportStatus {
  state: ExportRunState;
  destination: { endpoint: string | null; bucket: string; region: string; prefix: string; key_pattern: string } | null;
  every_seconds: number | null;
  limit: number | null;
  last_attempt_at: string | null;
  last_success_at: string | null;
  next_attempt_at: string | null;
  consecutive_failures: number;
  last_error: { at: string; message: string } | null;
  last_object_key: string | null;
  exported_records: number;
  exported_objects: number;
  last_export_at: string | null;
  /** Records not exported yet (0 when the export is off). */
  pending_records: number;
  oldest_pending_at: string | null;
  /** Age of the oldest record waiting, in seconds. */
  lag_seconds: number;
}

/** objectKey names an export object: `<prefix>/ts-aperture-export-<unix seconds>.cbor.zstd`. */
export function objectKey(prefix: string, seconds: number): string {
  const name = `ts-aperture-export-${seconds}.cbor.zstd`;
  return prefix === '' ? name : `${prefix}/${name}`;
}

export class S3Exporter {
  private spec: S3ExportSpec | undefined;
  private specKey = '';
  private uploader: { key: string; made: Promise<ObjectUploader> } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private closed = false;
  private failures = 0;
  private lastError: { at: number; message: string } | undefined;
  private lastAttemptAt: number | undefined;
  private lastSuccessAt: number | undefined;
  private nextAttemptAt: number | undefined;
  private lastObjectKey: string | undefined;
  private readonly metrics: ExportMetrics;

  constructor(private readonly options: ExporterOptions) {
    this.metrics = new ExportMetrics(options.registry, {
      consecutiveFailures: () => this.failures,
      lastSuccessAt: () => this.lastSuccessAt ?? null,
      backlog: async () => {
        if (!this.spec) return undefined;
        const s = await this.options.store.exportState();
        return { records: s.unexported, oldestAt: s.oldestUnexportedAt };
      },
    });
  }

  /**
   * configure starts, changes or stops the export for a configuration's `exporters.s3`.
   * The same settings again change nothing; new ones take effect from the next run.
   */
  configure(spec: S3ExportSpec | undefined): void {
    const key = spec ? JSON.stringify(spec) : '';
    if (key === this.specKey || this.closed) return;
    this.spec = spec;
    this.specKey = key;
    this.failures = 0;
    this.lastError = undefined;
    clearTimeout(this.timer);
    this.nextAttemptAt = undefined;
    if (!spec) return;
    // The first run comes `every` after the last export, kept in the database, so a
    // restart neither exports early nor waits a whole interval again; a claimed object
    // (an upload a crash interrupted) goes out at once.
    this.options.store.exportState().then(
      (state) => {
        if (this.spec !== spec) return;
        const due = state.pending || state.lastExportAt === null ? Date.now() : state.lastExportAt + spec.everyMs;
        this.schedule(Math.max(0, due - Date.now()));
      },
      (err: Error) => {
        this.options.log.error({ err: err.message }, 'S3 export: could not read where the export stands');
        if (this.spec === spec) this.schedule(spec.everyMs);
      },
    );
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.nextAttemptAt = Date.now() + delayMs;
    this.timer = setTimeout(() => void this.run(), delayMs);
    this.timer.unref();
  }

  /** run exports everything waiting now (one run at a time); the timer calls it. */
  run(): Promise<void> {
    const spec = this.spec;
    if (this.running || this.closed || !spec) return this.running ?? Promise.resolve();
    this.running = this.exportWaiting(spec).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async exportWaiting(spec: S3ExportSpec): Promise<void> {
    clearTimeout(this.timer);
    const abort = (this.abort = new AbortController());
    this.lastAttemptAt = Date.now();
    this.nextAttemptAt = undefined;
    let exported = 0;
    let uploader: ObjectUploader | undefined;
    try {
      uploader = await this.uploaderFor(spec);
      for (;;) {
        const batch = await this.options.store.exportNext(spec.limit, Date.now());
        if (!batch) break;
        const key = objectKey(spec.prefix, batch.keySeconds);
        await uploader.put(key, batch.body, abort.signal);
        await this.options.store.exportCommit(batch.keySeconds, batch.toSeq, Date.now());
        exported += batch.count;
        this.lastObjectKey = key;
        this.metrics.uploaded(batch.count, batch.body.byteLength);
        this.options.log.info({ key, records: batch.count, bytes: batch.body.byteLength, more: batch.more }, 'telemetry exported to S3');
        if (!batch.more) break;
        await nextSecond(abort.signal);
      }
      this.failures = 0;
      this.lastError = undefined;
      this.lastSuccessAt = Date.now();
      this.schedule(spec.everyMs);
    } catch (err) {
      if (this.closed) return;
      this.failures++;
      const message = describe(err, [spec.accessSecret, ...(uploader?.secrets ?? [])]);
      this.lastError = { at: Date.now(), message };
      const retryMs = retryDelayMs(this.failures, spec.everyMs);
      this.metrics.failed();
      this.options.log.error(
        { err: message, status: httpStatus(err), bucket: spec.bucket, endpoint: spec.endpoint || undefined, failures: this.failures, retry_in_s: retryMs / 1000 },
        'S3 export failed; the records stay queued for the next attempt',
      );
      this.schedule(retryMs);
    } finally {
      if (exported > 0) this.options.onExported?.();
    }
  }

  private uploaderFor(spec: S3ExportSpec): Promise<ObjectUploader> {
    if (this.uploader?.key !== this.specKey) {
      this.closeUploader();
      const made = (this.options.createUploader ?? createS3Uploader)(spec, this.options.env);
      // A client that could not be made is made again next time.
      made.catch(() => {
        if (this.uploader?.made === made) this.uploader = undefined;
      });
      this.uploader = { key: this.specKey, made };
    }
    return this.uploader.made;
  }

  private closeUploader(): void {
    const old = this.uploader;
    this.uploader = undefined;
    void old?.made.then((u) => u.close(), () => {});
  }

  /** status describes the export for the admin API and the dashboard. */
  async status(): Promise<ExportStatus> {
    const spec = this.spec;
    // With the export off nothing is asked of the store: counting "unexported" records
    // would count every record ever written.
    const stored: ExportState = spec ? await this.options.store.exportState() : OFF_STATE;
    const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
    const pending = spec ? stored.unexported : 0;
    const oldest = spec ? stored.oldestUnexportedAt : null;
    return {
      // A retry after failures is still failing until it succeeds: the dashboard's banner
      // stays up while the exporter tries again, rather than blinking out for each attempt.
      state: !spec ? 'off' : this.failures > 0 ? 'failing' : this.running ? 'exporting' : 'idle',
      destination: spec
        ? { endpoint: spec.endpoint || null, bucket: spec.bucket, region: spec.region, prefix: spec.prefix, key_pattern: objectKey(spec.prefix, 0).replace('-0.', '-<unix seconds>.') }
        : null,
      every_seconds: spec ? spec.everyMs / 1000 : null,
      limit: spec?.limit ?? null,
      last_attempt_at: iso(this.lastAttemptAt),
      last_success_at: iso(this.lastSuccessAt),
      next_attempt_at: spec ? iso(this.nextAttemptAt) : null,
      consecutive_failures: this.failures,
      last_error: this.lastError ? { at: iso(this.lastError.at)!, message: this.lastError.message } : null,
      last_object_key: this.lastObjectKey ?? (stored.lastKeySeconds > 0 && spec ? objectKey(spec.prefix, stored.lastKeySeconds) : null),
      exported_records: stored.exportedRecords,
      exported_objects: stored.exportedObjects,
      last_export_at: iso(stored.lastExportAt),
      pending_records: pending,
      oldest_pending_at: iso(oldest),
      lag_seconds: oldest === null ? 0 : Math.max(0, Math.round((Date.now() - oldest) / 1000)),
    };
  }

  /** close stops the timer and abandons an upload in flight (its records go out after the next start). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.abort?.abort();
    await this.running?.catch(() => {});
    this.closeUploader();
  }
}

/** retryDelayMs: the wait after the `failures`-th failure in a row (1 s, 2 s, 4 s, … up to `every` or five minutes). */
export function retryDelayMs(failures: number, everyMs: number): number {
  return Math.min(everyMs, MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(Math.max(failures, 1) - 1, 20));
}

/** nextSecond waits until the unix second changes, so the next object gets its own key. */
function nextSecond(signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('export stopped'));
    const timer = setTimeout(resolve, 1000 - (Date.now() % 1000) + 5);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(new Error('export stopped'))), { once: true });
  });
}

/**
 * describe turns an upload error into one line for the log and the API: the S3 error
 * code or the transport's, its message, cut short, and with every secret the client
 * holds replaced.
 */
function describe(err: unknown, secrets: readonly string[]): string {
  const e = err as { name?: string; message?: string; code?: string; Code?: string };
  const code = e.Code ?? e.code ?? (e.name && e.name !== 'Error' ? e.name : undefined);
  let text = `${code ? `${code}: ` : ''}${e.message ?? String(err)}`;
  for (const s of secrets) if (s.length >= 4) text = text.split(s).join('[redacted]');
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text;
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}
