/**
 * Telemetry ties recording together: the store (SQLite in a worker), the recorder queue,
 * credential fingerprints, Prometheus metrics, the capture retention schedule and the S3
 * export. `startTrace` is the only call the request path makes; everything else happens
 * later.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Env } from '../config/macros.js';
import type { Snapshot } from '../config/snapshot.js';
import type { ApiFormat } from '../formats/types.js';
import type { Identity } from '../identity/identity.js';
import { parseRetention } from './capture.js';
import { S3Exporter } from './export/exporter.js';
import { CredentialFingerprinter } from './fingerprint.js';
import { Metrics } from './metrics.js';
import { DEFAULT_RECORDER_OPTIONS, Recorder, type RecorderOptions } from './recorder.js';
import type { ExportStore, TelemetryStore } from './store.js';
import { RequestTrace, type TracedRequest } from './trace.js';

export interface TelemetryOptions {
  /** Most characters of each body kept in a capture. */
  captureLimit: number;
  recorder?: RecorderOptions;
  /** How often old captures are purged. */
  purgeIntervalMs?: number;
  /** Where the S3 export reads the standard AWS variables (default: none). */
  env?: Env;
  /**
   * The fingerprint secret shared by every replica (`--database`): stores a candidate
   * unless one is stored and returns the stored one. Without it the secret is
   * `<dataDir>/telemetry.secret`.
   */
  sharedSecret?: (candidateHex: string) => Promise<string>;
}

export const DEFAULT_CAPTURE_LIMIT = 1024 * 1024; // 1 MiB of text per body

/** Longest a shutdown waits for the queued records to be written. */
const DRAIN_LIMIT_MS = 10_000;

/** What a configuration says about keeping captures. */
export interface RetentionPolicy {
  /** undefined: keep forever; 0: keep none (or, with requireExport, none once exported). */
  retentionMs: number | undefined;
  purgeTools: boolean;
  /** `require_export`: a capture is purged only once the S3 export has sent it. */
  requireExport: boolean;
}

export class Telemetry {
  readonly metrics: Metrics;
  readonly exporter: S3Exporter;
  private readonly policies = new WeakMap<Snapshot, RetentionPolicy>();
  private purgeTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly store: TelemetryStore & ExportStore,
    readonly recorder: Recorder,
    readonly fingerprints: CredentialFingerprinter,
    readonly log: Logger,
    readonly options: TelemetryOptions,
    private readonly currentSnapshot: () => Snapshot,
  ) {
    this.metrics = new Metrics(() => this.recorder.stats);
    // Captures held back for the export go as soon as it has sent them (retention "0"),
    // or at once if they outlived the retention while the export was failing.
    this.exporter = new S3Exporter({ store, log, registry: this.metrics.registry, env: options.env ?? {}, onExported: () => this.purgeAfterExport() });
    recorder.onWritten = (items, costs) => {
      items.forEach(({ record }, i) => {
        const usd = costs[i];
        if (usd && record.provider) this.metrics.observeCost(record.provider, record.upstreamModel ?? 'unknown', usd);
      });
    };
  }

  /** open starts recording into `store`, with the fingerprint secret `<dataDir>/telemetry.secret` (or the shared one). */
  static async open(store: TelemetryStore & ExportStore, dataDir: string, log: Logger, options: TelemetryOptions, currentSnapshot: () => Snapshot): Promise<Telemetry> {
    const secretPath = join(dataDir, 'telemetry.secret');
    const fingerprints = options.sharedSecret ? await CredentialFingerprinter.shared(secretPath, options.sharedSecret) : await CredentialFingerprinter.load(secretPath);
    const recorder = new Recorder(store, log, options.recorder ?? DEFAULT_RECORDER_OPTIONS);
    const telemetry = new Telemetry(store, recorder, fingerprints, log, options, currentSnapshot);
    telemetry.schedulePurge(currentSnapshot, options.purgeIntervalMs ?? 3_600_000);
    telemetry.applied(currentSnapshot());
    return telemetry;
  }

  /** applied takes a new configuration's telemetry settings (the S3 export's). */
  applied(snapshot: Snapshot): void {
    this.exporter.configure(snapshot.config.s3Export);
  }

  /** startTrace begins recording one inference request. */
  startTrace(req: TracedRequest, identity: Identity, format: ApiFormat, snapshot: Snapshot, client = 'api'): RequestTrace {
    const policy = this.policy(snapshot);
    const captureLimit = policy.retentionMs === 0 && !policy.requireExport ? 0 : this.options.captureLimit;
    return new RequestTrace(this, req, identity, format, snapshot, captureLimit, client);
  }

  /** policy reads `database.retention` of a snapshot once. */
  policy(snapshot: Snapshot): RetentionPolicy {
    let p = this.policies.get(snapshot);
    if (!p) {
      const retention = (snapshot.config.document.database as { retention?: { duration?: unknown; purge?: unknown; require_export?: unknown } } | undefined)?.retention;
      const purge = Array.isArray(retention?.purge) ? retention.purge : ['captures'];
      p = { retentionMs: parseRetention(retention?.duration), purgeTools: purge.includes('tools'), requireExport: retention?.require_export === true };
      this.policies.set(snapshot, p);
    }
    return p;
  }

  /**
   * purgeNow deletes captures (and tool details, if configured) older than the retention;
   * with `require_export`, only those the S3 export has sent.
   */
  async purgeNow(snapshot: Snapshot): Promise<{ captures: number; tools: number }> {
    const policy = this.policy(snapshot);
    if (policy.retentionMs === undefined) return { captures: 0, tools: 0 };
    const cutoff = Date.now() - policy.retentionMs;
    const result = await this.store.purge(cutoff, policy.purgeTools ? cutoff : undefined, policy.requireExport);
    if (result.captures + result.tools > 0) this.log.info({ ...result, require_export: policy.requireExport }, 'telemetry captures purged by retention');
    return result;
  }

  private purgeAfterExport(): void {
    const snapshot = this.currentSnapshot();
    const policy = this.policy(snapshot);
    if (!policy.requireExport || policy.retentionMs === undefined) return;
    this.purgeNow(snapshot).catch((err: Error) => this.log.error({ err: err.message }, 'telemetry purge failed'));
  }

  private schedulePurge(current: () => Snapshot, everyMs: number): void {
    const run = () => void this.purgeNow(current()).catch((err: Error) => this.log.error({ err: err.message }, 'telemetry purge failed'));
    run();
    this.purgeTimer = setInterval(run, everyMs);
    this.purgeTimer.unref();
  }

  /**
   * close writes what is queued (clean shutdown) and stops the export; the store's owner
   * closes the store. A database that is away (PostgreSQL down: its writes are retried
   * until it answers) does not hold the shutdown up past DRAIN_LIMIT_MS; what is still
   * queued then is lost, and the log says how much.
   */
  async close(): Promise<void> {
    clearInterval(this.purgeTimer);
    await this.exporter.close();
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.recorder.drain().then(() => true),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), DRAIN_LIMIT_MS))),
    ]);
    clearTimeout(timer);
    if (!drained) this.log.error({ queued: this.recorder.stats.queued }, 'telemetry store did not answer at shutdown; queued records are lost');
  }
}
