import type { MockOAuth } from './oauth.js';

// Public API types of the mock upstream, plus the small internal vocabulary shared by the
// per-format modules (so each format file only knows about plans and frames, not about HTTP).

export interface MockUpstreamOptions {
  /** Interface to bind, default 127.0.0.1. */
  host?: string;
  /** Port, default 0 (ephemeral). */
  port?: number;
  /** Fixed delay before the response headers, default 0. */
  latencyMs?: number;
  /** Default number of text (or tool-argument) delta chunks in a stream, default 3. */
  chunks?: number;
  /** Delay between SSE events, default 0 (all events written in one tick, each with its own write). */
  chunkIntervalMs?: number;
  /** Record requests (default true). The benchmark turns it off so memory stays flat. */
  record?: boolean;
  /** Pad the reply text so that a non-streaming JSON reply is about this many bytes. */
  responseBytes?: number;
  /**
   * Accept a key whatever its prefix (default false: an Anthropic key must start with
   * `sk-ant-`, an OpenAI key with `sk-`, a Google key with `AIza`; see credentials.ts).
   * Keys containing "invalid" or "wrong" are refused either way.
   */
  acceptAnyKey?: boolean;
  /** Called once per finished/closed response with a one-line summary (used by the CLI). */
  log?: (line: string) => void;
  /**
   * IAM credentials whose SigV4 signatures the Bedrock routes accept (MOCK_AWS_CREDENTIALS
   * always). A SigV4 request signed with another key, or wrongly, gets Bedrock's 403.
   */
  awsCredentials?: ReadonlyArray<{ accessKeyId: string; secretAccessKey: string }>;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Raw query including the leading '?', or ''. */
  query: string;
  /** Lower-cased names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: string;
  json: unknown | undefined;
  receivedAt: number;
  /** True if the client disconnected before the response finished. */
  aborted: boolean;
  /** For a SigV4-signed request: what the verifier found (`valid`, `unknown-key`, `invalid`). */
  sigv4?: 'valid' | 'unknown-key' | 'invalid';
}

export interface MockUpstream {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** The Google OAuth token endpoint (`POST /token`): issues service-account keyfiles, verifies their JWTs. */
  oauth: MockOAuth;
  /** Clear recorded requests. */
  reset(): void;
  /** Close the server and destroy every open socket (including hung requests). */
  close(): Promise<void>;
  waitForRequests(n: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Resolves with the most recent already-aborted request, or with the next one to abort. */
  waitForAbort(timeoutMs?: number): Promise<RecordedRequest>;
}

export type FormatName = 'anthropic' | 'openai-chat' | 'openai-responses' | 'gemini' | 'bedrock-invoke' | 'bedrock-converse';

/** A tool definition pulled out of a request, independent of the wire format. */
export interface ToolDef {
  name: string;
  /** JSON schema of the tool's input (may be undefined or in Gemini's upper-case dialect). */
  schema: unknown;
}

/** What the mock needs to know about a parsed request body. */
export interface Inspection {
  model: string;
  stream: boolean;
  tools: ToolDef[];
  /** Text of the tool result when the last turn is a tool result, else undefined. */
  toolResult: string | undefined;
  /** OpenAI chat: stream_options.include_usage. */
  includeUsage: boolean;
  /** Gemini JSON mode: schema the reply text must satisfy. */
  jsonSchema?: unknown;
}

/** Everything a format module needs to render one reply, JSON or stream. */
export interface Plan {
  format: FormatName;
  model: string;
  /** Per-server sequence number, used to derive ids. */
  seq: number;
  created: number;
  /** Final text (text replies) or the tool-call arguments JSON (tool replies). */
  text: string;
  /** `text` split into the stream's delta chunks; concatenation gives `text` exactly. */
  pieces: string[];
  tool: { name: string; input: Record<string, unknown> } | undefined;
  inputTokens: number;
  outputTokens: number;
  cacheRead: number;
  cacheWrite: number;
  includeUsage: boolean;
}

export interface FormatAdapter {
  readonly name: FormatName;
  /** JSON error body for a status, in the format's own envelope. */
  errorBody(status: number, message?: string): string;
  inspect(body: Record<string, unknown>, urlModel: string): Inspection;
  json(plan: Plan): unknown;
  /** Fully encoded stream frames (one `res.write` each): SSE text, or binary event-stream messages. */
  frames(plan: Plan): Array<string | Uint8Array>;
  /** Extra response headers for this format (request ids etc.). */
  headers(seq: number): Record<string, string>;
  /** Headers of an error reply besides the body (Bedrock's `x-amzn-ErrorType`). */
  errorHeaders?(status: number): Record<string, string>;
  /** Content type of a stream reply; SSE when undefined. */
  streamContentType?: string;
  /** Extra headers of a stream reply. */
  streamHeaders?(): Record<string, string>;
  /** Extra headers of a JSON reply that depend on the reply (Bedrock's token counts). */
  planHeaders?(plan: Plan): Record<string, string>;
}
