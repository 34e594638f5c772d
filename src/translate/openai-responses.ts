/**
 * The OpenAI Responses codec (https://platform.openai.com/docs/api-reference/responses):
 * requests (`instructions`, `input` items), `response` objects and the typed event stream
 * (`response.created` … `response.completed`), to and from the canonical shape.
 *
 * Tools without a function counterpart: a `custom` (free-form) tool becomes a function
 * with one string parameter `input`, and its calls come back as `custom_tool_call`s; the
 * tools of a `namespace` become functions named `namespace__name` and come back with
 * their `namespace`; tools the provider itself runs (web_search, file_search, …) are
 * dropped. The Responses stream repeats each item whole in its closing events, so the
 * encoder keeps the text it has sent (it never holds anything back).
 */
import { openaiResponses } from '../formats/openai-responses.js';
import type {
  CanonEvent,
  CanonMessage,
  CanonOutputPart,
  CanonPart,
  CanonRequest,
  CanonResponse,
  CanonSink,
  CanonStop,
  CanonTool,
  CanonToolChoice,
  CanonUsage,
} from './canonical.js';
import type { Codec, StreamDecoder, StreamEncoder, UpstreamCall } from './codec.js';
import { decodeToolChoice } from './openai-chat.js';
import { statusOfError } from './openai-chat.js';
import { arr, effortOfBudget, imageFromUrl, imageUrl, isObject, num, objects, parseArgs, str, textOf, untranslatable, type JsonObject } from './util.js';

/** Separator between a namespace and a tool name in the flattened function name. */
const NAMESPACE_SEPARATOR = '__';

/** The schema a free-form (`custom`) tool is given as a function. */
function customSchema(description: string | undefined): JsonObject {
  return { type: 'object', properties: { input: { type: 'string', description: description ?? 'the free-form input of the tool' } }, required: ['input'] };
}

// ── client side: requests ────────────────────────────────────────────────────

