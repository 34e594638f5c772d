/**
 * EventSender is the request thread's side of the hook events: it decides at once whether
 * a call fits (the bounds of calls and bytes waiting or in flight), so the request's
 * record can say `queued` or `dropped`, and hands the calls to the events thread
 * (event-worker.ts) in one message every FLUSH_MS: a message costs the request thread
 * about 10 µs however much it carries, so one per event would cost more than the rest
 * of the event together. What it hands over is each request's PayloadParts (once for
 * all of its calls) in the flat layout of event-wire.ts; the JSON of the payloads is
 * written on the events thread. The thread starts with the first event, so a gateway
 * without event hooks never has it.
 *
 * Its counts of what is outstanding are lowered as the thread reports outcomes (every
 * 100 ms), so the bounds are a little conservative, never loose.
 */
import { Worker } from 'node:worker_threads';
import type { HookEvent } from '../config/types.js';
import type { EventQueueSettings } from './event-queue.js';
import { sizeOf, writeCall, writeParts, type Wire } from './event-wire.js';
import type { EventWorkerData, FromEventWorker, OutcomeGroup, ToEventWorker } from './event-worker.js';
import type { HookClientSettings } from './hook-client.js';
import type { CompiledHook } from './hook-plan.js';
import type { PayloadParts } from './payload.js';

/**
 * How long calls gather before they go to the events thread, in one message. Events are
 * asynchronous, so a tenth of a second is nothing to the hook; to the request thread each
 * hand-over (and each wake-up of the events thread and the hook) is a fixed cost, which
 * at low rates was paid for a handful of events (20 ms before: docs/performance.md).
 */
const FLUSH_MS = 100;
/** A batch this large goes at once. */
const FLUSH_JOBS = 512;

/** What the sender reports, for logs and /metrics. */
export interface EventReport {
  /** A batch of outcomes from the events thread. */
  outcomes(groups: readonly OutcomeGroup[]): void;
  dropped(hook: string, event: HookEvent): void;
  /** The events thread failed; the calls it held are lost. */
  crashed(err: Error, lost: number): void;
}

export class EventSender {
  private worker: Worker | undefined;
  /** The batch being gathered (event-wire.ts), and how many calls it holds. */
  private pending: Wire = [];
  private calls = 0;
  /** The request whose block ends the batch: its further calls join that block. */
  private lastParts: PayloadParts | undefined;
  private lastCountAt = 0;
  private lastSize = 0;
  private newHooks: Array<[number, CompiledHook]> = [];
  private hookNumbers = new WeakMap<CompiledHook, number>();
  private nextHook = 0;
  private timer: NodeJS.Timeout | undefined;
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

  /**
   * push hands over one call of a request, made from `parts` (the calls of one request
   * share one parts object, handed over once); false when the bounds are reached and it
   * was dropped (and counted).
   */
  push(parts: PayloadParts, hook: CompiledHook, event: HookEvent, send: number): boolean {
    const same = parts === this.lastParts;
    const size = same ? this.lastSize : sizeOf(parts);
    if (this.outstanding >= this.capacity || this.bytes + size > this.settings.events.maxQueuedBytes) {
      this.report.dropped(hook.id, event);
      return false;
    }
    this.outstanding++;
    this.bytes += size;
    // Hooks are objects of a snapshot: each is sent to the thread once, then named by number.
    let n = this.hookNumbers.get(hook);
    if (n === undefined) {
      this.hookNumbers.set(hook, (n = this.nextHook++));
      this.newHooks.push([n, hook]);
    }
    if (!same) {
      this.lastParts = parts;
      this.lastSize = size;
      this.lastCountAt = writeParts(this.pending, parts);
    }
    writeCall(this.pending, this.lastCountAt, n, event, send, size);
    if (++this.calls >= FLUSH_JOBS) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(this.flush, FLUSH_MS);
      this.timer.unref();
    }
    return true;
  }

  private readonly flush = () => {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const msg: ToEventWorker = { op: 'send', hooks: this.newHooks, jobs: this.pending };
    this.pending = [];
    this.calls = 0;
    this.lastParts = undefined;
    this.newHooks = [];
    this.thread().postMessage(msg);
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
      for (const g of msg.groups) {
        this.outstanding -= g.final;
        this.bytes -= g.bytes;
      }
      this.report.outcomes(msg.groups);
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
    // A new thread knows no hook: every hook is sent again with its next call. What the
    // old one held is lost (crashed() said so).
    this.hookNumbers = new WeakMap();
    this.newHooks = [];
    this.pending = [];
    this.calls = 0;
    this.lastParts = undefined;
    this.outstanding = 0;
    this.bytes = 0;
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
