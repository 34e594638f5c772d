/**
 * The OpenAI Chat Completions response reader: usage, tool calls, finish reason and the
 * answer reassembled into one `chat.completion`, from a JSON body or from a stream of
 * `chat.completion.chunk` data events ending in `data: [DONE]`.
 *
 * A stream carries usage only when the request set `stream_options.include_usage`: one
 * extra chunk before `[DONE]` with `choices: []` and the request's `usage` (every other
 * chunk has `usage: null`). Other OpenAI-compatible servers put usage on the last content
 * chunk instead; either way the last non-null `usage` wins. `prompt_tokens` already
 * includes cached tokens, as keyway's Usage.inputTokens does.
 */
import type { ResponseReader, ResponseSummary, ToolCall, Usage } from '../telemetry/usage.js';
import { count, isObject, newUsage, object, parseObject, string, type JsonObject } from './read-json.js';

interface ToolCallState {
  id: unknown;
  type: unknown;
  name: string;
  args: string[];
}

interface ChoiceState {
  role: unknown;
  content: string[] | undefined;
  refusal: string[] | undefined;
  /** `reasoning_content`, sent by several OpenAI-compatible servers (not by OpenAI). */
  reasoning: string[] | undefined;
  toolCalls: ToolCallState[];
  /** The legacy `function_call` delta. */
  functionCall: ToolCallState | undefined;
  finishReason: unknown;
}

/** openAiChatUsage converts a Chat Completions `usage` object; undefined when it has no counts. */
export function openAiChatUsage(u: JsonObject): Usage | undefined {
  const prompt = count(u.prompt_tokens);
  const completion = count(u.completion_tokens);
  if (prompt === undefined && completion === undefined) return undefined;
  const promptDetails = object(u.prompt_tokens_details);
  const usage = newUsage();
  usage.inputTokens = prompt ?? 0;
  usage.outputTokens = completion ?? 0;
  usage.cacheReadTokens = count(promptDetails?.cached_tokens) ?? 0;
  // OpenAI reports one write count with no lifetime; it is filed as the short (default) one.
  usage.cacheWrite5mTokens = count(promptDetails?.cache_write_tokens) ?? 0;
  usage.reasoningTokens = count(object(u.completion_tokens_details)?.reasoning_tokens) ?? 0;
  return usage;
}

/** OpenAiChatResponseReader reads one Chat Completions answer; see the module comment. */
export class OpenAiChatResponseReader implements ResponseReader {
  private body: JsonObject | undefined;
  /** Top-level fields of the first chunk (id, created, model, …), kept for reassembly. */
  private head: JsonObject | undefined;
  private model: string | undefined;
  private usage: JsonObject | undefined;
  private choices: ChoiceState[] = [];

  sseEvent(_event: string | undefined, data: string): void {
    if (data.charCodeAt(0) === 0x5b /* [ */ && data === '[DONE]') return;
    const chunk = parseObject(data);
    // Anything but a chunk (an `{"error":…}` event, say) has nothing to reassemble.
    const choices = chunk?.choices;
    if (!chunk || !Array.isArray(choices)) return;
    this.head ??= chunk;
    if (typeof chunk.model === 'string' && chunk.model !== '') this.model = chunk.model;
    if (isObject(chunk.usage)) this.usage = chunk.usage;
    for (const c of choices) {
      if (isObject(c)) this.choice(c);
    }
  }

  json(body: unknown): void {
    if (!isObject(body)) return;
    this.body = body;
    this.model = string(body.model);
    this.usage = object(body.usage);
  }

