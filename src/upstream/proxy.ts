/**
 * forwardRequest sends one request to a provider and relays the answer to the client as
 * bytes, as they arrive: status, headers (minus hop-by-hop), body. Nothing is buffered,
 * so SSE events reach the client one by one; backpressure from a slow client pauses the
 * upstream read; a client that goes away aborts the upstream request.
 */
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { upstreamErrorFromTransport, type GatewayError } from '../errors.js';
import type { ApiFormat } from '../formats/types.js';
import { snakeCase } from '../formats/types.js';
import { withRequestId } from '../server/request-id.js';
import { sendError } from '../server/respond.js';
import { filterResponseHeaders, type HeaderList } from './headers.js';

export interface ForwardOptions {
  dispatcher: Dispatcher;
  method: string;
  /** Path and query on the upstream origin. */
  path: string;
  headers: HeaderList;
  body: Buffer | null;
  /** How keyway's own errors look to this client (a format, or keyway's own envelope). */
  format: ErrorEnvelope;
  /** Sees a copy of the answer (after each write to the client), e.g. for usage accounting. */
  observer?: RelayObserver;
}

export type ErrorEnvelope = Pick<ApiFormat, 'renderError' | 'renderStreamError' | 'abortAfterStreamError'>;

/** RelayObserver watches an answer go by; it must never throw or hold the relay up. */
export interface RelayObserver {
  onResponseStart(status: number, headers: Record<string, string | string[] | undefined>): void;
  onData(chunk: Buffer): void;
}

/** ForwardOutcome reports how a relay ended, for logs and telemetry. */
export interface ForwardOutcome {
  status: number;
  /** Set when keyway, not the upstream, ended the exchange with an error. */
  error?: GatewayError;
  clientAborted: boolean;
}

export function forwardRequest(res: ServerResponse, opts: ForwardOptions): Promise<ForwardOutcome> {
  return new Promise((resolve) => {
    const relay = new Relay(res, opts.format, opts.observer, resolve);
    opts.dispatcher.dispatch(
      { method: opts.method, path: opts.path, headers: opts.headers, body: opts.body },
      relay,
    );
  });
}

type Controller = Dispatcher.DispatchController;

class Relay implements Dispatcher.DispatchHandler {
  private controller: Controller | undefined;
  private status = 0;
  private streaming = false;
  private clientGone = false;
  private settled = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly format: ErrorEnvelope,
    private readonly observer: RelayObserver | undefined,
    private readonly done: (outcome: ForwardOutcome) => void,
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
    if (statusCode < 200) return; // 1xx informational: wait for the real answer
    this.status = statusCode;
    const contentType = headers['content-type'];
    // SSE, or AWS's binary event stream (Bedrock's *-stream answers).
    this.streaming = typeof contentType === 'string' && (contentType.startsWith('text/event-stream') || contentType.startsWith('application/vnd.amazon.eventstream'));
    // Headers keyway set before (CORS) are merged in by writeHead; the request id is added here.
    this.res.writeHead(statusCode, withRequestId(this.res, filterResponseHeaders(headers)));
    // Stream clients should see the status at once, even if the first event is slow.
    if (this.streaming) this.res.flushHeaders();
    this.observer?.onResponseStart(statusCode, headers);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', this.onDrain);
    }
    // The client has the bytes already; the observer only reads a copy.
    this.observer?.onData(chunk);
  }

  onResponseEnd(): void {
    this.res.end();
    this.finish(undefined);
  }

  onResponseError(_controller: Controller, err: Error): void {
    if (this.clientGone) return this.finish(undefined);
    const error = upstreamErrorFromTransport(err);
    if (!this.res.headersSent) {
      sendError(this.res, error, this.format);
      this.status = error.status;
    } else if (this.streaming && !this.res.getHeader('content-encoding')) {
      // Mid-stream: the status is gone, so end with the API's own error event. SSE text
      // starts with a blank line to close a half-sent event; a binary frame is sent as is.
      const rendered = this.format.renderStreamError(error.status, snakeCase(error.code), error.message);
      const event = typeof rendered === 'string' ? `\n\n${rendered}` : rendered;
      if (this.format.abortAfterStreamError) this.res.write(event, () => this.res.destroy());
      else this.res.end(event);
    } else {
      this.res.destroy(err);
    }
    this.finish(error);
  }

  private finish(error: GatewayError | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.res.off('close', this.onClientClose);
    this.res.off('drain', this.onDrain);
    this.done({ status: this.status, error, clientAborted: this.clientGone });
  }
}
