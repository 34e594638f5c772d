/**
 * EventQueue delivers the asynchronous events (entire_request, tool_call_entire_request)
 * after the answer has reached the client. It is bounded twice, by calls and by bytes
 * (a payload can hold a whole conversation), and when full it drops the new call and
 * counts it: a slow or dead hook costs memory up to the bound and never delays a request.
 * Every call waiting starts at once, up to `concurrency` in flight: the EventClient writes
 * the calls that start together to one connection in one write (HTTP/1.1 pipelining) and
 * opens more connections only as calls pile up on the first (event-client.ts).
 * Failures are logged and counted, retried only when `--hook-retries` asks for it.
 * Asynchronous hooks always fail open.
 */
import type { HookEvent } from '../config/types.js';
import type { HookCallResult } from './hook-client.js';
import type { CompiledHook } from './hook-plan.js';

export interface EventQueueSettings {
  /** Most calls in flight at once, over all hooks. */
  concurrency: number;
  /** Most calls waiting. */
  maxQueued: number;
  /** Most payload bytes waiting. */
  maxQueuedBytes: number;
  /** Further attempts after a failed call (0: none, the default). */
  retries: number;
}

export const DEFAULT_EVENT_QUEUE_SETTINGS: EventQueueSettings = {
  concurrency: 256,
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

/** What makes the calls: event-client.ts's EventClient. */
export interface EventCaller {
  call(hook: CompiledHook, payload: string): Promise<HookCallResult>;
}

const RETRY_DELAY_MS = 500;

export class EventQueue {
  private jobs: EventJob[] = [];
  private head = 0;
  private bytes = 0;
  private active = 0;
  private retrying = 0;
  private idle: Array<() => void> = [];
  dropped = 0;

  constructor(
    private readonly client: EventCaller,
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
    void this.client.call(job.hook, job.payload).then((result) => {
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

  private mayStart(): boolean {
    return this.jobs.length > this.head && this.active < this.settings.concurrency;
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
