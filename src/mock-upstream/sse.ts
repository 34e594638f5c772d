// Wire delivery: SSE frame encoding and the writer that puts a reply on the socket with the
// scenario's timing and failure modes (latency, per-event interval, gzip with sync flushes,
// die-midstream). Each SSE frame is its own write so the gateway's streaming is observable.

import type { ServerResponse } from 'node:http';
import { constants as zc, createGzip, gzip } from 'node:zlib';

/** `event:` + `data:` frame (Anthropic, OpenAI Responses). */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Data-only frame (OpenAI chat). */
export function dataFrame(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

export const JSON_TYPE = 'application/json';
export const SSE_TYPE = 'text/event-stream; charset=utf-8';

/** A fully computed reply: either a body or a list of frames (text or binary) written one by one. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body?: string;
  frames?: Array<string | Uint8Array>;
}

export interface Delivery {
  delayMs: number;
  intervalMs: number;
  die: boolean;
  gzip: boolean;
  /** Called right before the mock deliberately destroys the socket (not a client abort). */
  onKill: () => void;
}

/** Deliver `reply` on `res`, honouring delays and failure modes. Never throws. */
export function deliver(res: ServerResponse, reply: Reply, d: Delivery): void {
  if (d.delayMs <= 0) return start(res, reply, d);
  const timer = setTimeout(() => start(res, reply, d), d.delayMs);
  // A hung-up client or close() must not leave a long `slow=` timer holding the event loop.
  res.once('close', () => clearTimeout(timer));
}

function start(res: ServerResponse, reply: Reply, d: Delivery): void {
  if (res.destroyed) return;
  if (reply.frames) writeFrames(res, reply, reply.frames, d);
  else writeBody(res, reply, reply.body ?? '', d);
}

function kill(res: ServerResponse, d: Delivery): void {
  d.onKill();
  res.destroy();
}

function writeBody(res: ServerResponse, reply: Reply, body: string, d: Delivery): void {
  if (d.gzip) {
    gzip(body, (err, buf) => {
      if (res.destroyed) return;
      if (err) return kill(res, d);
      res.writeHead(reply.status, { ...reply.headers, 'content-encoding': 'gzip', 'content-length': String(buf.length) });
      if (!d.die) return void res.end(buf);
      res.write(buf.subarray(0, buf.length >> 1), () => setImmediate(kill, res, d));
    });
    return;
  }
  if (!d.die) {
    reply.headers['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(reply.status, reply.headers);
    res.end(body);
    return;
  }
  // Announce the full length, send half, then drop the connection: a truncated body.
  const buf = Buffer.from(body);
  res.writeHead(reply.status, { ...reply.headers, 'content-length': String(buf.length) });
  res.write(buf.subarray(0, buf.length >> 1), () => setImmediate(kill, res, d));
}

/** The part of a stream we write to: the response itself or a gzip stream piped into it. */
interface Sink {
  write(chunk: string | Uint8Array, cb?: () => void): unknown;
  end(chunk: string | Uint8Array): unknown;
}

function writeFrames(res: ServerResponse, reply: Reply, frames: Array<string | Uint8Array>, d: Delivery): void {
  let sink: Sink = res;
  if (d.gzip) {
    // Z_SYNC_FLUSH on every write: each event comes out of zlib as soon as it goes in, so a
    // gzip-encoded stream still streams (and each compressed event is its own res.write).
    const gz = createGzip({ flush: zc.Z_SYNC_FLUSH });
    gz.on('error', () => res.destroy());
    res.once('close', () => gz.destroy());
    gz.pipe(res);
    sink = gz;
    reply.headers['content-encoding'] = 'gzip';
  }
  res.writeHead(reply.status, reply.headers);
  if (frames.length === 0) return void sink.end('');
  const n = d.die ? Math.max(1, frames.length >> 1) : frames.length;
  let i = 0;
  let timer: NodeJS.Timeout | undefined;
  if (d.intervalMs > 0) res.once('close', () => clearTimeout(timer));
  const step = (): void => {
    while (i < n) {
      if (res.destroyed) return;
      const frame = frames[i++];
      if (i === n) {
        if (d.die) sink.write(frame, () => setImmediate(kill, res, d));
        else sink.end(frame);
        return;
      }
      sink.write(frame);
      if (d.intervalMs > 0) {
        timer = setTimeout(step, d.intervalMs);
        return;
      }
    }
  };
  // With no interval every event is written in this tick anyway; corking turns N syscalls into
  // one writev (a large share of the benchmark's CPU) while each event stays its own res.write
  // and its own HTTP chunk. Use interval>0 to make per-event delivery observable in time.
  const batch = d.intervalMs <= 0 && !d.gzip;
  if (batch) res.cork();
  step();
  if (batch && !res.writableEnded) res.uncork();
}
