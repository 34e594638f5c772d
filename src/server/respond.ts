/**
 * The one place where keyway's own errors become responses. Inference routes render in
 * the caller's API format (via its format module); keyway's own API uses
 * `{"error": message, "code": CODE}`, the shape Aperture uses for its errors.
 */
import type { ServerResponse } from 'node:http';
import { GatewayError, StoreUnavailableError } from '../errors.js';
import type { ApiFormat } from '../formats/types.js';
import { snakeCase } from '../formats/types.js';
import { withRequestId } from './request-id.js';

export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  // The cause (which may name the database's address) goes to the log, not to the caller.
  if (err instanceof StoreUnavailableError) return new GatewayError('STORE_UNAVAILABLE', undefined, { cause: err, headers: { 'retry-after': '5' } });
  return new GatewayError('INTERNAL', undefined, { cause: err });
}

/** sendError writes `err` in `format`'s envelope, or keyway's own when format is undefined. */
export function sendError(res: ServerResponse, err: GatewayError, format: Pick<ApiFormat, 'renderError' | 'errorHeaders'> | undefined): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const code = snakeCase(err.code);
  const body = format
    ? format.renderError(err.status, code, err.message)
    : JSON.stringify({ error: err.message, code: err.code, ...err.details });
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...format?.errorHeaders?.(err.status, code),
    ...err.headers,
  };
  // A client that paused mid-body is not worth keeping (HTTP/2 has no Connection header).
  if (err.code === 'BODY_TIMEOUT' && res.req.httpVersionMajor < 2) headers.connection = 'close';
  res.writeHead(err.status, withRequestId(res, headers));
  res.end(body);
  if (err.code === 'BODY_TOO_LARGE') lingerWhileUploading(res);
}

const LINGER_MS = 30_000;

/**
 * After a 413 the client is usually still uploading. Closing at once would reset the
 * connection before it reads the answer (fetch() reports EPIPE instead of 413), so
 * keyway keeps reading and dropping the rest of the body (Node discards an unread body
 * once the response is finished), as nginx's lingering close does, for at most 30 s.
 */
function lingerWhileUploading(res: ServerResponse): void {
  const req = res.req;
  if (req.complete) return;
  const timer = setTimeout(() => req.socket.destroy(), LINGER_MS);
  timer.unref();
  const done = () => clearTimeout(timer);
  req.once('end', done);
  req.socket.once('close', done);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>): void {
  const body = JSON.stringify(value);
  res.writeHead(status, withRequestId(res, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers }));
  res.end(body);
}

/** sendJsonBody is sendJson for a body already serialized (and cached) as UTF-8 JSON. */
export function sendJsonBody(res: ServerResponse, status: number, body: Buffer, headers?: Record<string, string>): void {
  res.writeHead(status, withRequestId(res, { 'content-type': 'application/json', 'content-length': body.length, ...headers }));
  res.end(body);
}