function decodeRequest(body: JsonObject, stream: boolean): CanonRequest {
  if (typeof body.previous_response_id === 'string') throw untranslatable('previous_response_id', 'stored conversations live in the Responses API; send the whole conversation in input');
  if (body.conversation !== undefined && body.conversation !== null) throw untranslatable('conversation', 'stored conversations live in the Responses API');
  if (body.background === true) throw untranslatable('background', 'background responses are a feature of the Responses API');
  if (body.prompt !== undefined && body.prompt !== null) throw untranslatable('prompt', 'stored prompt templates live in the Responses API');
  const system: string[] = [];
  if (typeof body.instructions === 'string' && body.instructions !== '') system.push(body.instructions);
  const messages: CanonMessage[] = [];
  const push = (role: CanonMessage['role'], part: CanonPart, merge: boolean) => {
    const last = messages[messages.length - 1];
    if (merge && last && last.role === role) last.parts.push(part);
    else messages.push({ role, parts: [part] });
  };
  if (typeof body.input === 'string') messages.push({ role: 'user', parts: [{ type: 'text', text: body.input }] });
  arr(body.input).forEach((item, i) => {
    if (!isObject(item)) return;
    const path = `input[${i}]`;
    const type = item.type ?? 'message';
    switch (type) {
      case 'message': {
        const role = item.role;
        if (role === 'system' || role === 'developer') {
          const text = textOf(item.content);
          if (messages.length === 0) {
            if (text !== '') system.push(text);
          } else messages.push({ role: 'system', parts: [{ type: 'text', text }] });
          return;
        }
        const parts = decodeContent(item.content, `${path}.content`);
        const canonRole = role === 'assistant' ? 'assistant' : 'user';
        for (const p of parts) push(canonRole, p, true);
        if (parts.length === 0) messages.push({ role: canonRole, parts: [] });
        return;
      }
      case 'function_call': {
        const name = typeof item.namespace === 'string' && item.namespace !== '' ? `${item.namespace}${NAMESPACE_SEPARATOR}${str(item.name) ?? ''}` : (str(item.name) ?? '');
        push('assistant', { type: 'tool_call', id: str(item.call_id) ?? str(item.id) ?? '', name, arguments: str(item.arguments) ?? '' }, true);
        return;
      }
      case 'custom_tool_call':
        push('assistant', { type: 'tool_call', id: str(item.call_id) ?? '', name: str(item.name) ?? '', arguments: JSON.stringify({ input: str(item.input) ?? '' }) }, true);
        return;
      case 'function_call_output':
      case 'custom_tool_call_output':
        push('user', { type: 'tool_result', id: str(item.call_id) ?? '', name: undefined, content: decodeOutput(item.output), isError: false }, true);
        return;
      case 'reasoning': {
        const text = objects(item.summary).map((s) => str(s.text) ?? '').join('\n\n') || objects(item.content).map((s) => str(s.text) ?? '').join('');
        if (text !== '') push('assistant', { type: 'thinking', text, signature: undefined }, true);
        return;
      }
      // Traces of tools the provider ran itself (and their results) mean nothing elsewhere.
      case 'web_search_call':
      case 'file_search_call':
      case 'code_interpreter_call':
      case 'image_generation_call':
      case 'computer_call':
      case 'computer_call_output':
      case 'local_shell_call':
      case 'local_shell_call_output':
      case 'mcp_call':
      case 'mcp_list_tools':
      case 'mcp_approval_request':
      case 'mcp_approval_response':
      case 'tool_search_call':
      case 'tool_search_output':
        return;
      default:
        throw untranslatable(`${path}.type "${String(type)}"`, 'only messages, reasoning, function and custom tool calls and their outputs have a counterpart');
    }
  });
  const tools: CanonTool[] = [];
  for (const t of objects(body.tools)) decodeTool(t, undefined, tools);
  const reasoning = isObject(body.reasoning) ? body.reasoning : undefined;
  const effort = str(reasoning?.effort);
  const text = isObject(body.text) ? body.text : undefined;
  return {
    model: str(body.model) ?? '',
    system,
    messages,
    tools,
    toolChoice: decodeResponsesToolChoice(body.tool_choice),
    parallelToolCalls: typeof body.parallel_tool_calls === 'boolean' ? body.parallel_tool_calls : undefined,
    maxTokens: num(body.max_output_tokens),
    temperature: num(body.temperature),
    topP: num(body.top_p),
    topK: undefined,
    stop: undefined,
    seed: undefined,
    presencePenalty: undefined,
    frequencyPenalty: undefined,
    stream,
    streamUsage: true,
    reasoning: effort === 'none' ? { enabled: false, effort: undefined, budgetTokens: undefined } : effort === 'minimal' || effort === 'low' || effort === 'medium' || effort === 'high' ? { enabled: true, effort, budgetTokens: undefined } : effort === 'xhigh' ? { enabled: true, effort: 'high', budgetTokens: undefined } : undefined,
    output: decodeTextFormat(text?.format),
    user: str(body.user) ?? str(body.safety_identifier),
  };
}

function decodeTool(t: JsonObject, namespace: string | undefined, out: CanonTool[]): void {
  const name = str(t.name);
  if (t.type === 'namespace' && name) {
    for (const inner of objects(t.tools)) decodeTool(inner, name, out);
    return;
  }
  if (!name) return;
  const flat = namespace ? `${namespace}${NAMESPACE_SEPARATOR}${name}` : name;
  const origin: CanonTool['origin'] = namespace ? { kind: 'namespace', namespace, name } : undefined;
  if (t.type === 'function') {
    out.push({ name: flat, description: str(t.description), parameters: isObject(t.parameters) ? t.parameters : { type: 'object', properties: {} }, ...(origin ? { origin } : {}) });
  } else if (t.type === 'custom') {
    out.push({ name: flat, description: str(t.description), parameters: customSchema(str(t.description)), origin: origin ?? { kind: 'custom' } });
  }
  // Tools the provider runs itself (web_search, file_search, code_interpreter, …): dropped.
}

function decodeResponsesToolChoice(v: unknown): CanonToolChoice | undefined {
  if (isObject(v) && (v.type === 'function' || v.type === 'custom') && typeof v.name === 'string') return { mode: 'tool', name: v.name };
  if (isObject(v)) return { mode: 'auto' };
  return decodeToolChoice(v);
}

function decodeTextFormat(v: unknown): CanonRequest['output'] {
  if (!isObject(v)) return undefined;
  if (v.type === 'json_object') return { type: 'json' };
  if (v.type === 'json_schema') return { type: 'json_schema', name: str(v.name) ?? 'response', schema: isObject(v.schema) ? v.schema : {}, strict: typeof v.strict === 'boolean' ? v.strict : undefined };
  return undefined;
}

