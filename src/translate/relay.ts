/**
 * The translating relay: proxy.ts's Relay for a call keyway translates. It sends the
 * upstream request with undici's dispatch API and answers the client in its own API:
 *
 * - a stream is translated chunk by chunk as it arrives (stream.ts), with the same
 *   backpressure (a full client socket pauses the upstream read) and the same abort on
 *   client disconnect as the plain relay;
 * - a JSON answer is read whole (it is one object), converted, and sent;
 * - an upstream error keeps its status and Retry-After, in the client's error envelope;
 * - an error or a cut inside a stream becomes the client's stream error event.
 *
 * The observer (the telemetry tap) sees the upstream's bytes, so usage is read in the
 * provider's own format.
 */
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { GatewayError, upstreamErrorFromTransport } from '../errors.js';
import { snakeCase } from '../formats/types.js';
import { sendError } from '../server/respond.js';
import type { HeaderList } from '../upstream/headers.js';
import type { ForwardOutcome, RelayObserver } from '../upstream/proxy.js';
import type { CanonRequest } from './canonical.js';
import type { Codec } from './codec.js';
import { AnswerCollector, replayResponse, StreamTranslator } from './stream.js';
import { isObject, str } from './util.js';

/** Answers larger than this (JSON, or an error body) are not read. */
const JSON_LIMIT = 32 * 1024 * 1024;

export interface TranslatedForward {
  dispatcher: Dispatcher;
  path: string;
  headers: HeaderList;
  /** The request body as text: undici encodes it as it writes (no extra copy here). */
  body: string;
  client: Codec;
  upstream: Codec;
  request: CanonRequest;
  /** Gemini clients may ask for a JSON-array stream instead of SSE. */
  sse: boolean;
  observer: RelayObserver | undefined;
  responseHeaders: Record<string, string>;
  /** Keep the client's answer as one JSON text (for a capture). */
  collect: boolean;
}

export interface TranslatedOutcome extends ForwardOutcome {
  /** The answer as the client got it, as one JSON text, when `collect` was set. */
  clientAnswer: string | undefined;
}

export function forwardTranslated(res: ServerResponse, opts: TranslatedForward): Promise<TranslatedOutcome> {
  return new Promise((resolve) => {
    const relay = new TranslatingRelay(res, opts, resolve);
    opts.dispatcher.dispatch({ method: 'POST', path: opts.path, headers: opts.headers, body: opts.body }, relay);
  });
}

type Controller = Dispatcher.DispatchController;

/** Upstream headers worth passing on through a translation: rate limits and request ids. */
function passedHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (name === 'retry-after' || name === 'retry-after-ms' || name === 'x-request-id' || name === 'request-id' || name.startsWith('x-ratelimit-') || name.startsWith('anthropic-ratelimit-')) out[name] = value;
  }
  return out;
}

