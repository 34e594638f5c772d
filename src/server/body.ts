/** Reading a request body into memory, with a size limit checked as bytes arrive. */
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';

/**
 * readBody collects the whole body, failing with BODY_TOO_LARGE as soon as it (or its
 * declared Content-Length) passes `limit` bytes, without reading the rest.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new GatewayError('BAD_REQUEST', 'request body could not be read', { cause: err }));
    };
    // Armed by the front door (gateway.ts armBodyTimeout): the client paused too long.
    const onTimeout = () => {
      cleanup();
      reject(new GatewayError('BODY_TIMEOUT', 'request body was not received in time: the client paused longer than the body timeout (--body-timeout)'));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('timeout', onTimeout);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('timeout', onTimeout);
  });
}

/**
 * readJsonObject reads a body that must be a JSON object (keyway's own API). An empty body
 * reads as `{}`; anything else that is not an object is BAD_JSON.
 */
export async function readJsonObject(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const text = (await readBody(req, limit)).toString('utf8');
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new GatewayError('BAD_JSON', 'request body must be a JSON object');
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError('BODY_TOO_LARGE', `request body is larger than the ${limit}-byte limit`);
}
