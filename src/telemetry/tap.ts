/**
 * ResponseTap reads a copy of an answer while it is relayed: it decompresses the copy if
 * needed, splits SSE into events or collects a JSON body, and feeds the format's
 * ResponseReader. It never touches the bytes that go to the client and never throws into
 * the relay; anything it cannot read simply yields no usage.
 */
import { createBrotliDecompress, createGunzip, createInflate, type Gunzip } from 'node:zlib';
import type { ApiFormat } from '../formats/types.js';
import type { RelayObserver } from '../upstream/proxy.js';
import { SseParser } from './sse-parser.js';
import type { ResponseReader, ResponseSummary } from './usage.js';

/** JSON answers larger than this are relayed but not read for usage. */
const PARSE_LIMIT = 16 * 1024 * 1024; // 16 MiB

export interface TapResult {
  summary: ResponseSummary | undefined;
  ttfbMs: number | null;
  responseHeaders: Record<string, string | string[] | undefined>;
  /** The answer for a capture: reassembled for streams, the body text otherwise. */
  body: string;
  bodyTruncated: boolean;
}

export class ResponseTap implements RelayObserver {
  private ttfb: number | null = null;
  private headers: Record<string, string | string[] | undefined> = {};
  private reader: ResponseReader | undefined;
  private sse: SseParser | undefined;
  private decoder: Gunzip | undefined;
  private decoderDone: Promise<void> | undefined;
  private chunks: Buffer[] = [];
  private bytes = 0;
  private unreadable = false;
  private rawCapture = '';
  private rawTruncated = false;

  constructor(
    private readonly format: ApiFormat,
    private readonly startedAt: number,
    /** Most characters of the answer kept for a capture; 0 keeps none. */
    private readonly captureLimit: number,
  ) {}

  onResponseStart(_status: number, headers: Record<string, string | string[] | undefined>): void {
    this.ttfb = performance.now() - this.startedAt;
    this.headers = headers;
    this.reader = this.format.createResponseReader();
    const type = String(headers['content-type'] ?? '');
    if (type.startsWith('text/event-stream')) {
      this.sse = new SseParser((event, data) => this.reader!.sseEvent(event, data));
    }
    const encoding = String(headers['content-encoding'] ?? '').trim().toLowerCase();
    if (encoding !== '' && encoding !== 'identity') {
      const decoder = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : undefined;
      if (!decoder) {
        this.unreadable = true; // e.g. zstd, which this Node cannot decode
        return;
      }
      this.decoder = decoder as Gunzip;
      decoder.on('data', (c: Buffer) => this.consume(c));
      this.decoderDone = new Promise((resolve) => {
        decoder.on('end', resolve);
        decoder.on('error', () => {
          this.unreadable = true;
          resolve();
        });
      });
    }
  }

  onData(chunk: Buffer): void {
    if (this.unreadable) return;
    if (this.decoder) this.decoder.write(chunk);
    else this.consume(chunk);
  }

  private consume(chunk: Buffer): void {
    try {
      if (this.sse) this.sse.push(chunk);
      else if (this.bytes + chunk.length <= PARSE_LIMIT) this.chunks.push(chunk);
      this.bytes += chunk.length;
      if (this.captureLimit > 0 && !this.rawTruncated) {
        const room = this.captureLimit - this.rawCapture.length;
        const text = chunk.toString('utf8');
        if (text.length <= room) this.rawCapture += text;
        else {
          this.rawCapture += text.slice(0, room);
          this.rawTruncated = true;
        }
      }
    } catch {
      this.unreadable = true;
    }
  }

  /** finish completes reading (after the relay ended) and summarises the answer. */
  async finish(): Promise<TapResult> {
    if (this.decoder) {
      this.decoder.end();
      await this.decoderDone;
    }
    let summary: ResponseSummary | undefined;
    if (this.reader && !this.unreadable) {
      try {
        if (this.sse) this.sse.end();
        else if (this.bytes > 0 && this.bytes <= PARSE_LIMIT) this.reader.json(JSON.parse(Buffer.concat(this.chunks).toString('utf8')));
      } catch {
        // not JSON (an HTML error page, say): no usage
      }
      summary = this.reader.finish();
    }
    this.chunks = [];
    let body = this.rawCapture;
    let bodyTruncated = this.rawTruncated;
    if (this.sse && summary?.reassembled !== undefined) {
      const json = JSON.stringify(summary.reassembled);
      if (json.length <= this.captureLimit) {
        body = json;
        bodyTruncated = false;
      }
    }
    return { summary, ttfbMs: this.ttfb, responseHeaders: this.headers, body, bodyTruncated };
  }
}
