/**
 * The Anthropic Messages response reader: usage, tool calls, stop reason and the answer
 * reassembled into one `message` object, from a JSON body or from the stream
 * (https://docs.anthropic.com/en/api/messages-streaming): `message_start` carries the
 * message skeleton and the input-side usage, `content_block_*` build the content, and
 * `message_delta` carries the stop reason and cumulative usage (`output_tokens` always;
 * newer API versions may repeat the input and cache counts there as well).
 *
 * Anthropic's `input_tokens` excludes prompt-cache reads and writes; keyway's
 * Usage.inputTokens includes them, so it is input + cache read + cache creation.
 */
import type { ResponseReader, ResponseSummary, ToolCall, Usage } from '../telemetry/usage.js';
import { count, isObject, newUsage, object, parseJson, parseObject, string, stringifyArgs, type JsonObject } from './read-json.js';

/** A content block being streamed; its text-like fields arrive as pieces, joined once at the end. */
interface StreamBlock {
  block: JsonObject;
  text: string[];
  thinking: string[];
  json: string[];
}

/** Content block types whose `input` streams as `input_json_delta`. */
const TOOL_BLOCKS: ReadonlySet<string> = new Set(['tool_use', 'server_tool_use', 'mcp_tool_use']);

/** Stream events that carry nothing keyway reads: skipped before JSON.parse. */
const IGNORED_EVENTS: ReadonlySet<string> = new Set(['ping', 'content_block_stop', 'message_stop']);

/** anthropicUsage converts an Anthropic `usage` object; undefined when it has no counts at all. */
export function anthropicUsage(u: JsonObject): Usage | undefined {
  const input = count(u.input_tokens);
  const output = count(u.output_tokens);
  const read = count(u.cache_read_input_tokens);
  const created = count(u.cache_creation_input_tokens);
  const breakdown = object(u.cache_creation);
  const write5m = count(breakdown?.ephemeral_5m_input_tokens);
  const write1h = count(breakdown?.ephemeral_1h_input_tokens);
  if (input === undefined && output === undefined && read === undefined && created === undefined && write5m === undefined && write1h === undefined) {
    return undefined;
  }
  const usage = newUsage();
  const written = created ?? (write5m ?? 0) + (write1h ?? 0);
  // Without a TTL breakdown every write is a 5-minute one (Anthropic's default TTL).
  usage.cacheWrite1hTokens = Math.min(write1h ?? 0, written);
  usage.cacheWrite5mTokens = written - usage.cacheWrite1hTokens;
  usage.cacheReadTokens = read ?? 0;
  usage.inputTokens = (input ?? 0) + usage.cacheReadTokens + written;
  usage.outputTokens = output ?? 0;
  usage.reasoningTokens = count(object(u.output_tokens_details)?.thinking_tokens) ?? 0;
  usage.webSearchCount = count(object(u.server_tool_use)?.web_search_requests) ?? 0;
  return usage;
}

/** AnthropicResponseReader reads one Messages answer; see the module comment. */
export class AnthropicResponseReader implements ResponseReader {
  /** The non-streaming body, or the `message_start` skeleton of a stream. */
  private message: JsonObject | undefined;
  private streamed = false;
  /** Raw usage merged as the SDK does: later non-null fields overwrite earlier ones. */
  private usage: JsonObject | undefined;
  private blocks: StreamBlock[] = [];
  private stopReason: unknown;
  private stopSequence: unknown;

  sseEvent(event: string | undefined, data: string): void {
    if (event !== undefined && IGNORED_EVENTS.has(event)) return;
    const ev = parseObject(data);
    if (!ev) return;
    this.streamed = true;
    switch (ev.type) {
      case 'message_start': {
        const message = object(ev.message);
        if (!message) return;
        this.message = message;
        const usage = object(message.usage);
        if (usage) this.mergeUsage(usage);
        return;
      }
      case 'content_block_start': {
        const block = object(ev.content_block);
        if (!block) return;
        const index = count(ev.index) ?? this.blocks.length;
        this.blocks[index] = { block: { ...block }, text: [], thinking: [], json: [] };
        return;
      }
      case 'content_block_delta':
        this.delta(ev);
        return;
      case 'message_delta': {
        const delta = object(ev.delta);
        if (delta) {
          if (delta.stop_reason != null) this.stopReason = delta.stop_reason;
          if (delta.stop_sequence != null) this.stopSequence = delta.stop_sequence;
        }
        const usage = object(ev.usage);
        if (usage) this.mergeUsage(usage);
        return;
      }
      default:
        return; // message_stop, ping, error and event types added later
    }
  }

