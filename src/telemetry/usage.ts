/**
 * What keyway learns from a provider's answer: token usage, tool calls, the model the
 * provider says it used, and (for captures) the answer reassembled into one object.
 * Each API format reads its own answers (formats/*.ts `createResponseReader`); this file
 * holds only the shared vocabulary.
 */

export interface Usage {
  /** All input tokens, cached ones included. */
  inputTokens: number;
  outputTokens: number;
  /** Input tokens read from the provider's prompt cache. */
  cacheReadTokens: number;
  /** Input tokens written to the prompt cache with a 5-minute lifetime (Anthropic's default). */
  cacheWrite5mTokens: number;
  /** Input tokens written to the prompt cache with a 1-hour lifetime. */
  cacheWrite1hTokens: number;
  /** Output tokens spent on reasoning (part of outputTokens). */
  reasoningTokens: number;
  webSearchCount: number;
}

export const ZERO_USAGE: Readonly<Usage> = Object.freeze({
  inputTokens: 0,
  outputTokens: 0,
  cacheReadTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
  reasoningTokens: 0,
  webSearchCount: 0,
});

export interface ToolCall {
  name: string;
  /** The arguments as the model wrote them (JSON text), when known. */
  arguments?: string;
}

export interface ResponseSummary {
  /** undefined when the answer carried no usage at all (e.g. a stream cut before its usage event). */
  usage: Usage | undefined;
  /** The model the provider reports having used. */
  model: string | undefined;
  toolCalls: ToolCall[];
  stopReason: string | undefined;
  /** The answer as one object, the shape a non-streaming call returns, for captures. */
  reassembled: unknown;
}

/**
 * A ResponseReader is fed one answer, either as SSE events in order or as one parsed JSON
 * body, and then summarises it. It never throws: malformed input is ignored, and whatever
 * was read before an interruption is kept.
 */
export interface ResponseReader {
  /** responseHeaders sees the answer's headers first, for APIs that put usage there (Bedrock invoke). */
  responseHeaders?(headers: Record<string, string | string[] | undefined>): void;
  /** sseEvent reads one stream event: SSE, or an AWS event-stream message (see telemetry/eventstream-parser.ts). */
  sseEvent(event: string | undefined, data: string): void;
  json(body: unknown): void;
  finish(): ResponseSummary;
}
