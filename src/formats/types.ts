/**
 * An ApiFormat is one provider API that keyway speaks natively (OpenAI chat, Anthropic
 * messages, …). Each lives in its own file and knows only its own conventions: which
 * paths it serves, where the model name is, and how its errors look. Nothing in a format
 * module depends on another format. A new format is one new file plus one registry line.
 */
import type { CompiledProvider } from '../config/snapshot.js';
import type { FormatFlag } from '../config/types.js';
import type { ResponseReader } from '../telemetry/usage.js';

export interface ApiFormat {
  /** The `compatibility` flag a provider must set to serve this format. */
  readonly flag: FormatFlag;
  /** The canonical endpoints listed in `/v1/models` `supported_endpoints`. */
  readonly endpoints: readonly string[];
  /** Query parameters that carry a credential in this API (Gemini's `?key=`), lower case. */
  readonly credentialQueryParams: readonly string[];
  /** How this API's clients are given their own key: the advice when a request carries none. */
  readonly credentialHint: string;
  /**
   * renderError returns the JSON body of an error response in this API's envelope. `code`
   * is the catalogue code in snake case (`quota_exceeded`), for APIs that name errors.
   */
  renderError(status: number, code: string, message: string): string;
  /**
   * errorHeaders returns the headers an error response carries besides its body, for APIs
   * whose clients read the error's type there (Bedrock's `x-amzn-ErrorType`).
   */
  errorHeaders?(status: number, code: string): Record<string, string>;
  /**
   * renderStreamError returns the event that tells this API's clients a stream failed: SSE
   * text, or bytes for binary streams (Bedrock's event-stream exception frame).
   */
  renderStreamError(status: number, code: string, message: string): string | Uint8Array;
  /**
   * After that event, cut the connection instead of ending the stream cleanly: for APIs
   * whose clients ignore the event and would take a cleanly ended stream as complete.
   */
  readonly abortAfterStreamError?: boolean;
  /**
   * createResponseReader returns a fresh reader for one answer in this API (usage, tool
   * calls, stop reason, reassembly). Readers are cheap, single-use and never throw.
   */
  createResponseReader(): ResponseReader;
  /**
   * userMessage returns the text of the request's last user message, for hooks that ask
   * for `user_message`; undefined when the body has none (or the format cannot say).
   */
  userMessage?(body: Record<string, unknown>): string | undefined;
  /** How keyway itself talks in this API (chat UI, model tests). */
  readonly conversation: ConversationAdapter;
  /**
   * For keyway's own calls to a provider that serves several APIs (Vertex: Gemini and
   * Claude): whether a model name is one this API carries. Undefined: any model.
   */
  servesModel?(model: string): boolean;
}

/** One turn of a conversation keyway sends on a user's behalf. */
export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

/**
 * ConversationAdapter is what keyway needs to hold a plain-text conversation in an API
 * when the request starts on the server (chat UI, the dashboard's Test button).
 */
export interface ConversationAdapter {
  /** request builds the call as a client would send it to keyway: path, headers and body. */
  request(model: string, turns: readonly ChatTurn[], options: { system?: string; stream: boolean; maxTokens: number }): {
    path: string;
    headers: Record<string, string>;
    body: Record<string, unknown>;
  };
  /** streamText returns the answer text one stream event adds ('' for none). */
  streamText(event: string | undefined, data: string): string;
  /** answerText returns the text of a non-streaming answer. */
  answerText(body: unknown): string;
  /** errorMessage returns an error body's message as the provider worded it. */
  errorMessage(body: unknown): string | undefined;
  /**
   * streamError returns the message of a stream event that reports a failure, for APIs
   * whose failure events do not carry an `error` object (Bedrock's exception frames).
   */
  streamError?(event: string | undefined, data: string): string | undefined;
}

/**
 * A RouteMatch is what a request path means: which format, which upstream path to append
 * to the provider's `baseurl`, and, for APIs that carry it in the URL, the model name.
 */
export interface RouteMatch {
  format: ApiFormat;
  /** Path appended to the provider's baseurl (without query). */
  upstreamPath: string;
  /** The model named in the URL (Gemini, Bedrock), already percent-decoded; undefined when it is in the body. */
  urlModel?: string;
  /** Rebuilds `upstreamPath` for another model name (URL-model formats only). */
  withModel?: (model: string) => string;
  /** Whether the URL itself asks for a stream (Gemini `:streamGenerateContent`, Bedrock `/converse-stream`). */
  urlStreams?: boolean;
  /**
   * Builds the upstream path once the provider is chosen, for paths that depend on it
   * (Vertex fills its project placeholder from the provider's keyfile). Throws a
   * GatewayError when this provider cannot serve the path. Takes precedence over withModel.
   */
  upstreamPathFor?: (provider: CompiledProvider, upstreamModel: string) => string;
  /** Returns the body to forward in place of the client's, or undefined to keep it as sent. */
  rewriteBody?: (body: Record<string, unknown>) => string | undefined;
}

/** snakeCase turns a catalogue code (`UNKNOWN_MODEL`) into an API error code (`unknown_model`). */
export function snakeCase(code: string): string {
  return code.toLowerCase();
}
