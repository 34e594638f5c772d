/**
 * The cancellation of one tool call, as little of it as the call path needs: whether the
 * call was cancelled, why, and a way to be told. An `AbortSignal` is one (the SDK's
 * server hands its own to the calls it routes); fast-path.ts uses a `LazyCancellation`,
 * which makes a real `AbortSignal` only when a consumer that needs one asks for it (the
 * SDK's client, on the legacy transport). A call that is never cancelled, nearly every
 * call, then makes no `AbortController` and adds no event listener to one: about 10 µs a
 * call on the benchmark machine (docs/performance.md, MCP).
 */

export interface Cancellation {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export class LazyCancellation implements Cancellation {
  aborted = false;
  reason: unknown = undefined;
  private listeners: Array<() => void> | undefined;
  private controller: AbortController | undefined;

  /** signal is an AbortSignal that follows this cancellation, made on first use. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown = new DOMException('This operation was aborted', 'AbortError')): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const listener of listeners) listener();
    this.controller?.abort(reason);
  }

  // Listeners are called once, like `{ once: true }` on a signal: an abort happens once.
  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.listeners!.splice(i, 1);
  }
}

/** abortSignalOf gives a consumer that needs a real AbortSignal (the SDK's client) one that follows `c`. */
export function abortSignalOf(c: Cancellation | undefined): AbortSignal | undefined {
  return c instanceof LazyCancellation ? c.signal : (c as AbortSignal | undefined);
}