function decodeContent(content: unknown, path: string): CanonPart[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  const parts: CanonPart[] = [];
  arr(content).forEach((p, i) => {
    if (!isObject(p)) return;
    if ((p.type === 'input_text' || p.type === 'output_text' || p.type === 'text') && typeof p.text === 'string') parts.push({ type: 'text', text: p.text });
    else if (p.type === 'refusal' && typeof p.refusal === 'string') parts.push({ type: 'text', text: p.refusal });
    else if (p.type === 'input_image' && typeof p.image_url === 'string') parts.push(imageFromUrl(p.image_url));
    else throw untranslatable(`${path}[${i}].type "${String(p.type)}"`, 'only text and image (by URL or data URL) parts have a counterpart');
  });
  return parts;
}

function decodeOutput(output: unknown): Extract<CanonPart, { type: 'tool_result' }>['content'] {
  if (typeof output === 'string') return [{ type: 'text', text: output }];
  const out: Extract<CanonPart, { type: 'tool_result' }>['content'] = [];
  for (const p of objects(output)) {
    if (typeof p.text === 'string') out.push({ type: 'text', text: p.text });
    else if (p.type === 'input_image' && typeof p.image_url === 'string') out.push(imageFromUrl(p.image_url));
  }
  return out;
}

// ── upstream side: requests ──────────────────────────────────────────────────

function encodeRequest(req: CanonRequest, upstreamModel: string): UpstreamCall {
  if (req.stop && req.stop.length > 0) throw untranslatable('stop sequences', 'the Responses API, which the provider of this model speaks, has none');
  const body: JsonObject = { model: upstreamModel, input: encodeInput(req.messages) };
  if (req.system.length > 0) body.instructions = req.system.join('\n\n');
  if (req.tools.length > 0) {
    body.tools = req.tools.map((t) => ({ type: 'function', name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.parameters, strict: false }));
    const choice = req.toolChoice;
    if (choice) body.tool_choice = choice.mode === 'tool' ? { type: 'function', name: choice.name } : choice.mode;
    if (req.parallelToolCalls !== undefined) body.parallel_tool_calls = req.parallelToolCalls;
  }
  if (req.maxTokens !== undefined) body.max_output_tokens = req.maxTokens;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.user) body.user = req.user;
  const r = req.reasoning;
  if (r?.enabled && (r.effort || r.budgetTokens !== undefined)) body.reasoning = { effort: r.effort ?? effortOfBudget(r.budgetTokens!), summary: 'auto' };
  if (req.output) {
    body.text = { format: req.output.type === 'json' ? { type: 'json_object' } : { type: 'json_schema', name: req.output.name, schema: req.output.schema, ...(req.output.strict !== undefined ? { strict: req.output.strict } : {}) } };
  }
  // keyway sends the whole conversation every time: nothing to store at the provider.
  body.store = false;
  if (req.stream) body.stream = true;
  return { path: '/v1/responses', body, headers: [] };
}

function encodeInput(messages: readonly CanonMessage[]): JsonObject[] {
  const out: JsonObject[] = [];
  for (const m of messages) {
    if (m.role === 'system') {
      out.push({ type: 'message', role: 'developer', content: m.parts.filter((p) => p.type === 'text').map((p) => ({ type: 'input_text', text: (p as { text: string }).text })) });
      continue;
    }
    if (m.role === 'assistant') {
      let text: string[] = [];
      const flush = () => {
        if (text.length > 0) out.push({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: text.join('') }] });
        text = [];
      };
      for (const p of m.parts) {
        if (p.type === 'text') text.push(p.text);
        else if (p.type === 'tool_call') {
          flush();
          out.push({ type: 'function_call', call_id: p.id, name: p.name, arguments: p.arguments || '{}' });
        }
      }
      flush();
      continue;
    }
    const content: JsonObject[] = [];
    for (const p of m.parts) {
      if (p.type === 'tool_result') {
        const images = p.content.some((c) => c.type === 'image');
        const text = p.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
        const output = images ? p.content.map((c) => (c.type === 'text' ? { type: 'input_text', text: c.text } : { type: 'input_image', image_url: imageUrl(c) })) : p.isError && text.slice(0, 5).toLowerCase() !== 'error' ? `Error: ${text}` : text;
        out.push({ type: 'function_call_output', call_id: p.id, output });
      } else if (p.type === 'text') content.push({ type: 'input_text', text: p.text });
      else if (p.type === 'image') content.push({ type: 'input_image', image_url: imageUrl(p) });
    }
    if (content.length > 0) out.push({ type: 'message', role: 'user', content });
  }
  return out;
}

