/**
 * A capture as bytes: how captures travel to the telemetry worker and how they are stored
 * (db/capture-blocks.ts). A batch's captures are written one after another into one
 * buffer that is transferred to the worker, not cloned field by field, and the worker
 * stores those bytes as they are, without decoding them; it sends the buffer back with
 * its answer, so the next batch is written into memory that is already mapped (a fresh
 * megabyte per batch cost a page fault every few captures).
 *
 * Layout: one flags byte, then six fields, each a little-endian u32 byte length and UTF-8:
 * request headers (JSON), request body, response headers (JSON), response body, upstream
 * request body, upstream response body. The request id is not in it: the record has it.
 */
import type { Capture } from './record.js';

const REQUEST_TRUNCATED = 1;
const RESPONSE_TRUNCATED = 2;
const HAS_UPSTREAM_REQUEST = 4;
const HAS_UPSTREAM_RESPONSE = 8;

const FIELDS = 6;
const HEADER_BYTES = 1 + FIELDS * 4;

/** CaptureWriter writes captures one after another into one buffer, growing it when needed. */
export class CaptureWriter {
  private buf: Buffer;
  private used = 0;

  /** `reuse`: a buffer a previous batch was written into (its bytes are overwritten). */
  constructor(reuse?: ArrayBuffer) {
    this.buf = Buffer.from(reuse ?? new ArrayBuffer(64 * 1024));
  }

  get length(): number {
    return this.used;
  }

  /** add writes one capture (or copies one already encoded) and returns its byte length. */
  add(c: Capture | Uint8Array): number {
    if (c instanceof Uint8Array) {
      this.room(c.byteLength);
      this.buf.set(c, this.used);
      this.used += c.byteLength;
      return c.byteLength;
    }
    const requestHeaders = JSON.stringify(c.requestHeaders);
    const responseHeaders = JSON.stringify(c.responseHeaders);
    const upReq = c.upstreamRequestBody ?? '';
    const upRes = c.upstreamResponseBody ?? '';
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    this.room(HEADER_BYTES + 3 * (requestHeaders.length + c.requestBody.length + responseHeaders.length + c.responseBody.length + upReq.length + upRes.length));
    const buf = this.buf;
    const start = this.used;
    buf[start] =
      (c.requestTruncated ? REQUEST_TRUNCATED : 0) |
      (c.responseTruncated ? RESPONSE_TRUNCATED : 0) |
      (c.upstreamRequestBody !== null ? HAS_UPSTREAM_REQUEST : 0) |
      (c.upstreamResponseBody !== null ? HAS_UPSTREAM_RESPONSE : 0);
    let at = put(buf, start + 1, requestHeaders);
    at = put(buf, at, c.requestBody);
    at = put(buf, at, responseHeaders);
    at = put(buf, at, c.responseBody);
    at = put(buf, at, upReq);
    at = put(buf, at, upRes);
    this.used = at;
    return at - start;
  }

  /** buffer is the whole buffer (to transfer): the captures are its first `length` bytes. */
  get buffer(): ArrayBuffer {
    return this.buf.buffer as ArrayBuffer;
  }

  /** bytes is a view of what was written. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.used);
  }

  private room(bytes: number): void {
    if (this.used + bytes <= this.buf.length) return;
    const bigger = Buffer.from(new ArrayBuffer(Math.max(2 * this.buf.length, this.used + bytes)));
    bigger.set(this.buf.subarray(0, this.used));
    this.buf = bigger;
  }
}

/** put writes one field (its length, then its UTF-8) at `at` and returns where the next one starts. */
function put(buf: Buffer, at: number, text: string): number {
  const n = text.length === 0 ? 0 : buf.write(text, at + 4, 'utf8');
  buf[at] = n;
  buf[at + 1] = n >>> 8;
  buf[at + 2] = n >>> 16;
  buf[at + 3] = n >>> 24;
  return at + 4 + n;
}

/** encodeCapture returns one capture's bytes. */
export function encodeCapture(c: Capture): Uint8Array {
  const w = new CaptureWriter(new ArrayBuffer(1024));
  w.add(c);
  return w.bytes();
}

/** A stored capture's parts as text, the headers still JSON (what the export and the API read). */
export interface CaptureFields {
  requestHeaders: string;
  requestBody: string;
  requestTruncated: boolean;
  responseHeaders: string;
  responseBody: string;
  responseTruncated: boolean;
  upstreamRequestBody: string | null;
  upstreamResponseBody: string | null;
  /** Bytes the capture takes. */
  length: number;
}

function view(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** captureFields reads the capture that starts at `offset` of `bytes`. */
export function captureFields(bytes: Uint8Array, offset = 0): CaptureFields {
  const buf = view(bytes);
  const flags = buf[offset]!;
  const texts: string[] = [];
  let at = offset + 1;
  for (let i = 0; i < FIELDS; i++) {
    const n = buf.readUInt32LE(at);
    texts.push(n === 0 ? '' : buf.toString('utf8', at + 4, at + 4 + n));
    at += 4 + n;
  }
  return {
    requestHeaders: texts[0]!,
    requestBody: texts[1]!,
    requestTruncated: (flags & REQUEST_TRUNCATED) !== 0,
    responseHeaders: texts[2]!,
    responseBody: texts[3]!,
    responseTruncated: (flags & RESPONSE_TRUNCATED) !== 0,
    upstreamRequestBody: flags & HAS_UPSTREAM_REQUEST ? texts[4]! : null,
    upstreamResponseBody: flags & HAS_UPSTREAM_RESPONSE ? texts[5]! : null,
    length: at - offset,
  };
}

/** requestHeadersText reads only the request headers (JSON) of the capture at `offset`: the header filter's question. */
export function requestHeadersText(bytes: Uint8Array, offset = 0): string {
  const buf = view(bytes);
  const n = buf.readUInt32LE(offset + 1);
  return buf.toString('utf8', offset + 5, offset + 5 + n);
}

/**
 * requestHeaderValue is one request header's value in the capture at `offset` (names are
 * lower-case), or null: the header filter's question, in both stores. A name is a key,
 * never a property of the object (`constructor` matches nothing).
 */
export function requestHeaderValue(bytes: Uint8Array, offset: number, name: string): string | null {
  const headers = JSON.parse(requestHeadersText(bytes, offset)) as Record<string, string>;
  return Object.hasOwn(headers, name) ? headers[name]! : null;
}

/** decodeCapture gives back the capture at `offset` of `bytes` as the recorder had it. */
export function decodeCapture(bytes: Uint8Array, requestId: string, offset = 0): Capture {
  return captureFromFields(captureFields(bytes, offset), requestId);
}

export function captureFromFields(f: CaptureFields, requestId: string): Capture {
  return {
    requestId,
    requestHeaders: JSON.parse(f.requestHeaders) as Record<string, string>,
    requestBody: f.requestBody,
    requestTruncated: f.requestTruncated,
    responseHeaders: JSON.parse(f.responseHeaders) as Record<string, string>,
    responseBody: f.responseBody,
    responseTruncated: f.responseTruncated,
    upstreamRequestBody: f.upstreamRequestBody,
    upstreamResponseBody: f.upstreamResponseBody,
  };
}
