/**
 * HookClient makes the HTTP calls to hooks, on an undici Agent of its own: hooks never
 * share (or exhaust) the connections keyway uses for providers, and its limits are its
 * own (`--hook-connections`). A call has one deadline, the hook's `timeout`, for
 * everything from connecting to the last byte of the answer; redirects are not followed.
 */
import { Agent } from 'undici';
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

/** The reason an aborted call was aborted: its own deadline. */
const TIMED_OUT = Symbol('hook timeout');

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
   * It never rejects.
   */
  async call(hook: CompiledHook, payload: string, read: boolean): Promise<HookCallResult> {
    const abort = hook.timeoutMs > 0 ? new AbortController() : undefined;
    const timer = abort ? setTimeout(() => abort.abort(TIMED_OUT), hook.timeoutMs) : undefined;
    try {
      const res = await this.agent.request({
        origin: hook.origin,
        path: hook.path,
        method: 'POST',
        headers: hook.headers as string[],
        body: payload,
        signal: abort?.signal,
      });
      if (res.statusCode < 200 || res.statusCode > 299) {
        await res.body.dump().catch(() => {});
        return { ok: false, reason: 'status', detail: `answered HTTP ${res.statusCode}` };
      }
      if (!read) {
        await res.body.dump({ limit: this.settings.maxAnswerBytes }).catch(() => {});
        return { ok: true, status: res.statusCode, answer: undefined };
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > this.settings.maxAnswerBytes) {
          res.body.destroy();
          return { ok: false, reason: 'too_large', detail: `answer is larger than ${this.settings.maxAnswerBytes} bytes` };
        }
        chunks.push(chunk);
      }
      const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
      try {
        return { ok: true, status: res.statusCode, answer: JSON.parse(text) };
      } catch {
        return { ok: false, reason: 'bad_json', detail: 'answer is not JSON' };
      }
    } catch (err) {
      if (abort?.signal.aborted) return { ok: false, reason: 'timeout', detail: `no answer within ${hook.timeoutMs} ms` };
      const mapped = upstreamErrorFromTransport(err);
      const cause = (err as Error | undefined)?.message ?? String(err);
      if (mapped.code === 'UPSTREAM_TIMEOUT') return { ok: false, reason: 'timeout', detail: cause };
      if (mapped.code === 'UPSTREAM_UNREACHABLE') return { ok: false, reason: 'unreachable', detail: cause };
      return { ok: false, reason: 'connection', detail: cause };
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => {});
  }

  /** destroy drops every connection at once (a shutdown that cannot wait). */
  async destroy(): Promise<void> {
    await this.agent.destroy().catch(() => {});
  }
}
