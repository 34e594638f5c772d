/**
 * directCall sends one JSON-RPC request to an upstream over the Streamable HTTP session
 * the SDK's client opened (its session ID and negotiated protocol version), with undici's
 * `dispatch` and a small handler instead of the client's fetch and web streams, and reads
 * the answer (JSON, or SSE with progress notifications before it; keyway's SSE parser
 * runs only for an SSE answer). It is the tools/call hot path: the SDK client cost about
 * 1.6 ms a call on the benchmark machine, undici's `request` about 0.1 ms, and its
 * stream and promise plumbing was most of that (docs/performance.md). Everything else
 * (initialize, listings, notifications, the legacy transport) stays with the SDK's client.
 *
 * Transport rules followed (MCP spec, Streamable HTTP): POST with `Accept: application/json,
 * text/event-stream`, `Mcp-Session-Id` and `Mcp-Protocol-Version`; a 404 means the session
 * is gone; the answer is the JSON-RPC response with our id, in a JSON body or as an SSE
 * event among others (progress, server notifications, which are ignored here).
 */
import type { Dispatcher } from 'undici';
import { topLevelValueText } from '../formats/json-body.js';
import { SseParser } from '../telemetry/sse-parser.js';
import type { UpstreamAuth } from './auth.js';
import type { Cancellation } from './cancellation.js';

export interface DirectTarget {
  dispatcher: Dispatcher;
  url: URL;
  sessionId: string | undefined;
  protocolVersion: string | undefined;
  auth: UpstreamAuth;
}

export interface DirectOptions {
  signal?: Cancellation;
  /** Called with each progress notification's params for this request. */
  onprogress?: (params: Record<string, unknown>) => void;
  /** Longest silence before the call fails (progress restarts it). */
  timeoutMs: number;
  /** Receives the result's JSON text as the upstream wrote it, when it could be taken from the answer. */
  raw?: { text?: string };
}

/** The upstream answered with a JSON-RPC error: relayed as it is. */
export class UpstreamRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data: unknown,
  ) {
    super(message);
  }
}

/** The request never ran upstream (session gone, connection refused): safe to send again. */
export class NotDelivered extends Error {
  readonly code = 'MCP_NOT_DELIVERED';
}

export class DirectTimeout extends Error {
  readonly code = 'MCP_TIMEOUT';
}

let nextId = 0;

const ACCEPT = 'application/json, text/event-stream';

export async function directCall(target: DirectTarget, method: string, params: Record<string, unknown>, options: DirectOptions, fresh = false): Promise<Record<string, unknown>> {
  // Ids of keyway's own, apart from the numbers the SDK's client uses on the same session.
  const id = `kw-${++nextId}`;
  const withProgress = options.onprogress ? { ...params, _meta: { ...((params._meta as object | undefined) ?? {}), progressToken: id } } : params;
  const body = JSON.stringify({ jsonrpc: '2.0', id, method, params: withProgress });
  // A flat list: what undici writes as it is, without walking an object.
  const headers = ['content-type', 'application/json', 'accept', ACCEPT];
  if (target.sessionId) headers.push('mcp-session-id', target.sessionId);
  if (target.protocolVersion) headers.push('mcp-protocol-version', target.protocolVersion);
  const credential = await target.auth.header(fresh);
  if (credential) headers.push(credential[0], credential[1]);

  let answer: Answer;
  try {
    answer = await exchange(target, headers, body, id, options);
  } catch (err) {
    throw transportError(err, target, headers, id, options.signal);
  }
  if (answer.status === 404 && target.sessionId) throw new NotDelivered('the upstream session is gone');
  if (answer.status === 401 && target.auth.refreshable && !fresh) return directCall(target, method, params, options, true);
  if (answer.message) return settle(answer.message, options.raw);
  const found = answer.text === undefined ? undefined : parseAnswer(answer.text, id, options.raw);
  if (found) return found;
  if (answer.status < 200 || answer.status >= 300) throw Object.assign(new Error(`the upstream answered HTTP ${answer.status}`), { status: answer.status });
  if (answer.sse) throw new Error('the upstream ended its answer without a response');
  return missing();
}

/** What an exchange brought back: the status, and either the SSE message that answers our id or the whole body as text. */
interface Answer {
  status: number;
  sse: boolean;
  message?: { value: Record<string, unknown>; text: string };
  text?: string;
}

