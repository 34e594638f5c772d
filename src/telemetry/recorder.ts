/**
 * The Recorder takes finished request records off the request path: it queues them and
 * writes them to the store in batches on a timer. The queue is bounded. Under pressure
 * captures (bodies) are dropped first, then records; every drop is counted. A clean
 * shutdown drains the queue; a crash loses at most what is queued (bounded by
 * `flushIntervalMs` worth of traffic, `maxQueued` records at most).
 */
import type { Logger } from 'pino';
import type { Capture, RequestRecord } from './record.js';
import type { TelemetryStore } from './store.js';

export interface RecorderOptions {
  /** How often queued records are written. */
  flushIntervalMs: number;
  /** Largest batch written in one transaction. */
  batchSize: number;
  /** Most records waiting to be written; beyond it new records are dropped. */
  maxQueued: number;
  /** Most capture bytes waiting; beyond it new captures are dropped (their records are kept). */
  maxQueuedCaptureBytes: number;
}

export const DEFAULT_RECORDER_OPTIONS: RecorderOptions = {
  flushIntervalMs: 100,
  batchSize: 500,
  maxQueued: 20_000,
  maxQueuedCaptureBytes: 64 * 1024 * 1024, // 64 MiB
};

export interface RecorderStats {
  queued: number;
  written: number;
  droppedRecords: number;
  droppedCaptures: number;
  failedWrites: number;
}

interface Item {
  record: RequestRecord;
  capture: Capture | null;
}

export class Recorder {
  private queue: Item[] = [];
  private captureBytes = 0;
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  readonly stats: RecorderStats = { queued: 0, written: 0, droppedRecords: 0, droppedCaptures: 0, failedWrites: 0 };
  /** Called after each successful batch with the records and their estimated costs (metrics). */
  onWritten: ((items: readonly Item[], costs: ReadonlyArray<number | null>) => void) | undefined;

  constructor(
    private readonly store: TelemetryStore,
    private readonly log: Logger,
    private readonly options: RecorderOptions = DEFAULT_RECORDER_OPTIONS,
  ) {
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    this.timer.unref();
  }

  /** submit queues one record (and its capture). It never blocks and never throws. */
  submit(record: RequestRecord, capture: Capture | null): void {
    if (this.queue.length >= this.options.maxQueued) {
      this.stats.droppedRecords++;
      if (capture) this.stats.droppedCaptures++;
      if (this.stats.droppedRecords === 1 || this.stats.droppedRecords % 1000 === 0) {
        this.log.warn({ dropped: this.stats.droppedRecords }, 'telemetry queue full: request records dropped');
      }
      return;
    }
    if (capture) {
      const size = capture.requestBody.length + capture.responseBody.length;
      if (this.captureBytes + size > this.options.maxQueuedCaptureBytes) {
        this.stats.droppedCaptures++;
        if (this.stats.droppedCaptures === 1 || this.stats.droppedCaptures % 1000 === 0) {
          this.log.warn({ dropped: this.stats.droppedCaptures }, 'telemetry under pressure: captures dropped, records kept');
        }
        capture = null;
      } else {
        this.captureBytes += size;
      }
    }
    this.queue.push({ record, capture });
    this.stats.queued = this.queue.length;
  }

  /** flush writes what is queued, one batch at a time; concurrent calls share the work. */
  flush(): Promise<void> {
    if (!this.flushing) {
      this.flushing = this.writeAll().finally(() => {
        this.flushing = undefined;
      });
    }
    return this.flushing;
  }

  private async writeAll(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.batchSize);
      for (const item of batch) if (item.capture) this.captureBytes -= item.capture.requestBody.length + item.capture.responseBody.length;
      this.stats.queued = this.queue.length;
      try {
        const costs = await this.store.insert(batch);
        this.stats.written += batch.length;
        this.onWritten?.(batch, costs);
      } catch (err) {
        this.stats.failedWrites++;
        this.stats.droppedRecords += batch.length;
        this.log.error({ err: (err as Error).message, records: batch.length }, 'telemetry write failed; batch lost');
        return;
      }
    }
  }

  /** drain stops the timer and writes everything still queued (clean shutdown). */
  async drain(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    if (this.queue.length > 0) await this.flush();
  }
}