  finish(): ResponseSummary {
    const usage = this.usage ? openAiChatUsage(this.usage) : undefined;
    if (this.body) return { usage, model: this.model, ...summarizeCompletion(this.body), reassembled: this.body };
    if (!this.head) return { usage, model: this.model, toolCalls: [], stopReason: undefined, reassembled: undefined };
    const toolCalls: ToolCall[] = [];
    const choices: JsonObject[] = [];
    let stopReason: string | undefined;
    this.choices.forEach((state, index) => {
      const message: JsonObject = {
        role: state.role ?? 'assistant',
        content: state.content ? state.content.join('') : null,
        refusal: state.refusal ? state.refusal.join('') : null,
      };
      if (state.reasoning) message.reasoning_content = state.reasoning.join('');
      if (state.toolCalls.length > 0) {
        message.tool_calls = state.toolCalls.filter((t) => t !== undefined).map((t) => {
          const args = t.args.join('');
          toolCalls.push({ name: t.name, arguments: args });
          return { id: t.id, type: t.type ?? 'function', function: { name: t.name, arguments: args } };
        });
      }
      if (state.functionCall) {
        const args = state.functionCall.args.join('');
        toolCalls.push({ name: state.functionCall.name, arguments: args });
        message.function_call = { name: state.functionCall.name, arguments: args };
      }
      stopReason ??= string(state.finishReason);
      choices.push({ index, message, logprobs: null, finish_reason: state.finishReason ?? null });
    });
    const reassembled: JsonObject = {
      id: this.head.id,
      object: 'chat.completion',
      created: this.head.created,
      model: this.model ?? this.head.model,
      choices,
    };
    if (this.usage) reassembled.usage = this.usage;
    if (this.head.system_fingerprint !== undefined) reassembled.system_fingerprint = this.head.system_fingerprint;
    if (this.head.service_tier !== undefined) reassembled.service_tier = this.head.service_tier;
    return { usage, model: this.model, toolCalls, stopReason, reassembled };
  }

  private choice(c: JsonObject): void {
    const index = count(c.index) ?? 0;
    let state = this.choices[index];
    if (!state) {
      state = { role: undefined, content: undefined, refusal: undefined, reasoning: undefined, toolCalls: [], functionCall: undefined, finishReason: undefined };
      this.choices[index] = state;
    }
    if (c.finish_reason != null) state.finishReason = c.finish_reason;
    const delta = object(c.delta);
    if (!delta) return;
    if (delta.role != null) state.role = delta.role;
    if (typeof delta.content === 'string') (state.content ??= []).push(delta.content);
    if (typeof delta.refusal === 'string') (state.refusal ??= []).push(delta.refusal);
    if (typeof delta.reasoning_content === 'string') (state.reasoning ??= []).push(delta.reasoning_content);
    if (Array.isArray(delta.tool_calls)) {
      for (const tc of delta.tool_calls) if (isObject(tc)) toolCallDelta(state.toolCalls, tc);
    }
    const fc = object(delta.function_call);
    if (fc) {
      state.functionCall ??= { id: undefined, type: undefined, name: '', args: [] };
      fragment(state.functionCall, fc);
    }
  }
}

/** toolCallDelta applies one `delta.tool_calls[]` entry; entries are keyed by their `index`. */
function toolCallDelta(calls: ToolCallState[], tc: JsonObject): void {
  // Some compatible servers omit `index` and send each call whole: match by id, else append.
  let i = count(tc.index);
  if (i === undefined) {
    const found = tc.id === undefined ? -1 : calls.findIndex((c) => c !== undefined && c.id === tc.id);
    i = found >= 0 ? found : calls.length;
  }
  const call = (calls[i] ??= { id: undefined, type: undefined, name: '', args: [] });
  if (tc.id != null) call.id = tc.id;
  if (tc.type != null) call.type = tc.type;
  const fn = object(tc.function);
  if (fn) fragment(call, fn);
}

/** fragment applies a `{name, arguments}` piece: the name is replaced (as the SDK does), arguments appended. */
function fragment(call: ToolCallState, fn: JsonObject): void {
  if (typeof fn.name === 'string' && fn.name !== '') call.name = fn.name;
  if (typeof fn.arguments === 'string') call.args.push(fn.arguments);
}

/** summarizeCompletion reads tool calls and the finish reason of a non-streaming `chat.completion`. */
function summarizeCompletion(body: JsonObject): { toolCalls: ToolCall[]; stopReason: string | undefined } {
  const toolCalls: ToolCall[] = [];
  let stopReason: string | undefined;
  const choices = Array.isArray(body.choices) ? body.choices : [];
  for (const c of choices) {
    if (!isObject(c)) continue;
    stopReason ??= string(c.finish_reason);
    const message = object(c.message);
    const calls = Array.isArray(message?.tool_calls) ? message.tool_calls : [];
    for (const tc of calls) {
      const fn = object(object(tc)?.function);
      if (fn && typeof fn.name === 'string') toolCalls.push({ name: fn.name, arguments: string(fn.arguments) });
    }
    const fc = object(message?.function_call);
    if (fc && typeof fc.name === 'string') toolCalls.push({ name: fc.name, arguments: string(fc.arguments) });
  }
  return { toolCalls, stopReason };
}
