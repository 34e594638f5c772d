/**
 * The `x-keyway-request-id` header, on every answer to a recorded request (keyway's own
 * errors too), so any reply can be found in the logs and the request log.
 *
 * The id rides on the response object and each writer adds it to the headers it hands to
 * `writeHead`, instead of `res.setHeader` up front: a header set before `writeHead` sends
 * Node down its merging path, which validates and copies every relayed header again
 * (about 4 µs a request at full load, measured with `--only profile`).
 */
import type { ServerResponse } from 'node:http';

const REQUEST_ID_HEADER = 'x-keyway-request-id';

const REQUEST_ID = Symbol('keyway.requestId');

interface Tagged {
  [REQUEST_ID]?: string;
}

/** tagRequestId marks the answer `res` will carry as the one of request `id`. */
export function tagRequestId(res: ServerResponse, id: string): void {
  (res as Tagged)[REQUEST_ID] = id;
}

/** withRequestId adds the response's request id, if it has one, to `headers` (and returns them). */
export function withRequestId<H extends Record<string, string | number | string[]>>(res: ServerResponse, headers: H): H {
  const id = (res as Tagged)[REQUEST_ID];
  if (id !== undefined) (headers as Record<string, string>)[REQUEST_ID_HEADER] = id;
  return headers;
}
