// The request log and the promises tests wait on. With recording off (the benchmark) nothing
// is kept, so memory stays flat at any request rate; abort waiters still work.

import type { RecordedRequest } from './types.js';

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

const DEFAULT_TIMEOUT_MS = 5000;

export class Recorder {
  /** Stable array identity: reset() empties it in place so held references stay live. */
  readonly requests: RecordedRequest[] = [];
  private countWaiters: Array<Waiter<RecordedRequest[]> & { n: number }> = [];
  private abortWaiters: Array<Waiter<RecordedRequest>> = [];
  private closed = false;

  constructor(readonly enabled: boolean) {}

  add(rec: RecordedRequest): void {
    if (!this.enabled) return;
    this.requests.push(rec);
    if (this.countWaiters.length === 0) return;
    this.countWaiters = this.countWaiters.filter((w) => {
      if (this.requests.length < w.n) return true;
      clearTimeout(w.timer);
      w.resolve(this.requests.slice());
      return false;
    });
  }

  /** Whether an abort needs a record object even though recording is off. */
  hasAbortWaiters(): boolean {
    return this.abortWaiters.length > 0;
  }

  markAborted(rec: RecordedRequest): void {
    rec.aborted = true;
    const waiters = this.abortWaiters;
    this.abortWaiters = [];
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.resolve(rec);
    }
  }

  reset(): void {
    this.requests.length = 0;
  }

  waitForRequests(n: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RecordedRequest[]> {
    if (this.closed) return Promise.reject(new Error('mock upstream is closed'));
    if (!this.enabled) {
      return Promise.reject(new Error('mock upstream: waitForRequests needs recording (record: false)'));
    }
    if (this.requests.length >= n) return Promise.resolve(this.requests.slice());
    return new Promise((resolve, reject) => {
      const w = {
        n,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.countWaiters = this.countWaiters.filter((x) => x !== w);
          reject(new Error(`mock upstream: timed out after ${timeoutMs} ms waiting for ${n} requests (got ${this.requests.length})`));
        }, timeoutMs),
      };
      this.countWaiters.push(w);
    });
  }

  waitForAbort(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RecordedRequest> {
    if (this.closed) return Promise.reject(new Error('mock upstream is closed'));
    for (let i = this.requests.length - 1; i >= 0; i--) {
      const r = this.requests[i]!;
      if (r.aborted) return Promise.resolve(r);
    }
    return new Promise((resolve, reject) => {
      const w: Waiter<RecordedRequest> = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.abortWaiters = this.abortWaiters.filter((x) => x !== w);
          reject(new Error(`mock upstream: timed out after ${timeoutMs} ms waiting for an aborted request`));
        }, timeoutMs),
      };
      this.abortWaiters.push(w);
    });
  }

  /** Reject everything still pending so no timer outlives the server. */
  close(): void {
    this.closed = true;
    const err = new Error('mock upstream closed');
    for (const w of [...this.countWaiters, ...this.abortWaiters]) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.countWaiters = [];
    this.abortWaiters = [];
  }
}
