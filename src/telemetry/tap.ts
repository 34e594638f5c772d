/**
 * ResponseTap reads a copy of an answer while it is relayed: it decompresses the copy if
 * needed, splits a stream (SSE, or an AWS event stream) into events or collects a JSON
 * body, and feeds the format's ResponseReader. It never touches the bytes that go to the
 * client and never throws into the relay; anything it cannot read simply yields no usage.
 */
import { createBrotliDecompress, createGunzip, createInflate, type Gunzip } from 'node:zlib';
import type { ApiFormat } from '../formats/types.js';
import type { RelayObserver } from '../upstream/proxy.js';
import { streamParserFor, type StreamParser } from './stream-parser.js';
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
  /**
   * With `keepRaw`: every SSE event's data, each parsed when it is JSON, or the one parsed
   * JSON answer (hooks' `raw_responses`). undefined otherwise, or when nothing was read.
   */
  raw?: unknown;
  /** `summary.reassembled` as JSON text, when reading the answer produced it anyway (hooks reuse it). */
  answerJson?: string;
}

export class ResponseTap implements RelayObserver {
  private ttfb: number | null = null;
  private headers: Record<string, string | string[] | undefined> = {};
  private reader: ResponseReader | undefined;
  /** The stream's event parser (SSE or AWS event stream); undefined for a JSON answer. */
  private sse: StreamParser | undefined;
  private decoder: Gunzip | undefined;
  private decoderDone: Promise<void> | undefined;
  /** A JSON answer's bytes, up to PARSE_LIMIT. */
  private chunks: Buffer[] = [];
  /** A stream's first `captureLimit` bytes, as text. */
  private rawText = '';
  /** Bytes kept in `chunks` or `rawText`. */
  private kept = 0;
  private bytes = 0;
  private unreadable = false;
  /** With keepRaw: the data of each SSE event so far, and their total length. */
  private events: string[] | undefined;
  private eventBytes = 0;

  constructor(
    private readonly format: ApiFormat,
    private readonly startedAt: number,
    /** Most characters of the answer kept for a capture; 0 keeps none. */
    private readonly captureLimit: number,
    /** Keep every event's data for `raw_responses` (a hook asks for it), up to PARSE_LIMIT. */
    private readonly keepRaw = false,
  ) {}

  onResponseStart(_status: number, headers: Record<string, string | string[] | undefined>): void {
    this.ttfb = performance.now() - this.startedAt;
    this.headers = headers;
    this.reader = this.format.createResponseReader();
    this.reader.responseHeaders?.(headers);
    const reader = this.reader;
    // With keepRaw every event's data is kept too (hooks sent `raw_responses`), up to the parse limit.
    const events: string[] | undefined = this.keepRaw ? [] : undefined;
    this.sse = streamParserFor(
      String(headers['content-type'] ?? ''),
      events
        ? (event, data) => {
            if (this.eventBytes + data.length <= PARSE_LIMIT) {
              events.push(data);
              this.eventBytes += data.length;
            }
            reader.sseEvent(event, data);
          }
        : (event, data) => reader.sseEvent(event, data),
    );
    // Only a stream has events; a JSON answer is its own raw response.
    if (events && this.sse) this.events = events;
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
      this.bytes += chunk.length;
      if (this.sse) {
        this.sse.push(chunk);
        // The raw stream is the capture only if reassembly fails. It is kept as text: a
        // chunk may be a view into a much larger socket buffer, which keeping the chunk
        // would hold in memory for as long as the stream lasts.
        const room = this.captureLimit - this.kept;
        if (room > 0) {
          this.rawText += chunk.toString('utf8', 0, Math.min(chunk.length, room));
          this.kept += Math.min(chunk.length, room);
        }
        return;
      }
      // A JSON answer is decoded once at the end, into the text that is parsed and captured.
      if (this.kept + chunk.length <= PARSE_LIMIT) {
        this.chunks.push(chunk);
        this.kept += chunk.length;
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
    let body: string | undefined;
    let raw: unknown;
    let parsed: unknown;
    let answerJson: string | undefined;
    if (!this.sse) body = this.chunks.length === 1 ? this.chunks[0]!.toString('utf8') : Buffer.concat(this.chunks).toString('utf8');
    if (this.reader && !this.unreadable) {
      try {
        if (this.sse) this.sse.end();
        else if (this.bytes > 0 && this.bytes <= PARSE_LIMIT) {
          parsed = JSON.parse(body!);
          if (this.keepRaw) raw = parsed;
          this.reader.json(parsed);
        }
      } catch {
        // not JSON (an HTML error page, say): no usage
      }
      summary = this.reader.finish();
    }
    if (this.events) raw = this.events.map(parseData);
    this.events = undefined;
    let bodyTruncated = this.bytes > this.kept;
    // The reader kept the very object it was given: the text it was parsed from is its JSON.
    if (parsed !== undefined && summary?.reassembled === parsed && !bodyTruncated) answerJson = body;
    if (this.sse && this.captureLimit > 0 && summary?.reassembled !== undefined) {
      const json = JSON.stringify(summary.reassembled);
      answerJson = json;
      if (json.length <= this.captureLimit) {
        body = json;
        bodyTruncated = false;
      }
    }
    if (body === undefined) body = this.rawText;
    this.chunks = [];
    if (body.length > this.captureLimit) {
      body = body.slice(0, this.captureLimit);
      bodyTruncated = true;
    }
    const result: TapResult = { summary, ttfbMs: this.ttfb, responseHeaders: this.headers, body, bodyTruncated };
    if (raw !== undefined) result.raw = raw;
    if (answerJson !== undefined) result.answerJson = answerJson;
    return result;
  }
}

/** parseData reads one event's data as JSON, or keeps the text (OpenAI's `[DONE]`). */
function parseData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}
