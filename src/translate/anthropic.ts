/**
 * The Anthropic Messages codec (https://docs.anthropic.com/en/api/messages): requests,
 * answers and the event stream (`message_start`, `content_block_start|delta|stop`,
 * `message_delta`, `message_stop`, `error`) to and from the canonical shape.
 *
 * Anthropic's `input_tokens` excludes prompt-cache reads and writes; canonical input
 * includes them. `max_tokens` is required here, so a request without one gets
 * DEFAULT_MAX_TOKENS.
 */
import { anthropicMessages } from '../formats/anthropic-messages.js';
import type {
  CanonEffort,
  CanonImage,
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
import {
  argsText,
  arr,
  DEFAULT_MAX_TOKENS,
  EFFORT_BUDGET,
  isObject,
  num,
  objects,
  parseArgs,
  splitSystem,
  str,
  untranslatable,
  type JsonObject,
} from './util.js';

const TO_CANON_STOP: Record<string, CanonStop> = {
  end_turn: 'end',
  max_tokens: 'max_tokens',
  model_context_window_exceeded: 'max_tokens',
  tool_use: 'tool_use',
  stop_sequence: 'stop_sequence',
  refusal: 'refusal',
  pause_turn: 'end',
};

const FROM_CANON_STOP: Record<CanonStop, string> = {
  end: 'end_turn',
  max_tokens: 'max_tokens',
  tool_use: 'tool_use',
  stop_sequence: 'stop_sequence',
  content_filter: 'refusal',
  refusal: 'refusal',
};

/** Anthropic's API version for requests keyway builds itself (the client's own is not sent to other APIs). */
const ANTHROPIC_VERSION = '2023-06-01';

// ── client side: requests ────────────────────────────────────────────────────

function decodeRequest(body: JsonObject, stream: boolean): CanonRequest {
  if (arr(body.mcp_servers).length > 0) throw untranslatable('mcp_servers', 'remote MCP servers are an Anthropic feature');
  if (body.container !== undefined && body.container !== null) throw untranslatable('container', 'code-execution containers are an Anthropic feature');
  const system: string[] = [];
  if (typeof body.system === 'string') {
    if (body.system !== '') system.push(body.system);
  } else {
    for (const b of objects(body.system)) if (typeof b.text === 'string' && b.text !== '') system.push(b.text);
  }
  const messages: CanonMessage[] = [];
  arr(body.messages).forEach((m, i) => {
    if (!isObject(m)) return;
    const role = m.role === 'assistant' ? 'assistant' : m.role === 'system' ? 'system' : 'user';
    const parts = decodeContent(m.content, `messages[${i}].content`);
    // A leading system message is the system prompt; later ones stay where they are.
    if (role === 'system' && messages.length === 0) {
      for (const p of parts) if (p.type === 'text') system.push(p.text);
      return;
    }
    messages.push({ role, parts });
  });
  const tools: CanonTool[] = [];
  for (const t of objects(body.tools)) {
    // Versioned built-in tools (web_search_…, bash_…, text_editor_…, computer_…) have a
    // `type` and no schema: only Anthropic's models know them, so they are dropped.
    if (t.type !== undefined && t.type !== 'custom') continue;
    if (typeof t.name !== 'string') continue;
    tools.push({ name: t.name, description: str(t.description), parameters: isObject(t.input_schema) ? t.input_schema : { type: 'object', properties: {} } });
  }
  let toolChoice: CanonToolChoice | undefined;
  let parallel: boolean | undefined;
  if (isObject(body.tool_choice)) {
    const tc = body.tool_choice;
    toolChoice = tc.type === 'any' ? { mode: 'required' } : tc.type === 'tool' && typeof tc.name === 'string' ? { mode: 'tool', name: tc.name } : tc.type === 'none' ? { mode: 'none' } : { mode: 'auto' };
    if (tc.disable_parallel_tool_use === true) parallel = false;
  }
  const metadata = isObject(body.metadata) ? body.metadata : undefined;
  return {
    model: str(body.model) ?? '',
    system,
    messages,
    tools,
    toolChoice,
    parallelToolCalls: parallel,
    maxTokens: num(body.max_tokens),
    temperature: num(body.temperature),
    topP: num(body.top_p),
    topK: num(body.top_k),
    stop: Array.isArray(body.stop_sequences) ? body.stop_sequences.filter((s): s is string => typeof s === 'string') : undefined,
    seed: undefined,
    presencePenalty: undefined,
    frequencyPenalty: undefined,
    stream,
    streamUsage: true,
    reasoning: decodeThinking(body),
    output: decodeOutputFormat(body),
    user: str(metadata?.user_id),
  };
}

function decodeThinking(body: JsonObject): CanonRequest['reasoning'] {
  const thinking = isObject(body.thinking) ? body.thinking : undefined;
  const config = isObject(body.output_config) ? body.output_config : undefined;
  const rawEffort = str(config?.effort);
  const effort: CanonEffort | undefined = rawEffort === 'low' || rawEffort === 'medium' || rawEffort === 'high' ? rawEffort : rawEffort === 'max' ? 'high' : undefined;
  if (thinking?.type === 'disabled') return { enabled: false, effort: undefined, budgetTokens: undefined };
  if (thinking?.type === 'enabled') return { enabled: true, effort, budgetTokens: num(thinking.budget_tokens) };
  if (thinking?.type === 'adaptive' || effort !== undefined) return { enabled: true, effort, budgetTokens: undefined };
  return undefined;
}

function decodeOutputFormat(body: JsonObject): CanonRequest['output'] {
  const config = isObject(body.output_config) ? body.output_config : undefined;
  const format = isObject(body.output_format) ? body.output_format : isObject(config?.format) ? config.format : undefined;
  if (format?.type === 'json_schema' && isObject(format.schema)) return { type: 'json_schema', name: 'response', schema: format.schema, strict: true };
  return undefined;
}

function decodeContent(content: unknown, path: string): CanonPart[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  const parts: CanonPart[] = [];
  arr(content).forEach((b, i) => {
    if (!isObject(b)) return;
    switch (b.type) {
      case 'text':
        if (typeof b.text === 'string') parts.push({ type: 'text', text: b.text });
        return;
      case 'image': {
        const image = decodeImage(b.source);
        if (image) parts.push(image);
        return;
      }
      case 'thinking':
        if (typeof b.thinking === 'string') parts.push({ type: 'thinking', text: b.thinking, signature: str(b.signature) });
        return;
      case 'tool_use':
        parts.push({ type: 'tool_call', id: str(b.id) ?? '', name: str(b.name) ?? '', arguments: argsText(b.input) });
        return;
      case 'tool_result': {
        const result: CanonPart = { type: 'tool_result', id: str(b.tool_use_id) ?? '', name: undefined, content: [], isError: b.is_error === true };
        if (typeof b.content === 'string') result.content.push({ type: 'text', text: b.content });
        for (const c of objects(b.content)) {
          if (c.type === 'text' && typeof c.text === 'string') result.content.push({ type: 'text', text: c.text });
          else if (c.type === 'image') {
            const image = decodeImage(c.source);
            if (image) result.content.push(image);
          }
        }
        parts.push(result);
        return;
      }
      // Encrypted reasoning and the traces of Anthropic-hosted tools mean nothing to another API.
      case 'redacted_thinking':
      case 'server_tool_use':
      case 'web_search_tool_result':
      case 'web_fetch_tool_result':
      case 'code_execution_tool_result':
      case 'mcp_tool_use':
      case 'mcp_tool_result':
        return;
      default:
        throw untranslatable(`${path}[${i}].type "${String(b.type)}"`, 'only text, image, thinking, tool_use and tool_result blocks have a counterpart');
    }
  });
  return parts;
}

function decodeImage(source: unknown): CanonImage | undefined {
  if (!isObject(source)) return undefined;
  if (source.type === 'base64' && typeof source.data === 'string') return { type: 'image', mediaType: str(source.media_type) ?? 'image/png', data: source.data, url: undefined };
  if (source.type === 'url' && typeof source.url === 'string') return { type: 'image', mediaType: 'image/png', data: undefined, url: source.url };
  return undefined;
}

// ── upstream side: requests ──────────────────────────────────────────────────

function encodeRequest(req: CanonRequest, upstreamModel: string): UpstreamCall {
  if (req.output) throw untranslatable('structured output (response_format, text.format, responseJsonSchema)', 'the Anthropic Messages provider of this model is not sent a JSON schema by keyway');
  const { system, messages } = splitSystem(req);
  const maxTokens = req.maxTokens ?? DEFAULT_MAX_TOKENS;
  const body: JsonObject = { model: upstreamModel, max_tokens: maxTokens, messages: encodeMessages(messages) };
  if (system.length > 0) body.system = system.map((text) => ({ type: 'text', text }));
  if (req.tools.length > 0) {
    body.tools = req.tools.map((t) => ({ name: t.name, ...(t.description ? { description: t.description } : {}), input_schema: t.parameters }));
    const choice = encodeToolChoice(req.toolChoice, req.parallelToolCalls);
    if (choice) body.tool_choice = choice;
  }
  if (req.stop && req.stop.length > 0) body.stop_sequences = req.stop;
  const budget = thinkingBudget(req, maxTokens);
  if (budget !== undefined) {
    // Extended thinking takes no temperature or top_k, and top_p only from 0.95 up.
    body.thinking = { type: 'enabled', budget_tokens: budget };
  } else {
    if (req.temperature !== undefined) body.temperature = Math.min(1, req.temperature);
    if (req.topP !== undefined) body.top_p = req.topP;
    if (req.topK !== undefined) body.top_k = req.topK;
  }
  if (req.user) body.metadata = { user_id: req.user };
  if (req.stream) body.stream = true;
  return { path: '/v1/messages', body, headers: [['anthropic-version', ANTHROPIC_VERSION]] };
}

/** thinkingBudget is the budget to ask for, or undefined for no extended thinking (Anthropic needs 1024 ≤ budget < max_tokens). */
function thinkingBudget(req: CanonRequest, maxTokens: number): number | undefined {
  const r = req.reasoning;
  if (!r || !r.enabled || r.effort === 'minimal') return undefined;
  const wanted = r.budgetTokens ?? (r.effort ? EFFORT_BUDGET[r.effort]! : undefined);
  if (wanted === undefined) return undefined;
  const budget = Math.min(wanted, maxTokens - 1);
  return budget >= 1024 ? budget : undefined;
}

function encodeToolChoice(choice: CanonToolChoice | undefined, parallel: boolean | undefined): JsonObject | undefined {
  const out: JsonObject | undefined = !choice
    ? undefined
    : choice.mode === 'required' ? { type: 'any' } : choice.mode === 'tool' ? { type: 'tool', name: choice.name } : choice.mode === 'none' ? { type: 'none' } : { type: 'auto' };
  if (parallel === false && out?.type !== 'none') return { ...(out ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return out;
}

/**
 * encodeMessages writes the conversation as Anthropic needs it: consecutive messages of
 * one role merged, tool results first in their user message, no empty text blocks, and
 * earlier reasoning kept only when it carries Anthropic's signature.
 */
function encodeMessages(messages: readonly CanonMessage[]): JsonObject[] {
  const out: Array<{ role: string; content: JsonObject[] }> = [];
  for (const m of messages) {
    const role = m.role === 'assistant' ? 'assistant' : 'user';
    const blocks: JsonObject[] = [];
    for (const p of m.parts) {
      const block = encodePart(p);
      if (block) blocks.push(block);
    }
    if (blocks.length === 0) continue;
    const last = out[out.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  }
  for (const m of out) {
    if (m.role === 'user' && m.content.some((b) => b.type === 'tool_result')) {
      m.content = [...m.content.filter((b) => b.type === 'tool_result'), ...m.content.filter((b) => b.type !== 'tool_result')];
    }
  }
  return out;
}

function encodePart(p: CanonPart): JsonObject | undefined {
  switch (p.type) {
    case 'text':
      return p.text === '' ? undefined : { type: 'text', text: p.text };
    case 'image':
      return { type: 'image', source: encodeImageSource(p) };
    case 'thinking':
      return p.signature ? { type: 'thinking', thinking: p.text, signature: p.signature } : undefined;
    case 'tool_call':
      return { type: 'tool_use', id: p.id, name: p.name, input: parseArgs(p.arguments) };
    case 'tool_result': {
      const content = p.content.map((c) => (c.type === 'text' ? { type: 'text', text: c.text } : { type: 'image', source: encodeImageSource(c) })).filter((c) => c.type !== 'text' || c.text !== '');
      return { type: 'tool_result', tool_use_id: p.id, content, ...(p.isError ? { is_error: true } : {}) };
    }
  }
}

function encodeImageSource(image: { mediaType: string; data: string | undefined; url: string | undefined }): JsonObject {
  return image.data !== undefined ? { type: 'base64', media_type: image.mediaType, data: image.data } : { type: 'url', url: image.url };
}

// ── answers ──────────────────────────────────────────────────────────────────

export function decodeUsage(u: unknown): CanonUsage | undefined {
  if (!isObject(u)) return undefined;
  const input = num(u.input_tokens);
  const output = num(u.output_tokens);
  if (input === undefined && output === undefined) return undefined;
  const read = num(u.cache_read_input_tokens) ?? 0;
  const write = num(u.cache_creation_input_tokens) ?? 0;
  return { input: (input ?? 0) + read + write, output: output ?? 0, cacheRead: read, cacheWrite: write, reasoning: 0 };
}

function encodeUsage(u: CanonUsage | undefined): JsonObject {
  const usage = u ?? { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 };
  return {
    input_tokens: Math.max(0, usage.input - usage.cacheRead - usage.cacheWrite),
    cache_creation_input_tokens: usage.cacheWrite,
    cache_read_input_tokens: usage.cacheRead,
    output_tokens: usage.output,
  };
}

function decodeResponse(body: unknown): CanonResponse | undefined {
  if (!isObject(body) || !Array.isArray(body.content)) return undefined;
  const content: CanonOutputPart[] = [];
  for (const b of objects(body.content)) {
    if (b.type === 'text' && typeof b.text === 'string') content.push({ type: 'text', text: b.text });
    else if (b.type === 'thinking' && typeof b.thinking === 'string') content.push({ type: 'thinking', text: b.thinking, signature: str(b.signature) });
    else if (b.type === 'tool_use') content.push({ type: 'tool_call', id: str(b.id) ?? '', name: str(b.name) ?? '', arguments: argsText(b.input) });
  }
  return {
    id: str(body.id) ?? '',
    model: str(body.model) ?? '',
    content,
    stop: TO_CANON_STOP[str(body.stop_reason) ?? ''] ?? 'end',
    stopSequence: str(body.stop_sequence),
    usage: decodeUsage(body.usage),
  };
}

function encodeResponse(res: CanonResponse, req: CanonRequest): JsonObject {
  return {
    id: res.id,
    type: 'message',
    role: 'assistant',
    model: req.model,
    content: res.content.map((p) =>
      p.type === 'text' ? { type: 'text', text: p.text } : p.type === 'thinking' ? { type: 'thinking', thinking: p.text, signature: p.signature ?? '' } : { type: 'tool_use', id: p.id, name: p.name, input: parseArgs(p.arguments) },
    ),
    stop_reason: FROM_CANON_STOP[res.stop],
    stop_sequence: res.stopSequence ?? null,
    usage: encodeUsage(res.usage),
  };
}

// ── streams ──────────────────────────────────────────────────────────────────

/** Reads Anthropic's event stream; blocks of hosted tools and redacted thinking are skipped. */
class AnthropicStreamDecoder implements StreamDecoder {
  /** Anthropic block index → canonical index, or -1 for a skipped block. */
  private indices: number[] = [];
  private next = 0;
  private usage: CanonUsage | undefined;
  private stop: CanonStop | undefined;
  private stopSequence: string | undefined;
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
    switch (ev.type) {
      case 'message_start': {
        const message = isObject(ev.message) ? ev.message : {};
        this.usage = decodeUsage(message.usage);
        this.sink.emit({ type: 'start', id: str(message.id), model: str(message.model), usage: this.usage });
        return;
      }
      case 'content_block_start': {
        const block = isObject(ev.content_block) ? ev.content_block : {};
        const at = num(ev.index) ?? this.indices.length;
        const kind = block.type === 'text' ? 'text' : block.type === 'thinking' ? 'thinking' : block.type === 'tool_use' ? 'tool_call' : undefined;
        if (!kind) {
          this.indices[at] = -1;
          return;
        }
        const index = this.next++;
        this.indices[at] = index;
        if (kind === 'tool_call') this.sink.emit({ type: 'block_start', index, kind, id: str(block.id) ?? '', name: str(block.name) ?? '' });
        else this.sink.emit({ type: 'block_start', index, kind });
        // A block may start with content already in it.
        const initial = kind === 'text' ? str(block.text) : kind === 'thinking' ? str(block.thinking) : isObject(block.input) && Object.keys(block.input).length > 0 ? JSON.stringify(block.input) : undefined;
        if (initial) this.sink.emit({ type: 'delta', index, text: initial });
        return;
      }
      case 'content_block_delta': {
        const index = this.indices[num(ev.index) ?? -1];
        const delta = isObject(ev.delta) ? ev.delta : {};
        if (index === undefined || index < 0) return;
        const text = delta.type === 'text_delta' ? delta.text : delta.type === 'input_json_delta' ? delta.partial_json : delta.type === 'thinking_delta' ? delta.thinking : undefined;
        if (typeof text === 'string') this.sink.emit({ type: 'delta', index, text });
        else if (delta.type === 'signature_delta' && typeof delta.signature === 'string') this.sink.emit({ type: 'signature', index, signature: delta.signature });
        return;
      }
      case 'content_block_stop': {
        const index = this.indices[num(ev.index) ?? -1];
        if (index !== undefined && index >= 0) this.sink.emit({ type: 'block_stop', index });
        return;
      }
      case 'message_delta': {
        const delta = isObject(ev.delta) ? ev.delta : {};
        if (typeof delta.stop_reason === 'string') {
          this.stop = TO_CANON_STOP[delta.stop_reason] ?? 'end';
          this.stopSequence = str(delta.stop_sequence);
        }
        // message_delta's usage is cumulative and may omit the input side: merge.
        const update = isObject(ev.usage) ? ev.usage : undefined;
        if (update) {
          const merged = decodeUsage({ ...encodeUsage(this.usage), ...Object.fromEntries(Object.entries(update).filter(([, v]) => v != null)) });
          if (merged) this.sink.emit({ type: 'usage', usage: (this.usage = merged) });
        }
        if (this.stop) this.sink.emit({ type: 'finish', stop: this.stop, stopSequence: this.stopSequence });
        return;
      }
      case 'message_stop':
        this.done = true;
        this.sink.emit({ type: 'done' });
        return;
      case 'error': {
        const error = isObject(ev.error) ? ev.error : {};
        this.sink.emit({ type: 'error', status: statusOfErrorType(str(error.type)), message: str(error.message) ?? 'the provider reported an error' });
        return;
      }
      default:
        return; // ping and event types added later
    }
  }

  end(): void {
    // A stream that sent its stop reason but not message_stop is complete enough.
    if (!this.done && this.stop) this.sink.emit({ type: 'done' });
  }
}

/** statusOfErrorType maps an Anthropic `error.type` back to its HTTP status (for errors inside a stream). */
function statusOfErrorType(type: string | undefined): number {
  switch (type) {
    case 'invalid_request_error': return 400;
    case 'authentication_error': return 401;
    case 'permission_error': return 403;
    case 'not_found_error': return 404;
    case 'request_too_large': return 413;
    case 'rate_limit_error': return 429;
    case 'overloaded_error': return 529;
    default: return 500;
  }
}

/** Writes canonical events as Anthropic's event stream. */
class AnthropicStreamEncoder implements StreamEncoder {
  readonly contentType = 'text/event-stream; charset=utf-8';
  private out = '';
  private usage: CanonUsage | undefined;
  private stop: CanonStop = 'end';
  private stopSequence: string | undefined;
  private started = false;
  private kinds: string[] = [];

  constructor(private readonly req: CanonRequest) {}

  take(): string {
    const out = this.out;
    this.out = '';
    return out;
  }

  private frame(event: string, data: JsonObject): void {
    this.out += `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  }

  emit(e: CanonEvent): void {
    switch (e.type) {
      case 'start':
        this.started = true;
        if (e.usage) this.usage = e.usage;
        this.frame('message_start', {
          type: 'message_start',
          message: { id: e.id ?? 'msg_keyway', type: 'message', role: 'assistant', model: this.req.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...encodeUsage(this.usage), output_tokens: this.usage?.output ?? 0 } },
        });
        return;
      case 'block_start': {
        this.kinds[e.index] = e.kind;
        const block = e.kind === 'text' ? { type: 'text', text: '' } : e.kind === 'thinking' ? { type: 'thinking', thinking: '', signature: '' } : { type: 'tool_use', id: e.id, name: e.name, input: {} };
        this.frame('content_block_start', { type: 'content_block_start', index: e.index, content_block: block });
        return;
      }
      case 'delta': {
        const kind = this.kinds[e.index];
        const delta = kind === 'tool_call' ? { type: 'input_json_delta', partial_json: e.text } : kind === 'thinking' ? { type: 'thinking_delta', thinking: e.text } : { type: 'text_delta', text: e.text };
        this.frame('content_block_delta', { type: 'content_block_delta', index: e.index, delta });
        return;
      }
      case 'signature':
        if (this.kinds[e.index] === 'thinking') this.frame('content_block_delta', { type: 'content_block_delta', index: e.index, delta: { type: 'signature_delta', signature: e.signature } });
        return;
      case 'block_stop':
        this.frame('content_block_stop', { type: 'content_block_stop', index: e.index });
        return;
      case 'usage':
        this.usage = e.usage;
        return;
      case 'finish':
        this.stop = e.stop;
        this.stopSequence = e.stopSequence;
        return;
      case 'error':
        this.out += anthropicMessages.renderStreamError(e.status, 'upstream_error', e.message);
        return;
      case 'done':
        if (!this.started) return;
        this.frame('message_delta', { type: 'message_delta', delta: { stop_reason: FROM_CANON_STOP[this.stop], stop_sequence: this.stopSequence ?? null }, usage: encodeUsage(this.usage) });
        this.frame('message_stop', { type: 'message_stop' });
        return;
    }
  }
}

export const anthropicCodec: Codec = {
  flag: 'anthropic_messages',
  format: anthropicMessages,
  decodeRequest,
  encodeResponse,
  createStreamEncoder: (req) => new AnthropicStreamEncoder(req),
  countTokensBody: (tokens) => ({ input_tokens: tokens }),
  encodeRequest,
  decodeResponse,
  createStreamDecoder: (sink) => new AnthropicStreamDecoder(sink),
};