class TranslatingRelay implements Dispatcher.DispatchHandler {
  private controller: Controller | undefined;
  private status = 0;
  private mode: 'stream' | 'collect' = 'collect';
  private upstreamHeaders: Record<string, string | string[] | undefined> = {};
  private chunks: Buffer[] = [];
  private size = 0;
  private translator: StreamTranslator | undefined;
  private collector: AnswerCollector | undefined;
  private clientAnswer: string | undefined;
  private clientGone = false;
  private settled = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly opts: TranslatedForward,
    private readonly done: (outcome: TranslatedOutcome) => void,
  ) {
    res.on('close', this.onClientClose);
  }

  private readonly onClientClose = () => {
    if (this.res.writableFinished) return;
    this.clientGone = true;
    this.controller?.abort(new Error('client disconnected'));
    this.finish(undefined);
  };

  private readonly onDrain = () => this.controller?.resume();

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new Error('client disconnected'));
  }

  onResponseStart(_controller: Controller, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return;
    this.status = statusCode;
    this.upstreamHeaders = headers;
    this.opts.observer?.onResponseStart(statusCode, headers);
    const type = headers['content-type'];
    const sse = typeof type === 'string' && type.startsWith('text/event-stream');
    if (statusCode < 300 && sse && this.opts.request.stream) {
      this.mode = 'stream';
      const encoder = this.opts.client.createStreamEncoder(this.opts.request, this.opts.sse);
      if (this.opts.collect) this.collector = new AnswerCollector();
      this.translator = new StreamTranslator(this.opts.upstream, encoder, this.collector);
      const out = passedHeaders(headers);
      Object.assign(out, this.opts.responseHeaders);
      out['content-type'] = encoder.contentType;
      out['cache-control'] = 'no-cache';
      this.res.writeHead(200, out);
      this.res.flushHeaders();
    }
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.opts.observer?.onData(chunk);
    if (this.mode === 'collect') {
      if (this.size + chunk.length <= JSON_LIMIT) this.chunks.push(chunk);
      this.size += chunk.length;
      return;
    }
    const text = this.safely(() => this.translator!.push(chunk));
    if (text && !this.res.write(text)) {
      controller.pause();
      this.res.once('drain', this.onDrain);
    }
  }

  onResponseEnd(): void {
    if (this.mode === 'stream') return this.endStream();
    const text = this.size <= JSON_LIMIT ? Buffer.concat(this.chunks).toString('utf8') : '';
    this.chunks = [];
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (this.status >= 400) return this.sendUpstreamError(body, text);
    const answer = body === undefined ? undefined : this.opts.upstream.decodeResponse(body);
    if (!answer) {
      sendError(this.res, new GatewayError('UPSTREAM_BAD_ANSWER', `the provider answered ${this.status} with a body that is not a ${this.opts.upstream.flag} answer`), this.opts.client.format);
      this.status = 502;
      return this.finish(new GatewayError('UPSTREAM_BAD_ANSWER'));
    }
    if (this.opts.request.stream) {
      // Asked for a stream, got one object: the client still gets its stream.
      const encoder = this.opts.client.createStreamEncoder(this.opts.request, this.opts.sse);
      replayResponse(answer, encoder);
      this.res.writeHead(200, { ...passedHeaders(this.upstreamHeaders), ...this.opts.responseHeaders, 'content-type': encoder.contentType, 'cache-control': 'no-cache' });
      this.res.end(encoder.take());
    } else {
      const out = JSON.stringify(this.opts.client.encodeResponse(answer, this.opts.request));
      this.res.writeHead(this.status, { ...passedHeaders(this.upstreamHeaders), ...this.opts.responseHeaders, 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      this.res.end(out);
    }
    if (this.opts.collect) this.clientAnswer = JSON.stringify(this.opts.client.encodeResponse(answer, this.opts.request));
    this.finish(undefined);
  }

  /** sendUpstreamError gives the upstream's error to the client in its own envelope, status and Retry-After kept. */
  private sendUpstreamError(body: unknown, text: string): void {
    const message = this.opts.upstream.format.conversation.errorMessage(body) ?? (text.trim().slice(0, 500) || `the provider answered ${this.status}`);
    const out = this.opts.client.format.renderError(this.status, upstreamErrorCode(body, this.status), message);
    this.res.writeHead(this.status, { ...passedHeaders(this.upstreamHeaders), ...this.opts.responseHeaders, 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
    this.res.end(out);
    if (this.opts.collect) this.clientAnswer = out;
    this.finish(undefined);
  }

  private endStream(): void {
    const translator = this.translator!;
    const text = this.safely(() => translator.end());
    if (this.collector) this.clientAnswer = JSON.stringify(this.opts.client.encodeResponse(this.collector.response(), this.opts.request));
    if (translator.done) {
      this.res.end(text);
      return this.finish(undefined);
    }
    if (translator.failed) {
      // The error event is written; clients that ignore it must see a cut, not a clean end.
      if (this.opts.client.format.abortAfterStreamError) this.res.write(text, () => this.res.destroy());
      else this.res.end(text);
      return this.finish(undefined);
    }
    // The upstream closed the stream cleanly but before the answer was complete.
    const error = new GatewayError('UPSTREAM_FAILED', 'the provider ended its stream before the answer was complete');
    if (text) this.res.write(text);
    this.streamError(error);
    this.finish(error);
  }

  onResponseError(_controller: Controller, err: Error): void {
    if (this.clientGone) return this.finish(undefined);
    const error = err instanceof GatewayError ? err : upstreamErrorFromTransport(err);
    if (!this.res.headersSent) {
      sendError(this.res, error, this.opts.client.format);
      this.status = error.status;
    } else {
      this.streamError(error);
    }
    this.finish(error);
  }

  /** streamError ends a started stream with the client API's own error event. */
  private streamError(error: GatewayError): void {
    const format = this.opts.client.format;
    const event = `\n\n${format.renderStreamError(error.status, snakeCase(error.code), error.message)}`;
    if (format.abortAfterStreamError || !this.opts.sse) this.res.write(event, () => this.res.destroy());
    else this.res.end(event);
  }

  /** safely runs a translation step; a codec bug ends the stream with an error instead of crashing the process. */
  private safely(step: () => string): string {
    try {
      return step();
    } catch (err) {
      this.controller?.abort(err as Error);
      return '';
    }
  }

  private finish(error: GatewayError | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.res.off('close', this.onClientClose);
    this.res.off('drain', this.onDrain);
    this.done({ status: this.status, error, clientAborted: this.clientGone, clientAnswer: this.clientAnswer });
  }
}

/** upstreamErrorCode is the upstream's own error code or type, for the OpenAI envelope's `code`. */
function upstreamErrorCode(body: unknown, status: number): string {
  const error = isObject(body) && isObject(body.error) ? body.error : undefined;
  const code = str(error?.code) ?? str(error?.type) ?? str(error?.status);
  return code ? code.toLowerCase() : status === 429 ? 'rate_limit_exceeded' : 'upstream_error';
}
