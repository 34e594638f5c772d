/**
 * HookClient makes the HTTP calls to hooks, on an undici Agent of its own: hooks never
 * share (or exhaust) the connections keyway uses for providers, and its limits are its
 * own (`--hook-connections`). A call has one deadline, the hook's `timeout`, for
 * everything from connecting to the last byte of the answer; redirects are not followed.
 */
import { Agent, type Dispatcher } from 'undici';
import { upstreamErrorFromTransport } from '../errors.js';
import type { CompiledHook } from './hook-plan.js';

export interface HookClientSettings {
  /** Most open connections to one hook origin; more calls wait for a free one (within their timeout). */
  connectionsPerOrigin: number;
  /** Largest answer read from a hook, in bytes (a `modify` carries a whole request body). */
  maxAnswerBytes: number;
}

export const DEFAULT_HOOK_CLIENT_SETTINGS: HookClientSettings = {
  connectionsPerOrigin: 32,
  maxAnswerBytes: 32 * 1024 * 1024, // 32 MiB, the default request body limit
};

/** Why a call did not give keyway an answer it could use (see docs/hooks.md). */
export type HookFailure = 'timeout' | 'unreachable' | 'connection' | 'status' | 'bad_json' | 'too_large' | 'bad_answer' | 'model_changed' | 'not_configured';

export type HookCallResult =
  | { ok: true; status: number; answer: unknown }
  | { ok: false; reason: HookFailure; detail: string };

type Controller = Dispatcher.DispatchController;

/** CallHandler reads one hook answer, within the hook's deadline, and settles the call once. */
class CallHandler implements Dispatcher.DispatchHandler {
  private controller: Controller | undefined;
  private status = 0;
  private chunks: Buffer[] = [];
  private size = 0;
  private timer: NodeJS.Timeout | undefined;
  private timedOut = false;
  private done = false;

  constructor(
    hook: CompiledHook,
    private readonly read: boolean,
    private readonly maxBytes: number,
    private readonly resolve: (r: HookCallResult) => void,
  ) {
    if (hook.timeoutMs > 0) {
      this.timer = setTimeout(() => {
        this.timedOut = true;
        this.controller?.abort(new Error('hook timeout'));
        this.settle({ ok: false, reason: 'timeout', detail: `no answer within ${hook.timeoutMs} ms` });
      }, hook.timeoutMs);
    }
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.done) controller.abort(new Error('hook call settled'));
  }

  onResponseStart(_controller: Controller, statusCode: number): void {
    if (statusCode >= 200) this.status = statusCode;
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.status < 200 || this.status > 299 || !this.read) return; // read to the end, kept nowhere
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      this.settle({ ok: false, reason: 'too_large', detail: `answer is larger than ${this.maxBytes} bytes` });
      controller.abort(new Error('hook answer too large'));
      return;
    }
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    if (this.status < 200 || this.status > 299) return this.settle({ ok: false, reason: 'status', detail: `answered HTTP ${this.status}` });
    if (!this.read) return this.settle({ ok: true, status: this.status, answer: undefined });
    const text = this.chunks.length === 1 ? this.chunks[0]!.toString('utf8') : Buffer.concat(this.chunks).toString('utf8');
    try {
      this.settle({ ok: true, status: this.status, answer: JSON.parse(text) });
    } catch {
      this.settle({ ok: false, reason: 'bad_json', detail: 'answer is not JSON' });
    }
  }

  onResponseError(_controller: Controller, err: Error): void {
    if (this.timedOut || this.done) return;
    const mapped = upstreamErrorFromTransport(err);
    const cause = err?.message ?? String(err);
    if (mapped.code === 'UPSTREAM_TIMEOUT') this.settle({ ok: false, reason: 'timeout', detail: cause });
    else if (mapped.code === 'UPSTREAM_UNREACHABLE') this.settle({ ok: false, reason: 'unreachable', detail: cause });
    else this.settle({ ok: false, reason: 'connection', detail: cause });
  }

  private settle(result: HookCallResult): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.chunks = [];
    this.resolve(result);
  }
}

export class HookClient {
  private readonly agent: Agent;

  constructor(private readonly settings: HookClientSettings = DEFAULT_HOOK_CLIENT_SETTINGS) {
    this.agent = new Agent({
      connections: settings.connectionsPerOrigin,
      keepAliveTimeout: 30_000, // 30 s
      // The call's own deadline bounds each phase; 0 turns undici's off (a hook with
      // "timeout": "0" may take as long as it likes).
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: { timeout: 10_000 },
    });
  }

  /**
   * call POSTs `payload` to the hook. With `read`, the answer must be 2xx JSON and is
   * returned parsed; without, it is read to the end and dropped (asynchronous events).
   * It never rejects. undici's dispatch API with a small handler: the request API's
   * stream and promise plumbing cost more than the rest of a call.
   */
  call(hook: CompiledHook, payload: string, read: boolean): Promise<HookCallResult> {
    return new Promise((resolve) => {
      const handler = new CallHandler(hook, read, this.settings.maxAnswerBytes, resolve);
      this.agent.dispatch({ origin: hook.origin, path: hook.path, method: 'POST', headers: hook.headers as string[], body: payload }, handler);
    });
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => {});
  }

  /** destroy drops every connection at once (a shutdown that cannot wait). */
  async destroy(): Promise<void> {
    await this.agent.destroy().catch(() => {});
  }
}
