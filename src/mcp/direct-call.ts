/**
 * directCall sends one JSON-RPC request to an upstream over the Streamable HTTP session
 * the SDK's client opened (its session ID and negotiated protocol version), with undici's
 * `request` instead of the client's fetch and web streams, and reads the answer (JSON, or
 * SSE with progress notifications before it) with keyway's SSE parser. It is the tools/call
 * hot path: the SDK client cost about 1.6 ms a call on the benchmark machine, this about
 * 0.1 ms (docs/performance.md). Everything else (initialize, listings, notifications,
 * the legacy transport) stays with the SDK's client.
 *
 * Transport rules followed (MCP spec, Streamable HTTP): POST with `Accept: application/json,
 * text/event-stream`, `Mcp-Session-Id` and `Mcp-Protocol-Version`; a 404 means the session
 * is gone; the answer is the JSON-RPC response with our id, in a JSON body or as an SSE
 * event among others (progress, server notifications, which are ignored here).
 */
import type { Dispatcher } from 'undici';
import { SseParser } from '../telemetry/sse-parser.js';
import type { UpstreamAuth } from './auth.js';

export interface DirectTarget {
  dispatcher: Dispatcher;
  url: URL;
  sessionId: string | undefined;
  protocolVersion: string | undefined;
  auth: UpstreamAuth;
}

export interface DirectOptions {
  signal?: AbortSignal;
  /** Called with each progress notification's params for this request. */
  onprogress?: (params: Record<string, unknown>) => void;
  /** Longest silence before the call fails (progress restarts it). */
  timeoutMs: number;
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

export async function directCall(target: DirectTarget, method: string, params: Record<string, unknown>, options: DirectOptions, fresh = false): Promise<Record<string, unknown>> {
  // Ids of keyway's own, apart from the numbers the SDK's client uses on the same session.
  const id = `kw-${++nextId}`;
  const withProgress = options.onprogress ? { ...params, _meta: { ...((params._meta as object | undefined) ?? {}), progressToken: id } } : params;
  const body = JSON.stringify({ jsonrpc: '2.0', id, method, params: withProgress });
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  if (target.sessionId) headers['mcp-session-id'] = target.sessionId;
  if (target.protocolVersion) headers['mcp-protocol-version'] = target.protocolVersion;
  const credential = await target.auth.header(fresh);
  if (credential) headers[credential[0]] = credential[1];

  let res: Dispatcher.ResponseData;
  try {
    // undici's own timeouts, no timer or AbortController of ours per call: the body
    // timeout restarts with every chunk, so progress events keep a long call alive.
    res = await target.dispatcher.request({
      origin: target.url.origin, path: target.url.pathname + target.url.search, method: 'POST', headers, body,
      signal: options.signal, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs,
    });
  } catch (err) {
    throw transportError(err, target, headers, id, options.signal);
  }
  if (res.statusCode === 404 && target.sessionId) {
    await res.body.dump();
    throw new NotDelivered('the upstream session is gone');
  }
  if (res.statusCode === 401 && target.auth.refreshable && !fresh) {
    await res.body.dump();
    return directCall(target, method, params, options, true);
  }
  const type = String(res.headers['content-type'] ?? '');
  if (res.statusCode < 200 || res.statusCode >= 300) {
    const text = await res.body.text().catch(() => '');
    const answer = parseAnswer(text, id);
    if (answer) return answer;
    throw Object.assign(new Error(`the upstream answered HTTP ${res.statusCode}`), { status: res.statusCode });
  }
  if (!type.startsWith('text/event-stream')) return parseAnswer(await res.body.text(), id) ?? missing();

  // SSE: events until the one that answers our id; progress for it is relayed. The rest
  // of the stream is read to its end (the upstream closes it after its last response):
  // destroying it would cost an error object per call.
  return await new Promise<Record<string, unknown>>((resolve, reject) => {
    let done = false;
    const parser = new SseParser((_event, data) => {
      if (done) return;
      const message = parseJson(data);
      if (!message) return;
      if (message.method === 'notifications/progress' && options.onprogress) {
        const p = message.params as Record<string, unknown> | undefined;
        if (p && p.progressToken === id) options.onprogress(p);
        return;
      }
      if (message.id !== id) return;
      done = true;
      try {
        resolve(settle(message));
      } catch (err) {
        reject(err);
      }
    });
    res.body.on('data', (chunk: Buffer) => {
      if (!done) parser.push(chunk);
    });
    res.body.on('end', () => {
      if (done) return;
      parser.end();
      if (!done) reject(new Error('the upstream ended its answer without a response'));
    });
    res.body.on('error', (err) => {
      if (!done) reject(transportError(err, target, headers, id, options.signal));
    });
  });
}

/** transportError classifies a failed exchange, telling the upstream when the client cancelled. */
function transportError(err: unknown, target: DirectTarget, headers: Record<string, string>, id: string, signal: AbortSignal | undefined): Error {
  if (signal?.aborted) {
    cancelUpstream(target, headers, id);
    return err as Error;
  }
  const code = (err as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return new DirectTimeout('no answer in time');
  if (code === 'ECONNREFUSED') return new NotDelivered('connection refused', { cause: err });
  return err as Error;
}

function cancelUpstream(target: DirectTarget, headers: Record<string, string>, id: string): void {
  const body = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'the client cancelled the request' } });
  target.dispatcher
    .request({ origin: target.url.origin, path: target.url.pathname + target.url.search, method: 'POST', headers, body })
    .then((r) => r.body.dump(), () => {});
}

function parseAnswer(text: string, id: string): Record<string, unknown> | undefined {
  const message = parseJson(text);
  if (!message) return undefined;
  // A batch answer to a single request is unusual but legal: find ours.
  const one = Array.isArray(message) ? (message as Array<Record<string, unknown>>).find((m) => m?.id === id) : message;
  return one && one.id === id ? settle(one) : undefined;
}

function settle(message: Record<string, unknown>): Record<string, unknown> {
  const error = message.error as { code?: unknown; message?: unknown; data?: unknown } | undefined;
  if (error && typeof error === 'object') throw new UpstreamRpcError(typeof error.code === 'number' ? error.code : -32603, String(error.message ?? 'error'), error.data);
  const result = message.result;
  if (result === null || typeof result !== 'object' || Array.isArray(result)) throw new UpstreamRpcError(-32603, 'the upstream answered without a result object', undefined);
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