// ── answers ──────────────────────────────────────────────────────────────────

function decodeUsage(u: unknown): CanonUsage | undefined {
  if (!isObject(u)) return undefined;
  const input = num(u.input_tokens);
  const output = num(u.output_tokens);
  if (input === undefined && output === undefined) return undefined;
  const id = isObject(u.input_tokens_details) ? u.input_tokens_details : {};
  const od = isObject(u.output_tokens_details) ? u.output_tokens_details : {};
  return { input: input ?? 0, output: output ?? 0, cacheRead: num(id.cached_tokens) ?? 0, cacheWrite: 0, reasoning: num(od.reasoning_tokens) ?? 0 };
}

function encodeUsage(u: CanonUsage | undefined): JsonObject {
  const usage = u ?? { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 };
  return {
    input_tokens: usage.input,
    input_tokens_details: { cached_tokens: usage.cacheRead },
    output_tokens: usage.output,
    output_tokens_details: { reasoning_tokens: usage.reasoning },
    total_tokens: usage.input + usage.output,
  };
}

/** stopOf reads why a response ended: its status, incomplete reason, and whether it called a tool. */
function stopOf(response: JsonObject, calledTool: boolean): CanonStop {
  if (response.status === 'incomplete') {
    const reason = isObject(response.incomplete_details) ? response.incomplete_details.reason : undefined;
    return reason === 'content_filter' ? 'content_filter' : 'max_tokens';
  }
  return calledTool ? 'tool_use' : 'end';
}

function decodeResponse(body: unknown): CanonResponse | undefined {
  if (!isObject(body) || !Array.isArray(body.output)) return undefined;
  const content: CanonOutputPart[] = [];
  let calledTool = false;
  for (const item of objects(body.output)) {
    if (item.type === 'message') {
      for (const c of objects(item.content)) {
        const text = c.type === 'output_text' ? str(c.text) : c.type === 'refusal' ? str(c.refusal) : undefined;
        if (text) content.push({ type: 'text', text });
      }
    } else if (item.type === 'reasoning') {
      const text = objects(item.summary).map((s) => str(s.text) ?? '').join('\n\n') || objects(item.content).map((s) => str(s.text) ?? '').join('');
      if (text) content.push({ type: 'thinking', text, signature: undefined });
    } else if (item.type === 'function_call') {
      calledTool = true;
      content.push({ type: 'tool_call', id: str(item.call_id) ?? '', name: str(item.name) ?? '', arguments: str(item.arguments) ?? '' });
    } else if (item.type === 'custom_tool_call') {
      calledTool = true;
      content.push({ type: 'tool_call', id: str(item.call_id) ?? '', name: str(item.name) ?? '', arguments: JSON.stringify({ input: str(item.input) ?? '' }) });
    }
  }
  return { id: str(body.id) ?? '', model: str(body.model) ?? '', content, stop: stopOf(body, calledTool), stopSequence: undefined, usage: decodeUsage(body.usage) };
}

/** ToolShapes gives a call back in the client's own shape: function, namespaced function or custom tool. */
class ToolShapes {
  private readonly byName = new Map<string, CanonTool>();
  constructor(tools: readonly CanonTool[]) {
    for (const t of tools) if (t.origin) this.byName.set(t.name, t);
  }

  item(id: string, callId: string, name: string, args: string, done: boolean): JsonObject {
    const origin = this.byName.get(name)?.origin;
    if (origin?.kind === 'custom') return { type: 'custom_tool_call', id, status: done ? 'completed' : 'in_progress', call_id: callId, name, input: done ? String(parseArgs(args).input ?? '') : '' };
    const item: JsonObject = { type: 'function_call', id, status: done ? 'completed' : 'in_progress', call_id: callId, name: origin?.kind === 'namespace' ? origin.name : name, arguments: done ? args : '' };
    if (origin?.kind === 'namespace') item.namespace = origin.namespace;
    return item;
  }

  isCustom(name: string): boolean {
    return this.byName.get(name)?.origin?.kind === 'custom';
  }
}

