/**
 * The OpenAI Responses response reader: usage, tool calls, web searches, stop reason and
 * the answer as one `response` object, from a JSON body or from the typed event stream
 * (https://platform.openai.com/docs/api-reference/responses-streaming). The stream ends
 * with `response.completed`, `response.incomplete` or `response.failed`, each carrying
 * the whole response with its `usage`; until then only `response.created` (model, no
 * usage) and the output items are known. A stream cut before its last event therefore
 * has no usage, and is reassembled from `response.output_item.done` events plus the
 * deltas of the items still open.
 *
 * `input_tokens` already includes cached tokens and `output_tokens` reasoning tokens, as
 * keyway's Usage does.
 */
import type { ResponseReader, ResponseSummary, ToolCall, Usage } from '../telemetry/usage.js';
import { count, isObject, newUsage, object, parseObject, string, type JsonObject } from './read-json.js';

/** An output item as the stream builds it, until its `response.output_item.done`. */
interface ItemState {
  added: JsonObject;
  done: JsonObject | undefined;
  /** Text deltas per content index (message items). */
  text: string[][];
  /** Argument (function_call) or input (custom_tool_call) deltas. */
  args: string[];
}

/** The events this reader uses; any other named event is skipped before JSON.parse. */
const READ_EVENTS: ReadonlySet<string> = new Set([
  'response.created',
  'response.in_progress',
  'response.output_item.added',
  'response.output_item.done',
  'response.output_text.delta',
  'response.function_call_arguments.delta',
  'response.custom_tool_call_input.delta',
  'response.completed',
  'response.incomplete',
  'response.failed',
]);

const FINAL_EVENTS: ReadonlySet<string> = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** openAiResponsesUsage converts a Responses `usage` object; undefined when it has no counts. */
export function openAiResponsesUsage(u: JsonObject): Usage | undefined {
  const input = count(u.input_tokens);
  const output = count(u.output_tokens);
  if (input === undefined && output === undefined) return undefined;
  const inputDetails = object(u.input_tokens_details);
  const usage = newUsage();
  usage.inputTokens = input ?? 0;
  usage.outputTokens = output ?? 0;
  usage.cacheReadTokens = count(inputDetails?.cached_tokens) ?? 0;
  // OpenAI reports one write count with no lifetime; it is filed as the short (default) one.
  usage.cacheWrite5mTokens = count(inputDetails?.cache_write_tokens) ?? 0;
  usage.reasoningTokens = count(object(u.output_tokens_details)?.reasoning_tokens) ?? 0;
  return usage;
}

/** OpenAiResponsesResponseReader reads one Responses answer; see the module comment. */
export class OpenAiResponsesResponseReader implements ResponseReader {
  /** The latest whole response seen: from response.created, then from the final event (or the JSON body). */
  private response: JsonObject | undefined;
  private final = false;
  private items: ItemState[] = [];

  sseEvent(event: string | undefined, data: string): void {
    if (event !== undefined) {
      if (!READ_EVENTS.has(event)) return;
      if (event === 'response.in_progress' && this.response) return; // same as response.created
    }
    const ev = parseObject(data);
    if (!ev) return;
    const type = string(ev.type) ?? event;
    switch (type) {
      case 'response.created':
      case 'response.in_progress': {
        const response = object(ev.response);
        if (response && !this.final) this.response = response;
        return;
      }
      case 'response.output_item.added': {
        const item = object(ev.item);
        const index = count(ev.output_index) ?? this.items.length;
        if (item) this.items[index] = { added: item, done: undefined, text: [], args: [] };
        return;
      }
      case 'response.output_item.done': {
        const item = object(ev.item);
        const index = count(ev.output_index) ?? this.items.length;
        if (!item) return;
        const state = this.items[index];
        if (state) state.done = item;
        else this.items[index] = { added: item, done: item, text: [], args: [] };
        return;
      }
      case 'response.output_text.delta': {
        const state = this.items[count(ev.output_index) ?? -1];
        const part = count(ev.content_index) ?? 0;
        if (state && typeof ev.delta === 'string') (state.text[part] ??= []).push(ev.delta);
        return;
      }
      case 'response.function_call_arguments.delta':
      case 'response.custom_tool_call_input.delta': {
        const state = this.items[count(ev.output_index) ?? -1];
        if (state && typeof ev.delta === 'string') state.args.push(ev.delta);
        return;
      }
      default:
        if (type !== undefined && FINAL_EVENTS.has(type)) {
          const response = object(ev.response);
          if (response) {
            this.response = response;
            this.final = true;
          }
        }
        return;
    }
  }

  json(body: unknown): void {
    if (!isObject(body)) return;
    this.response = body;
    this.final = true;
  }

  finish(): ResponseSummary {
    const response = this.response;
    const model = string(response?.model);
    let reassembled: JsonObject | undefined = response;
    let output = Array.isArray(response?.output) ? response.output : [];
    // Some backends end with a final response whose `output` is empty and rely on the
    // output_item.done events; a cut stream has only those events.
    if ((!this.final || output.length === 0) && this.items.length > 0) {
      output = this.items.filter((s) => s !== undefined).map(streamedItem);
      reassembled = { ...(response ?? { object: 'response' }), output };
    }
    const usageObject = this.final ? object(response?.usage) : undefined;
    const usage = usageObject ? openAiResponsesUsage(usageObject) : undefined;
    const toolCalls: ToolCall[] = [];
    let webSearches = 0;
    for (const item of output) {
      if (!isObject(item)) continue;
      if (item.type === 'function_call' && typeof item.name === 'string') toolCalls.push({ name: item.name, arguments: string(item.arguments) });
      else if (item.type === 'custom_tool_call' && typeof item.name === 'string') toolCalls.push({ name: item.name, arguments: string(item.input) });
      else if (item.type === 'web_search_call') webSearches++;
    }
    if (usage) usage.webSearchCount = webSearches;
    return { usage, model, toolCalls, stopReason: this.final ? stopReason(response) : undefined, reassembled };
  }
}

/** stopReason is the final status, or for an incomplete response the reason it stopped (e.g. `max_output_tokens`). */
function stopReason(response: JsonObject | undefined): string | undefined {
  const status = string(response?.status);
  if (status === 'incomplete') return string(object(response?.incomplete_details)?.reason) ?? status;
  return status;
}

/** streamedItem is an item's final form, or what its deltas built when it never finished. */
function streamedItem(s: ItemState): JsonObject {
  if (s.done) return s.done;
  const item: JsonObject = { ...s.added };
  if (item.type === 'message' && s.text.length > 0) {
    item.content = s.text.filter((p) => p !== undefined).map((p) => ({ type: 'output_text', text: p.join(''), annotations: [] }));
  } else if (item.type === 'function_call' && s.args.length > 0) {
    item.arguments = (string(item.arguments) ?? '') + s.args.join('');
  } else if (item.type === 'custom_tool_call' && s.args.length > 0) {
    item.input = (string(item.input) ?? '') + s.args.join('');
  }
  return item;
}
