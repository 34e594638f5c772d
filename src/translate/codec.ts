/**
 * A Codec converts one API format to and from the canonical shape (canonical.ts): the
 * client side decodes requests and encodes answers, the upstream side encodes requests
 * and decodes answers, JSON and stream alike. One codec per format; the registry in
 * codecs.ts lists them. Codecs are pure: no I/O, no clock but `created` stamps.
 */
import type { FormatFlag } from '../config/types.js';
import type { ApiFormat } from '../formats/types.js';
import type { CanonRequest, CanonResponse, CanonSink } from './canonical.js';
import type { JsonObject } from './util.js';

/** The request a codec builds for its API: where it goes and what it says. */
export interface UpstreamCall {
  /** Path (and, for Gemini streams, `?alt=sse`) appended to the provider's baseurl. */
  path: string;
  body: JsonObject;
  /** Headers this API requires beyond the credential (Anthropic's `anthropic-version`). */
  headers: ReadonlyArray<readonly [string, string]>;
}

/** StreamDecoder reads one upstream stream, SSE event by SSE event, into canonical events. */
export interface StreamDecoder {
  event(name: string | undefined, data: string): void;
  /** The upstream stream ended (cleanly or not); emits what an API without a closing event implies. */
  end(): void;
}

/** StreamEncoder writes canonical events as the client's stream; `take` returns the text produced so far. */
export interface StreamEncoder extends CanonSink {
  readonly contentType: string;
  take(): string;
}

export interface Codec {
  readonly flag: FormatFlag;
  /** The format module: error envelopes and stream error events. */
  readonly format: ApiFormat;

  /** decodeRequest reads a client's body; throws UNTRANSLATABLE (400) for what cannot be carried. */
  decodeRequest(body: JsonObject, stream: boolean): CanonRequest;
  /** encodeResponse writes a whole answer in the client's API. */
  encodeResponse(res: CanonResponse, req: CanonRequest): JsonObject;
  /** createStreamEncoder writes a streamed answer in the client's API; `sse` is false only for Gemini's JSON-array streams. */
  createStreamEncoder(req: CanonRequest, sse: boolean): StreamEncoder;
  /** countTokensBody answers a token count in the client's API (a local estimate for translated models). */
  countTokensBody(tokens: number): JsonObject;

  /**
   * encodeRequest builds the upstream request for `upstreamModel`; throws UNTRANSLATABLE for
   * what this API cannot take. `upstream` names the service (`openai`, `self-hosted`, …).
   */
  encodeRequest(req: CanonRequest, upstreamModel: string, upstream?: string): UpstreamCall;
  /** decodeResponse reads an upstream JSON answer; undefined when it is not one. */
  decodeResponse(body: unknown): CanonResponse | undefined;
  createStreamDecoder(sink: CanonSink): StreamDecoder;
}
