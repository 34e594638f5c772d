/**
 * EventQueue delivers the asynchronous events (entire_request, tool_call_entire_request)
 * after the answer has reached the client. It is bounded twice, by calls and by bytes
 * (a payload can hold a whole conversation), and when full it drops the new call and
 * counts it: a slow or dead hook costs memory up to the bound and never delays a request.
 * Calls go one at a time on one keep-alive connection while that keeps up, and more run
 * at once (up to `concurrency`) only as calls pile up waiting: a batch of a few dozen
 * events to a fast hook then never has the events thread and the hook both busy on
 * several connections, taking every core from the requests being served (measured in
 * docs/performance.md), while a slow or distant hook still gets its calls in parallel.
 * Failures are logged and counted, retried only when `--hook-retries` asks for it.
 * Asynchronous hooks always fail open.
 */
import type { HookEvent } from '../config/types.js';
import type { HookCallResult, HookClient } from './hook-client.js';
import type { CompiledHook } from './hook-plan.js';

export interface EventQueueSettings {
  /** Most calls in flight at once, over all hooks (see RAMP_WAITING). */
  concurrency: number;
  /** Most calls waiting. */
  maxQueued: number;
  /** Most payload bytes waiting. */
  maxQueuedBytes: number;
  /** Further attempts after a failed call (0: none, the default). */
  retries: number;
}

export const DEFAULT_EVENT_QUEUE_SETTINGS: EventQueueSettings = {
  concurrency: 16,
  maxQueued: 10_000,
  maxQueuedBytes: 64 * 1024 * 1024, // 64 MiB
  retries: 0,
};

export interface EventJob {
  hook: CompiledHook;
  event: HookEvent;
  payload: string;
  attempts: number;
  /** The size the request thread counted against its byte bound (event-wire.ts sizeOf), reported back with the outcome. */
  size?: number;
}

/** What happens to each call, for logs and /metrics. */
export interface EventObserver {
  delivered(job: EventJob, ms: number): void;
  failed(job: EventJob, result: Extract<HookCallResult, { ok: false }>, ms: number, retrying: boolean): void;
  dropped(job: EventJob): void;
}

const RETRY_DELAY_MS = 500;
/**
 * One more call in flight for every this many waiting: up to 64 waiting, one call at a
 * time; a backlog of 1,000 has 16 in flight. A hook answering in 1 ms on one connection
 * takes 1,000 events a second; beyond that the backlog grows and so does the parallelism.
 */
export const RAMP_WAITING = 64;

export class EventQueue {
  private jobs: EventJob[] = [];
  private head = 0;
  private bytes = 0;
  private active = 0;
  private retrying = 0;
  private idle: Array<() => void> = [];
  dropped = 0;

  constructor(
    private readonly client: HookClient,
    private readonly settings: EventQueueSettings,
    private readonly observer: EventObserver,
  ) {}

  /** Calls waiting or in flight. */
  get depth(): number {
    return this.jobs.length - this.head + this.active + this.retrying;
  }

  /**
   * push queues a call; false when the queue is full and the call was dropped (and counted).
   * Full is `concurrency + maxQueued` calls held (as the request thread counts them), or
   * `maxQueuedBytes` waiting.
   */
  push(job: EventJob): boolean {
    if (this.active === 0 && this.head === this.jobs.length) {
      this.start(job);
      return true;
    }
    const held = this.active + this.jobs.length - this.head;
    if (held >= this.settings.concurrency + this.settings.maxQueued || this.bytes + job.payload.length > this.settings.maxQueuedBytes) {
      this.dropped++;
      this.observer.dropped(job);
      return false;
    }
    this.jobs.push(job);
    this.bytes += job.payload.length;
    this.next();
    return true;
  }

  /** drain resolves when nothing is waiting or in flight (or after `timeoutMs`). */
  drain(timeoutMs: number): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private start(job: EventJob): void {
    this.active++;
    const started = performance.now();
    void this.client.call(job.hook, job.payload, false).then((result) => {
      this.active--;
      const ms = performance.now() - started;
      if (result.ok) this.observer.delivered(job, ms);
      else {
        const retry = job.attempts < this.settings.retries;
        this.observer.failed(job, result, ms, retry);
        if (retry) this.retryLater({ ...job, attempts: job.attempts + 1 });
      }
      this.next();
    });
  }

  private retryLater(job: EventJob): void {
    this.retrying++;
    const timer = setTimeout(() => {
      this.retrying--;
      this.push(job);
      this.next();
    }, RETRY_DELAY_MS * job.attempts);
    timer.unref();
  }

  /** Whether another call may start now: none in flight, or more waiting than those in flight keep up with. */
  private mayStart(): boolean {
    const waiting = this.jobs.length - this.head;
    return waiting > 0 && this.active < this.settings.concurrency && (this.active === 0 || waiting > this.active * RAMP_WAITING);
  }

  private next(): void {
    while (this.mayStart()) {
      const job = this.jobs[this.head]!;
      this.jobs[this.head++] = undefined as never;
      this.bytes -= job.payload.length;
      // Compact now and then instead of shifting on every call.
      if (this.head > 1024 && this.head * 2 > this.jobs.length) {
        this.jobs = this.jobs.slice(this.head);
        this.head = 0;
      }
      this.start(job);
    }
    if (this.depth === 0 && this.idle.length > 0) {
      const waiting = this.idle;
      this.idle = [];
      for (const w of waiting) w();
    }
  }
}
