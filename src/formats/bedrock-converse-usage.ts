/**
 * The Bedrock Converse response reader: usage, tool calls, stop reason and the answer
 * reassembled into one Converse response, from a JSON body or from `converse-stream`
 * (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html):
 * `messageStart`, then per content block `contentBlockStart` (tool use only),
 * `contentBlockDelta`s (`text`, `toolUse.input` pieces, `reasoningContent`) and
 * `contentBlockStop`, then `messageStop` (the stop reason) and `metadata` (usage).
 *
 * Converse's `inputTokens` leaves out prompt-cache reads and writes (its `totalTokens`
 * adds them); keyway's Usage.inputTokens includes them.
 */
import type { ResponseReader, ResponseSummary, ToolCall, Usage } from '../telemetry/usage.js';
import { count, isObject, newUsage, object, parseJson, parseObject, string, stringifyArgs, type JsonObject } from './read-json.js';

/** converseUsage converts a Converse `usage` object; undefined when it has no counts. */
export function converseUsage(u: JsonObject): Usage | undefined {
  const input = count(u.inputTokens);
  const output = count(u.outputTokens);
  const read = count(u.cacheReadInputTokens);
  const write = count(u.cacheWriteInputTokens);
  if (input === undefined && output === undefined && read === undefined && write === undefined) return undefined;
  const usage = newUsage();
  usage.cacheReadTokens = read ?? 0;
  usage.cacheWrite5mTokens = write ?? 0;
  usage.inputTokens = (input ?? 0) + usage.cacheReadTokens + usage.cacheWrite5mTokens;
  usage.outputTokens = output ?? 0;
  return usage;
}

const MAX_BLOCKS = 4096;

/** A content block being streamed: its pieces are joined once, at the end. */
interface StreamBlock {
  toolUse: JsonObject | undefined;
  text: string[];
  input: string[];
  reasoning: string[];
  signature: string | undefined;
}

export class BedrockConverseResponseReader implements ResponseReader {
  private body: JsonObject | undefined;
  private streamed = false;
  private role = 'assistant';
  private blocks: StreamBlock[] = [];
  private stopReason: unknown;
  private usage: JsonObject | undefined;
  private metrics: unknown;

  sseEvent(event: string | undefined, data: string): void {
    if (event === undefined || event === 'contentBlockStop') return;
    const ev = parseObject(data);
    if (!ev) return;
    this.streamed = true;
    switch (event) {
      case 'messageStart':
        this.role = string(ev.role) ?? this.role;
        return;
      case 'contentBlockStart': {
        const toolUse = object(object(ev.start)?.toolUse);
        this.block(ev).toolUse = toolUse ? { ...toolUse } : undefined;
        return;
      }
      case 'contentBlockDelta': {
        const delta = object(ev.delta);
        if (!delta) return;
        const sb = this.block(ev);
        if (typeof delta.text === 'string') sb.text.push(delta.text);
        const input = object(delta.toolUse)?.input;
        if (typeof input === 'string') sb.input.push(input);
        const reasoning = object(delta.reasoningContent);
        if (reasoning) {
          if (typeof reasoning.text === 'string') sb.reasoning.push(reasoning.text);
          if (typeof reasoning.signature === 'string') sb.signature = reasoning.signature;
        }
        return;
      }
      case 'messageStop':
        this.stopReason = ev.stopReason;
        return;
      case 'metadata':
        this.usage = object(ev.usage) ?? this.usage;
        this.metrics = ev.metrics ?? this.metrics;
        return;
      default:
        return; // exceptions and event types added later
    }
  }

  json(body: unknown): void {
    if (!isObject(body)) return;
    this.body = body;
    this.streamed = false;
    this.usage = object(body.usage);
    this.stopReason = body.stopReason;
  }

  finish(): ResponseSummary {
    const usage = this.usage ? converseUsage(this.usage) : undefined;
    const stopReason = string(this.stopReason);
    if (!this.streamed) {
      const content = this.body?.output;
      const message = object(object(content)?.message);
      const toolCalls: ToolCall[] = [];
      for (const b of Array.isArray(message?.content) ? message.content : []) {
        const tool = object(object(b)?.toolUse);
        if (tool && typeof tool.name === 'string') toolCalls.push({ name: tool.name, arguments: stringifyArgs(tool.input) });
      }
      return { usage, model: undefined, toolCalls, stopReason, reassembled: this.body };
    }
    const toolCalls: ToolCall[] = [];
    const content: JsonObject[] = [];
    for (const sb of this.blocks) {
      if (sb === undefined) continue;
      if (sb.toolUse) {
        const text = sb.input.join('');
        const input = text === '' ? {} : parseJson(text);
        // A stream cut inside the arguments leaves JSON that does not parse: keep the text.
        content.push({ toolUse: { ...sb.toolUse, input: input === undefined ? text : input } });
        if (typeof sb.toolUse.name === 'string') toolCalls.push({ name: sb.toolUse.name, arguments: text === '' ? '{}' : text });
      } else if (sb.reasoning.length > 0 || sb.signature !== undefined) {
        content.push({ reasoningContent: { reasoningText: { text: sb.reasoning.join(''), ...(sb.signature ? { signature: sb.signature } : {}) } } });
      } else {
        content.push({ text: sb.text.join('') });
      }
    }
    const reassembled: JsonObject = {
      output: { message: { role: this.role, content } },
      stopReason: this.stopReason ?? null,
      ...(this.usage ? { usage: this.usage } : {}),
      ...(this.metrics !== undefined ? { metrics: this.metrics } : {}),
    };
    return { usage, model: undefined, toolCalls, stopReason, reassembled };
  }

  private block(ev: JsonObject): StreamBlock {
    // Bounded, so a hostile index cannot make the array enormous.
    const index = Math.min(count(ev.contentBlockIndex) ?? this.blocks.length, MAX_BLOCKS);
    let sb = this.blocks[index];
    if (!sb) this.blocks[index] = sb = { toolUse: undefined, text: [], input: [], reasoning: [], signature: undefined };
    return sb;
  }
}
