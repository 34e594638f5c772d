/**
 * The canonical shape of a model call, in memory only: one request, one answer and one
 * stream-event vocabulary that every API format converts to and from. With it, N formats
 * cost 2N converters (each codec in this folder decodes its own API into these types and
 * encodes these types back into its API) instead of N² pairwise ones.
 *
 * The shapes keep what at least two of the four APIs can say and nothing that only one of
 * them can; a codec refuses (400 naming the field) what it cannot carry when dropping it
 * would change the meaning, and drops what only tunes the output. docs/translation.md lists
 * every such decision.
 */

/** A request as every API can understand it. */
export interface CanonRequest {
  /** The model the client asked for (before routing removed a provider prefix). */
  model: string;
  /** System instructions in order: Anthropic `system`, leading system/developer messages, Responses `instructions`, Gemini `systemInstruction`. */
  system: string[];
  messages: CanonMessage[];
  tools: CanonTool[];
  toolChoice: CanonToolChoice | undefined;
  /** undefined: the API's default (parallel calls allowed). */
  parallelToolCalls: boolean | undefined;
  /** undefined when the client left it to the API (codecs for APIs that require it fill a default). */
  maxTokens: number | undefined;
  temperature: number | undefined;
  topP: number | undefined;
  topK: number | undefined;
  stop: string[] | undefined;
  seed: number | undefined;
  presencePenalty: number | undefined;
  frequencyPenalty: number | undefined;
  stream: boolean;
  /** OpenAI chat `stream_options.include_usage`: the client wants the final usage chunk. */
  streamUsage: boolean;
  reasoning: CanonReasoning | undefined;
  output: CanonOutputFormat | undefined;
  /** An end-user id: OpenAI `user`, Anthropic `metadata.user_id`. */
  user: string | undefined;
}

/**
 * A message in the conversation. `system` appears only after the first non-system message
 * (a system prompt in mid-conversation, as Claude Code sends); leading ones are in `system`.
 */
export interface CanonMessage {
  role: 'user' | 'assistant' | 'system';
  parts: CanonPart[];
}

export type CanonPart =
  | { type: 'text'; text: string }
  | CanonImage
  /** Reasoning from an earlier turn (kept only by APIs that accept it back). */
  | { type: 'thinking'; text: string; signature: string | undefined }
  | CanonToolCall
  | CanonToolResult;

/** An image, inline (`data`, base64, with its media type) or by `url`. */
export interface CanonImage {
  type: 'image';
  mediaType: string;
  data: string | undefined;
  url: string | undefined;
}

export interface CanonToolCall {
  type: 'tool_call';
  /** The call id, passed through unchanged (Anthropic `id`, OpenAI `call_id`/`id`, Gemini `functionCall.id`). */
  id: string;
  name: string;
  /** The arguments as JSON text. */
  arguments: string;
}

export interface CanonToolResult {
  type: 'tool_result';
  /** The id of the call this answers. */
  id: string;
  /** The tool's name when the API says it (Gemini needs it; the others find it by id). */
  name: string | undefined;
  content: Array<{ type: 'text'; text: string } | CanonImage>;
  isError: boolean;
}

export interface CanonTool {
  name: string;
  description: string | undefined;
  /** A JSON Schema (standard dialect, lower-case types). */
  parameters: Record<string, unknown>;
  /**
   * How the tool reached the canonical form when its API had no plain function for it:
   * a Responses `custom` (free-form input) tool, or a tool inside a Responses `namespace`.
   * Codecs use it to give the call back in the client's own shape.
   */
  origin?: { kind: 'custom' } | { kind: 'namespace'; namespace: string; name: string };
}

/** auto: the model decides; required: some tool; tool: the named one; none: no tool. */
export interface CanonToolChoice {
  mode: 'auto' | 'required' | 'tool' | 'none';
  name?: string;
}

export type CanonEffort = 'minimal' | 'low' | 'medium' | 'high';

/** What the client asked of the model's reasoning; either field may be missing. */
export interface CanonReasoning {
  /** false: the client turned reasoning off. */
  enabled: boolean;
  effort: CanonEffort | undefined;
  budgetTokens: number | undefined;
}

export type CanonOutputFormat = { type: 'json' } | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict: boolean | undefined };

/** Why the model stopped, in one vocabulary (docs/translation.md has the table). */
export type CanonStop = 'end' | 'max_tokens' | 'tool_use' | 'stop_sequence' | 'content_filter' | 'refusal';

/** Token counts as keyway's telemetry counts them: input includes cached tokens, output includes reasoning. */
export interface CanonUsage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  reasoning: number;
}

/** A whole (non-streaming) answer. */
export interface CanonResponse {
  id: string;
  /** The model the upstream says it used. */
  model: string;
  content: CanonOutputPart[];
  stop: CanonStop;
  stopSequence: string | undefined;
  usage: CanonUsage | undefined;
}

export type CanonOutputPart = { type: 'text'; text: string } | { type: 'thinking'; text: string; signature: string | undefined } | CanonToolCall;

export type CanonBlockKind = 'text' | 'thinking' | 'tool_call';

/**
 * One step of a streamed answer. Decoders emit blocks one at a time, in order:
 * `block_start`, its deltas, `block_stop`, then the next block; `index` counts blocks from
 * 0 in that order. `finish` and `usage` may come in either order; `done` is last.
 */
export type CanonEvent =
  | { type: 'start'; id: string | undefined; model: string | undefined; usage: CanonUsage | undefined }
  | { type: 'block_start'; index: number; kind: CanonBlockKind; id?: string; name?: string }
  /** Text, thinking text or tool-argument JSON text, by the block's kind. */
  | { type: 'delta'; index: number; text: string }
  | { type: 'signature'; index: number; signature: string }
  | { type: 'block_stop'; index: number }
  /** The usage so far (totals, not increments). */
  | { type: 'usage'; usage: CanonUsage }
  | { type: 'finish'; stop: CanonStop; stopSequence: string | undefined }
  | { type: 'error'; status: number; message: string }
  | { type: 'done' };

/** CanonSink receives stream events one at a time. */
export interface CanonSink {
  emit(event: CanonEvent): void;
}

export function zeroUsage(): CanonUsage {
  return { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 };
}