/**
 * exchange sends one request with undici's dispatch API and reads the answer: a JSON (or
 * error) body whole, an SSE body event by event until the message with our `id`, relaying
 * progress for it. The rest of an SSE stream is read to its end and dropped (the
 * upstream closes it after its last response; aborting it would cost an error per call).
 * undici's own timeouts bound the wait: the body timeout restarts with every chunk, so
 * progress events keep a long call alive.
 */
function exchange(target: DirectTarget, headers: string[], body: string, id: string, options: DirectOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const signal = options.signal;
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    let controller: Dispatcher.DispatchController | undefined;
    let settled = false;
    let status = 0;
    let parser: SseParser | undefined;
    let chunks: Buffer[] = [];
    const reason = () => (signal?.reason as Error | undefined) ?? new Error('aborted');
    const onAbort = () => controller?.abort(reason());
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (answer: Answer | undefined, err?: Error) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      chunks = [];
      if (answer) resolve(answer);
      else reject(err);
    };
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (signal?.aborted) c.abort(reason());
      },
      onResponseStart(_c, statusCode, responseHeaders) {
        if (statusCode < 200) return; // 1xx: the answer follows
        status = statusCode;
        const type = responseHeaders['content-type'];
        if (status >= 200 && status < 300 && typeof type === 'string' && type.startsWith('text/event-stream')) {
          parser = new SseParser((_event, data) => {
            if (settled) return;
            const message = parseJson(data);
            if (!message) return;
            if (message.method === 'notifications/progress' && options.onprogress) {
              const p = message.params as Record<string, unknown> | undefined;
              if (p && p.progressToken === id) options.onprogress(p);
              return;
            }
            if (message.id === id) done({ status, sse: true, message: { value: message, text: data } });
          });
        }
      },
      onResponseData(_c, chunk) {
        if (settled) return;
        if (parser) parser.push(chunk);
        else chunks.push(chunk);
      },
      onResponseEnd() {
        if (settled) return;
        if (parser) {
          parser.end();
          done({ status, sse: true });
          return;
        }
        const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
        done({ status, sse: false, text });
      },
      onResponseError(_c, err) {
        done(undefined, err);
      },
    };
    target.dispatcher.dispatch(
      { origin: target.url.origin, path: target.url.pathname + target.url.search, method: 'POST', headers, body, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs },
      handler,
    );
  });
}

/** transportError classifies a failed exchange, telling the upstream when the client cancelled. */
function transportError(err: unknown, target: DirectTarget, headers: string[], id: string, signal: Cancellation | undefined): Error {
  if (signal?.aborted) {
    cancelUpstream(target, headers, id);
    return err as Error;
  }
  const code = (err as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return new DirectTimeout('no answer in time');
  if (code === 'ECONNREFUSED') return new NotDelivered('connection refused', { cause: err });
  return err as Error;
}

function cancelUpstream(target: DirectTarget, headers: string[], id: string): void {
  const body = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'the client cancelled the request' } });
  target.dispatcher
    .request({ origin: target.url.origin, path: target.url.pathname + target.url.search, method: 'POST', headers, body })
    .then((r) => r.body.dump(), () => {});
}

function parseAnswer(text: string, id: string, raw: DirectOptions['raw']): Record<string, unknown> | undefined {
  const message = parseJson(text);
  if (!message) return undefined;
  // A batch answer to a single request is unusual but legal: find ours.
  if (Array.isArray(message)) {
    const one = (message as Array<Record<string, unknown>>).find((m) => m?.id === id);
    return one ? settle({ value: one, text: undefined }, raw) : undefined;
  }
  return message.id === id ? settle({ value: message, text }, raw) : undefined;
}

/**
 * settle returns the result of the answer, or throws its error. With `raw`, the result's
 * JSON text is taken from the message's text as the upstream wrote it (only the envelope
 * around it changes on the way to the client), so it is not serialized again.
 */
function settle(message: { value: Record<string, unknown>; text: string | undefined }, raw: DirectOptions['raw']): Record<string, unknown> {
  const m = message.value;
  const error = m.error as { code?: unknown; message?: unknown; data?: unknown } | undefined;
  if (error && typeof error === 'object') throw new UpstreamRpcError(typeof error.code === 'number' ? error.code : -32603, String(error.message ?? 'error'), error.data);
  const result = m.result;
  if (result === null || typeof result !== 'object' || Array.isArray(result)) throw new UpstreamRpcError(-32603, 'the upstream answered without a result object', undefined);
  if (raw && message.text !== undefined) {
    const text = topLevelValueText(message.text, 'result');
    if (text !== undefined) raw.text = text;
  }
  return result as Record<string, unknown>;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function missing(): never {
  throw new Error('the upstream answered without a JSON-RPC response');
}