  json(body: unknown): void {
    if (!isObject(body)) return;
    this.message = body;
    this.streamed = false;
    this.usage = object(body.usage);
    this.stopReason = body.stop_reason;
  }

  finish(): ResponseSummary {
    const stopReason = string(this.stopReason);
    const model = string(this.message?.model);
    const usage = this.usage ? anthropicUsage(this.usage) : undefined;
    if (!this.streamed) {
      const body = this.message;
      const content = Array.isArray(body?.content) ? body.content : [];
      const toolCalls: ToolCall[] = [];
      for (const b of content) {
        if (isObject(b) && b.type === 'tool_use' && typeof b.name === 'string') toolCalls.push({ name: b.name, arguments: stringifyArgs(b.input) });
      }
      return { usage, model, toolCalls, stopReason, reassembled: body };
    }
    const toolCalls: ToolCall[] = [];
    const content: JsonObject[] = [];
    for (const sb of this.blocks) {
      if (sb === undefined) continue;
      const block = finishBlock(sb);
      content.push(block);
      if (block.type === 'tool_use' && typeof block.name === 'string') {
        toolCalls.push({ name: block.name, arguments: sb.json.length > 0 ? sb.json.join('') : stringifyArgs(block.input) });
      }
    }
    const reassembled: JsonObject = {
      ...(this.message ?? { type: 'message', role: 'assistant' }),
      content,
      stop_reason: this.stopReason ?? null,
      stop_sequence: this.stopSequence ?? null,
    };
    if (this.usage) reassembled.usage = this.usage;
    return { usage, model, toolCalls, stopReason, reassembled };
  }

  private delta(ev: JsonObject): void {
    const sb = this.blocks[count(ev.index) ?? -1];
    const delta = object(ev.delta);
    if (!sb || !delta) return;
    switch (delta.type) {
      case 'text_delta':
        if (typeof delta.text === 'string') sb.text.push(delta.text);
        return;
      case 'input_json_delta':
        if (typeof delta.partial_json === 'string') sb.json.push(delta.partial_json);
        return;
      case 'thinking_delta':
        if (typeof delta.thinking === 'string') sb.thinking.push(delta.thinking);
        return;
      case 'signature_delta':
        sb.block.signature = delta.signature;
        return;
      case 'citations_delta': {
        const list = Array.isArray(sb.block.citations) ? sb.block.citations : (sb.block.citations = []);
        (list as unknown[]).push(delta.citation);
        return;
      }
      default:
        return;
    }
  }

  private mergeUsage(update: JsonObject): void {
    const merged: JsonObject = this.usage ?? {};
    for (const key of Object.keys(update)) {
      if (update[key] != null) merged[key] = update[key];
    }
    this.usage = merged;
  }
}

/** finishBlock joins a streamed block's pieces into the block a JSON answer would hold. */
function finishBlock(sb: StreamBlock): JsonObject {
  const block = { ...sb.block };
  if (sb.text.length > 0) block.text = (typeof block.text === 'string' ? block.text : '') + sb.text.join('');
  if (sb.thinking.length > 0) block.thinking = (typeof block.thinking === 'string' ? block.thinking : '') + sb.thinking.join('');
  if (sb.json.length > 0 && typeof block.type === 'string' && TOOL_BLOCKS.has(block.type)) {
    const text = sb.json.join('');
    const input = parseJson(text);
    // A stream cut inside the arguments leaves JSON that does not parse: keep the text.
    block.input = input === undefined ? text : input;
  }
  return block;
}
