/**
 * EventSender is the request thread's side of the hook events: it decides at once whether
 * a call fits (the bounds of calls and bytes waiting or in flight), so the request's
 * record can say `queued` or `dropped`, and hands the calls to the events thread
 * (event-worker.ts) in one message per turn of the event loop. The thread starts with the
 * first event, so a gateway without event hooks never has it.
 *
 * Its counts of what is outstanding are lowered as the thread reports outcomes (every
 * 100 ms), so the bounds are a little conservative, never loose.
 */
import { Worker } from 'node:worker_threads';
import type { HookEvent } from '../config/types.js';
import type { EventJob, EventQueueSettings } from './event-queue.js';
import type { EventOutcome, EventWorkerData, FromEventWorker, ToEventWorker } from './event-worker.js';
import type { HookClientSettings } from './hook-client.js';

/** What the sender reports, for logs and /metrics. */
export interface EventReport {
  /** A batch of outcomes from the events thread. */
  outcomes(outcomes: readonly EventOutcome[]): void;
  dropped(hook: string, event: HookEvent): void;
  /** The events thread failed; the calls it held are lost. */
  crashed(err: Error, lost: number): void;
}

export class EventSender {
  private worker: Worker | undefined;
  private pending: EventJob[] = [];
  private scheduled = false;
  private outstanding = 0;
  private bytes = 0;
  private drained: (() => void) | undefined;
  private readonly capacity: number;

  constructor(
    private readonly settings: { client: HookClientSettings; events: EventQueueSettings },
    private readonly report: EventReport,
  ) {
    this.capacity = settings.events.concurrency + settings.events.maxQueued;
  }

  /** Calls waiting or in flight. */
  get depth(): number {
    return this.outstanding;
  }

  /** push hands a call over; false when the bounds are reached and it was dropped (and counted). */
  push(job: EventJob): boolean {
    if (this.outstanding >= this.capacity || this.bytes + job.payload.length > this.settings.events.maxQueuedBytes) {
      this.report.dropped(job.hook.id, job.event);
      return false;
    }
    this.outstanding++;
    this.bytes += job.payload.length;
    this.pending.push(job);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
    return true;
  }

  private readonly flush = () => {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const jobs = this.pending;
    this.pending = [];
    this.thread().postMessage({ op: 'send', jobs } satisfies ToEventWorker);
  };

  private thread(): Worker {
    if (this.worker) return this.worker;
    const data: EventWorkerData = this.settings;
    const worker = new Worker(new URL('./event-worker.js', import.meta.url), { workerData: data });
    // The thread must not keep a finished process alive; close() waits for it explicitly.
    worker.unref();
    worker.on('message', (msg: FromEventWorker) => {
      if (msg.op === 'drained') {
        this.drained?.();
        return;
      }
      for (const o of msg.outcomes) {
        if (!o[7]) continue;
        this.outstanding--;
        this.bytes -= o[6];
      }
      this.report.outcomes(msg.outcomes);
    });
    worker.on('error', (err) => {
      this.report.crashed(err, this.outstanding);
      this.reset();
    });
    worker.on('exit', () => this.reset());
    this.worker = worker;
    return worker;
  }

  private reset(): void {
    this.worker = undefined;
    this.outstanding = this.pending.length;
    this.bytes = this.pending.reduce((n, j) => n + j.payload.length, 0);
    this.drained?.();
  }

  /**
   * close delivers what is queued, waiting up to `graceMs`, then stops the thread. Calls
   * still unanswered then are dropped with their connections.
   */
  async close(graceMs: number): Promise<void> {
    this.flush();
    const worker = this.worker;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs + 1_000);
      timer.unref();
      this.drained = () => {
        clearTimeout(timer);
        resolve();
      };
      worker.postMessage({ op: 'drain', timeoutMs: graceMs } satisfies ToEventWorker);
    });
    this.drained = undefined;
    this.worker = undefined;
    await worker.terminate();
  }
}