function responseObject(id: string, req: CanonRequest, status: string, output: JsonObject[], usage: JsonObject | null, stop?: CanonStop): JsonObject {
  return {
    id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: stop === 'content_filter' ? 'content_filter' : 'max_output_tokens' } : null,
    instructions: null,
    max_output_tokens: req.maxTokens ?? null,
    model: req.model,
    output,
    parallel_tool_calls: req.parallelToolCalls ?? true,
    store: false,
    tool_choice: 'auto',
    tools: [],
    usage,
    metadata: {},
  };
}

function statusOfStop(stop: CanonStop): string {
  return stop === 'max_tokens' || stop === 'content_filter' ? 'incomplete' : 'completed';
}

function encodeResponse(res: CanonResponse, req: CanonRequest): JsonObject {
  const shapes = new ToolShapes(req.tools);
  const output: JsonObject[] = [];
  res.content.forEach((p, i) => {
    if (p.type === 'text') {
      const last = output[output.length - 1];
      if (last?.type === 'message') (last.content as JsonObject[])[0]!.text += p.text;
      else output.push({ type: 'message', id: `msg_${res.id}_${i}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: p.text, annotations: [] }] });
    } else if (p.type === 'thinking') {
      output.push({ type: 'reasoning', id: `rs_${res.id}_${i}`, summary: [{ type: 'summary_text', text: p.text }] });
    } else {
      output.push(shapes.item(`fc_${p.id}`, p.id, p.name, p.arguments, true));
    }
  });
  return responseObject(res.id, req, statusOfStop(res.stop), output, encodeUsage(res.usage), res.stop);
}

// ── streams ──────────────────────────────────────────────────────────────────

interface DecodedItem {
  kind: 'message' | 'reasoning' | 'tool' | 'custom';
  /** Canonical block index, once a block is open for it. */
  index: number | undefined;
  deltas: boolean;
  summaryParts: number;
}

/** Reads the Responses event stream. */
class ResponsesStreamDecoder implements StreamDecoder {
  private items: DecodedItem[] = [];
  private next = 0;
  private calledTool = false;
  private done = false;

  constructor(private readonly sink: CanonSink) {}

  event(_name: string | undefined, data: string): void {
    let ev: unknown;
    try {
      ev = JSON.parse(data);
    } catch {
      return;
    }
    if (!isObject(ev)) return;
    const at = num(ev.output_index) ?? -1;
    switch (ev.type) {
      case 'response.created':
      case 'response.in_progress': {
        const r = isObject(ev.response) ? ev.response : {};
        this.sink.emit({ type: 'start', id: str(r.id), model: str(r.model), usage: undefined });
        return;
      }
      case 'response.output_item.added': {
        const item = isObject(ev.item) ? ev.item : {};
        if (item.type === 'message') this.items[at] = { kind: 'message', index: undefined, deltas: false, summaryParts: 0 };
        else if (item.type === 'reasoning') this.items[at] = { kind: 'reasoning', index: undefined, deltas: false, summaryParts: 0 };
        else if (item.type === 'function_call' || item.type === 'custom_tool_call') {
          const custom = item.type === 'custom_tool_call';
          const state: DecodedItem = { kind: custom ? 'custom' : 'tool', index: this.next++, deltas: false, summaryParts: 0 };
          this.items[at] = state;
          this.calledTool = true;
          this.sink.emit({ type: 'block_start', index: state.index!, kind: 'tool_call', id: str(item.call_id) ?? str(item.id) ?? '', name: str(item.name) ?? '' });
          // A custom tool's free-form input becomes the `input` string of JSON arguments, escaped as it streams.
          if (custom) this.sink.emit({ type: 'delta', index: state.index!, text: '{"input":"' });
        }
        return;
      }
      case 'response.output_text.delta':
      case 'response.refusal.delta':
        this.delta(at, 'text', str(ev.delta));
        return;
      case 'response.reasoning_summary_part.added': {
        const state = this.items[at];
        if (state && state.summaryParts++ > 0) this.delta(at, 'thinking', '\n\n');
        return;
      }
      case 'response.reasoning_summary_text.delta':
      case 'response.reasoning_text.delta':
        this.delta(at, 'thinking', str(ev.delta));
        return;
      case 'response.function_call_arguments.delta':
        this.delta(at, 'tool_call', str(ev.delta));
        return;
      case 'response.custom_tool_call_input.delta': {
        const d = str(ev.delta);
        if (d) this.delta(at, 'tool_call', JSON.stringify(d).slice(1, -1));
        return;
      }
      case 'response.output_item.done':
        this.itemDone(at, isObject(ev.item) ? ev.item : {});
        return;
      case 'response.completed':
      case 'response.incomplete': {
        const r = isObject(ev.response) ? ev.response : {};
        const usage = decodeUsage(r.usage);
        if (usage) this.sink.emit({ type: 'usage', usage });
        this.sink.emit({ type: 'finish', stop: stopOf(r, this.calledTool), stopSequence: undefined });
        this.done = true;
        this.sink.emit({ type: 'done' });
        return;
      }
      case 'response.failed': {
        const r = isObject(ev.response) ? ev.response : {};
        const error = isObject(r.error) ? r.error : {};
        this.sink.emit({ type: 'error', status: statusOfError(error), message: str(error.message) ?? 'the provider reported a failed response' });
        return;
      }
      case 'error': {
        const error = isObject(ev.error) ? ev.error : ev;
        this.sink.emit({ type: 'error', status: statusOfError(error), message: str(error.message) ?? str(ev.message) ?? 'the provider reported an error' });
        return;
      }
      default:
        return;
    }
  }

  /** delta adds text to an item's block, opening the block on the first piece. */
  private delta(at: number, kind: 'text' | 'thinking' | 'tool_call', text: string | undefined): void {
    let state = this.items[at];
    if (!state) state = this.items[at] = { kind: kind === 'thinking' ? 'reasoning' : 'message', index: undefined, deltas: false, summaryParts: 0 };
    if (state.index === undefined) {
      state.index = this.next++;
      this.sink.emit({ type: 'block_start', index: state.index, kind });
    }
    state.deltas = true;
    if (text) this.sink.emit({ type: 'delta', index: state.index, text });
  }

  /** itemDone closes an item's block; an item that streamed no deltas (some servers send only `done`) gives its whole content here. */
  private itemDone(at: number, item: JsonObject): void {
    let state = this.items[at];
    if (!state && (item.type === 'function_call' || item.type === 'custom_tool_call')) {
      this.event(undefined, JSON.stringify({ type: 'response.output_item.added', output_index: at, item }));
      state = this.items[at];
    }
    if (!state) state = this.items[at] = { kind: item.type === 'reasoning' ? 'reasoning' : 'message', index: undefined, deltas: false, summaryParts: 0 };
    if (!state.deltas) {
      if (state.kind === 'message') {
        const text = objects(item.content).map((c) => str(c.text) ?? str(c.refusal) ?? '').join('');
        if (text) this.delta(at, 'text', text);
      } else if (state.kind === 'reasoning') {
        const text = objects(item.summary).map((s) => str(s.text) ?? '').join('\n\n');
        if (text) this.delta(at, 'thinking', text);
      } else if (state.kind === 'tool') {
        const args = str(item.arguments);
        if (args) this.delta(at, 'tool_call', args);
      } else {
        const input = str(item.input);
        if (input) this.delta(at, 'tool_call', JSON.stringify(input).slice(1, -1));
      }
    }
    if (state.index === undefined) return;
    if (state.kind === 'custom') this.sink.emit({ type: 'delta', index: state.index, text: '"}' });
    this.sink.emit({ type: 'block_stop', index: state.index });
  }

  end(): void {
    if (!this.done) return; // a Responses stream is complete only with its final event
  }
}

interface EncodedItem {
  id: string;
  kind: 'text' | 'thinking' | 'tool_call';
  outputIndex: number;
  text: string[];
  callId: string;
  name: string;
}

/** Writes canonical events as the Responses event stream. */
class ResponsesStreamEncoder implements StreamEncoder {
  readonly contentType = 'text/event-stream; charset=utf-8';
  private out = '';
  private seq = 0;
  private id = 'resp_keyway';
  private items: EncodedItem[] = [];
  private output: JsonObject[] = [];
  private usage: CanonUsage | undefined;
  private stop: CanonStop = 'end';
  private readonly shapes: ToolShapes;

  constructor(private readonly req: CanonRequest) {
    this.shapes = new ToolShapes(req.tools);
  }

  take(): string {
    const out = this.out;
    this.out = '';
    return out;
  }

  private ev(type: string, fields: JsonObject): void {
    this.out += `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.seq++, ...fields })}\n\n`;
  }

  emit(e: CanonEvent): void {
    switch (e.type) {
      case 'start': {
        if (e.id) this.id = e.id;
        const response = responseObject(this.id, this.req, 'in_progress', [], null);
        this.ev('response.created', { response });
        this.ev('response.in_progress', { response });
        return;
      }
      case 'block_start': {
        const outputIndex = this.output.length;
        const prefix = e.kind === 'text' ? 'msg' : e.kind === 'thinking' ? 'rs' : 'fc';
        const item: EncodedItem = { id: `${prefix}_${this.id}_${outputIndex}`, kind: e.kind, outputIndex, text: [], callId: e.id ?? '', name: e.name ?? '' };
        this.items[e.index] = item;
        this.output.push({});
        if (e.kind === 'text') {
          this.ev('response.output_item.added', { output_index: outputIndex, item: { id: item.id, type: 'message', status: 'in_progress', role: 'assistant', content: [] } });
          this.ev('response.content_part.added', { item_id: item.id, output_index: outputIndex, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } });
        } else if (e.kind === 'thinking') {
          this.ev('response.output_item.added', { output_index: outputIndex, item: { id: item.id, type: 'reasoning', summary: [] } });
          this.ev('response.reasoning_summary_part.added', { item_id: item.id, output_index: outputIndex, summary_index: 0, part: { type: 'summary_text', text: '' } });
        } else {
          this.ev('response.output_item.added', { output_index: outputIndex, item: this.shapes.item(item.id, item.callId, item.name, '', false) });
        }
        return;
      }
      case 'delta': {
        const item = this.items[e.index];
        if (!item) return;
        item.text.push(e.text);
        const at = { item_id: item.id, output_index: item.outputIndex };
        if (item.kind === 'text') this.ev('response.output_text.delta', { ...at, content_index: 0, delta: e.text, logprobs: [] });
        else if (item.kind === 'thinking') this.ev('response.reasoning_summary_text.delta', { ...at, summary_index: 0, delta: e.text });
        // A custom tool's input is only known once its JSON arguments are complete.
        else if (!this.shapes.isCustom(item.name)) this.ev('response.function_call_arguments.delta', { ...at, delta: e.text });
        return;
      }
      case 'block_stop': {
        const item = this.items[e.index];
        if (!item) return;
        const text = item.text.join('');
        const at = { item_id: item.id, output_index: item.outputIndex };
        let done: JsonObject;
        if (item.kind === 'text') {
          const part = { type: 'output_text', text, annotations: [] };
          this.ev('response.output_text.done', { ...at, content_index: 0, text, logprobs: [] });
          this.ev('response.content_part.done', { ...at, content_index: 0, part });
          done = { id: item.id, type: 'message', status: 'completed', role: 'assistant', content: [part] };
        } else if (item.kind === 'thinking') {
          this.ev('response.reasoning_summary_text.done', { ...at, summary_index: 0, text });
          this.ev('response.reasoning_summary_part.done', { ...at, summary_index: 0, part: { type: 'summary_text', text } });
          done = { id: item.id, type: 'reasoning', summary: [{ type: 'summary_text', text }] };
        } else {
          done = this.shapes.item(item.id, item.callId, item.name, text, true);
          if (done.type === 'custom_tool_call') {
            this.ev('response.custom_tool_call_input.delta', { ...at, delta: done.input });
            this.ev('response.custom_tool_call_input.done', { ...at, input: done.input });
          } else {
            this.ev('response.function_call_arguments.done', { ...at, arguments: text, name: done.name });
          }
        }
        this.output[item.outputIndex] = done;
        this.ev('response.output_item.done', { output_index: item.outputIndex, item: done });
        return;
      }
      case 'usage':
        this.usage = e.usage;
        return;
      case 'finish':
        this.stop = e.stop;
        return;
      case 'error':
        this.out += openaiResponses.renderStreamError(e.status, 'upstream_error', e.message);
        return;
      case 'done': {
        const status = statusOfStop(this.stop);
        this.ev(status === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: responseObject(this.id, this.req, status, this.output, encodeUsage(this.usage), this.stop) });
        return;
      }
      default:
        return;
    }
  }
}

export const openaiResponsesCodec: Codec = {
  flag: 'openai_responses',
  format: openaiResponses,
  decodeRequest,
  encodeResponse,
  createStreamEncoder: (req) => new ResponsesStreamEncoder(req),
  countTokensBody: (tokens) => ({ object: 'response.input_tokens', input_tokens: tokens }),
  encodeRequest,
  decodeResponse,
  createStreamDecoder: (sink) => new ResponsesStreamDecoder(sink),
};
