/**
 * The OpenAI Chat Completions codec (https://platform.openai.com/docs/api-reference/chat):
 * requests, `chat.completion` answers and `chat.completion.chunk` streams ending in
 * `data: [DONE]`, to and from the canonical shape.
 *
 * `prompt_tokens` includes cached tokens, as canonical input does. Toward a chat
 * upstream keyway always asks for the final usage chunk (`stream_options.include_usage`),
 * and gives it to a chat client only if it asked.
 */
import { openaiChat } from '../formats/openai-chat.js';
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
import { effortOfBudget, imageFromUrl, imageUrl, isObject, num, objects, str, textOf, untranslatable, arr, type JsonObject } from './util.js';

const TO_CANON_STOP: Record<string, CanonStop> = {
  stop: 'end',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'content_filter',
};

const FROM_CANON_STOP: Record<CanonStop, string> = {
  end: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  content_filter: 'content_filter',
  refusal: 'content_filter',
};

const REASONING_EFFORTS: ReadonlySet<string> = new Set(['minimal', 'low', 'medium', 'high']);

// ── client side: requests ────────────────────────────────────────────────────

function decodeRequest(body: JsonObject, stream: boolean): CanonRequest {
  const n = num(body.n);
  if (n !== undefined && n > 1) throw untranslatable('n', `n = ${n} asks for several answers and the provider's API gives one`);
  if (body.logprobs === true || body.top_logprobs !== undefined) throw untranslatable('logprobs', "the provider's API returns no token log probabilities");
  if (body.audio !== undefined || arr(body.modalities).includes('audio')) throw untranslatable('audio', 'audio output has no counterpart');
  if (arr(body.functions).length > 0) throw untranslatable('functions', 'the legacy functions field is not translated; send tools');
  const system: string[] = [];
  const messages: CanonMessage[] = [];
  arr(body.messages).forEach((m, i) => {
    if (!isObject(m)) return;
    const path = `messages[${i}]`;
    switch (m.role) {
      case 'system':
      case 'developer': {
        const text = textOf(m.content);
        if (messages.length === 0) {
          if (text !== '') system.push(text);
        } else messages.push({ role: 'system', parts: [{ type: 'text', text }] });
        return;
      }
      case 'user':
        messages.push({ role: 'user', parts: decodeContent(m.content, `${path}.content`) });
        return;
      case 'assistant': {
        const parts: CanonPart[] = [];
        const reasoning = str(m.reasoning_content) ?? str(m.reasoning);
        if (reasoning) parts.push({ type: 'thinking', text: reasoning, signature: undefined });
        parts.push(...decodeContent(m.content, `${path}.content`));
        if (typeof m.refusal === 'string' && m.refusal !== '') parts.push({ type: 'text', text: m.refusal });
        for (const tc of objects(m.tool_calls)) {
          const fn = isObject(tc.function) ? tc.function : {};
          parts.push({ type: 'tool_call', id: str(tc.id) ?? '', name: str(fn.name) ?? '', arguments: str(fn.arguments) ?? '' });
        }
        messages.push({ role: 'assistant', parts });
        return;
      }
      case 'tool': {
        const result: CanonPart = { type: 'tool_result', id: str(m.tool_call_id) ?? '', name: undefined, content: [{ type: 'text', text: textOf(m.content) }], isError: false };
        // Results of one assistant turn arrive as consecutive tool messages: one user turn.
        const last = messages[messages.length - 1];
        if (last && last.role === 'user' && last.parts.every((p) => p.type === 'tool_result')) last.parts.push(result);
        else messages.push({ role: 'user', parts: [result] });
        return;
      }
      default:
        throw untranslatable(`${path}.role "${String(m.role)}"`, 'only system, developer, user, assistant and tool messages have a counterpart');
    }
  });
  const tools: CanonTool[] = [];
  for (const t of objects(body.tools)) {
    // Non-function tools (custom grammars) have no counterpart: dropped, see docs/translation.md.
    if (t.type !== 'function' || !isObject(t.function) || typeof t.function.name !== 'string') continue;
    tools.push({ name: t.function.name, description: str(t.function.description), parameters: isObject(t.function.parameters) ? t.function.parameters : { type: 'object', properties: {} } });
  }
  const so = isObject(body.stream_options) ? body.stream_options : undefined;
  const effort = str(body.reasoning_effort);
  return {
    model: str(body.model) ?? '',
    system,
    messages,
    tools,
    toolChoice: decodeToolChoice(body.tool_choice),
    parallelToolCalls: typeof body.parallel_tool_calls === 'boolean' ? body.parallel_tool_calls : undefined,
    maxTokens: num(body.max_completion_tokens) ?? num(body.max_tokens),
    temperature: num(body.temperature),
    topP: num(body.top_p),
    topK: undefined,
    stop: typeof body.stop === 'string' ? [body.stop] : Array.isArray(body.stop) ? body.stop.filter((s): s is string => typeof s === 'string') : undefined,
    seed: num(body.seed),
    presencePenalty: num(body.presence_penalty),
    frequencyPenalty: num(body.frequency_penalty),
    stream,
    streamUsage: so?.include_usage === true,
    reasoning: effort === 'none' ? { enabled: false, effort: undefined, budgetTokens: undefined } : effort !== undefined ? { enabled: true, effort: REASONING_EFFORTS.has(effort) ? (effort as 'low') : 'high', budgetTokens: undefined } : undefined,
    output: decodeResponseFormat(body.response_format),
    user: str(body.user) ?? str(body.safety_identifier),
  };
}

export function decodeToolChoice(v: unknown): CanonToolChoice | undefined {
  if (v === 'none' || v === 'auto' || v === 'required') return { mode: v };
  if (isObject(v)) {
    const name = isObject(v.function) ? str(v.function.name) : str(v.name);
    if (name) return { mode: 'tool', name };
    return { mode: 'auto' };
  }
  return undefined;
}

function decodeResponseFormat(v: unknown): CanonRequest['output'] {
  if (!isObject(v)) return undefined;
  if (v.type === 'json_object') return { type: 'json' };
  if (v.type === 'json_schema' && isObject(v.json_schema)) {
    const js = v.json_schema;
    return { type: 'json_schema', name: str(js.name) ?? 'response', schema: isObject(js.schema) ? js.schema : {}, strict: typeof js.strict === 'boolean' ? js.strict : undefined };
  }
  return undefined;
}

function decodeContent(content: unknown, path: string): CanonPart[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  const parts: CanonPart[] = [];
  arr(content).forEach((p, i) => {
    if (!isObject(p)) return;
    if ((p.type === 'text' || p.type === 'input_text') && typeof p.text === 'string') parts.push({ type: 'text', text: p.text });
    else if (p.type === 'refusal' && typeof p.refusal === 'string') parts.push({ type: 'text', text: p.refusal });
    else if (p.type === 'image_url') {
      const url = isObject(p.image_url) ? str(p.image_url.url) : str(p.image_url);
      if (url) parts.push(imageFromUrl(url));
    } else throw untranslatable(`${path}[${i}].type "${String(p.type)}"`, 'only text and image parts have a counterpart');
  });
  return parts;
}

// ── upstream side: requests ──────────────────────────────────────────────────

/**
 * encodeRequest writes a Chat Completions request. `max_tokens` goes to OpenAI-compatible
 * servers, which all understand it; api.openai.com gets `max_completion_tokens`, since its
 * reasoning models refuse `max_tokens`.
 */
function encodeRequest(req: CanonRequest, upstreamModel: string, upstream?: string): UpstreamCall {
  const body: JsonObject = { model: upstreamModel, messages: encodeMessages(req) };
  if (req.tools.length > 0) {
    body.tools = req.tools.map((t) => ({ type: 'function', function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.parameters } }));
    const choice = encodeToolChoice(req.toolChoice);
    if (choice !== undefined) body.tool_choice = choice;
    if (req.parallelToolCalls !== undefined) body.parallel_tool_calls = req.parallelToolCalls;
  }
  if (req.maxTokens !== undefined) body[upstream === 'openai' ? 'max_completion_tokens' : 'max_tokens'] = req.maxTokens;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.stop && req.stop.length > 0) body.stop = req.stop;
  if (req.seed !== undefined) body.seed = req.seed;
  if (req.presencePenalty !== undefined) body.presence_penalty = req.presencePenalty;
  if (req.frequencyPenalty !== undefined) body.frequency_penalty = req.frequencyPenalty;
  if (req.user) body.user = req.user;
  const r = req.reasoning;
  if (r?.enabled && (r.effort || r.budgetTokens !== undefined)) body.reasoning_effort = r.effort ?? effortOfBudget(r.budgetTokens!);
  if (req.output) body.response_format = encodeResponseFormat(req.output);
  if (req.stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return { path: '/v1/chat/completions', body, headers: [] };
}

export function encodeResponseFormat(output: NonNullable<CanonRequest['output']>): JsonObject {
  return output.type === 'json'
    ? { type: 'json_object' }
    : { type: 'json_schema', json_schema: { name: output.name, schema: output.schema, ...(output.strict !== undefined ? { strict: output.strict } : {}) } };
}

function encodeToolChoice(choice: CanonToolChoice | undefined): unknown {
  if (!choice) return undefined;
  return choice.mode === 'tool' ? { type: 'function', function: { name: choice.name } } : choice.mode;
}

/**
 * encodeMessages writes the conversation: the system prompt as one leading system message
 * (self-hosted chat templates accept only one), mid-conversation system messages where
 * they were, tool results as `tool` messages before the rest of their user turn, and
 * images returned by a tool in a user message right after the results.
 */
function encodeMessages(req: CanonRequest): JsonObject[] {
  const out: JsonObject[] = [];
  if (req.system.length > 0) out.push({ role: 'system', content: req.system.join('\n\n') });
  for (const m of req.messages) {
    if (m.role === 'system') {
      const text = m.parts.map((p) => (p.type === 'text' ? p.text : '')).join('');
      if (text !== '') out.push({ role: 'system', content: text });
      continue;
    }
    if (m.role === 'assistant') {
      const text = m.parts.map((p) => (p.type === 'text' ? p.text : '')).join('');
      const calls = m.parts.filter((p) => p.type === 'tool_call').map((p) => ({ id: p.id, type: 'function', function: { name: p.name, arguments: p.arguments || '{}' } }));
      if (text === '' && calls.length === 0) continue;
      const msg: JsonObject = { role: 'assistant', content: text === '' ? null : text };
      if (calls.length > 0) msg.tool_calls = calls;
      out.push(msg);
      continue;
    }
    const toolImages: JsonObject[] = [];
    for (const p of m.parts) {
      if (p.type !== 'tool_result') continue;
      let text = p.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
      // Chat has no error flag for a tool result: the text says it.
      if (p.isError && text.slice(0, 5).toLowerCase() !== 'error') text = `Error: ${text}`;
      out.push({ role: 'tool', tool_call_id: p.id, content: text });
      for (const c of p.content) if (c.type === 'image') toolImages.push({ type: 'image_url', image_url: { url: imageUrl(c) } });
    }
    const rest = m.parts.filter((p) => p.type === 'text' || p.type === 'image');
    const content: JsonObject[] = [...toolImages, ...rest.map((p) => (p.type === 'text' ? { type: 'text', text: p.text } : { type: 'image_url', image_url: { url: imageUrl(p as Extract<CanonPart, { type: 'image' }>) } }))];
    if (content.length === 0) continue;
    out.push({ role: 'user', content: content.every((c) => c.type === 'text') ? content.map((c) => c.text).join('') : content });
  }
  return out;
}

// ── answers ──────────────────────────────────────────────────────────────────

export function decodeUsage(u: unknown): CanonUsage | undefined {
  if (!isObject(u)) return undefined;
  const prompt = num(u.prompt_tokens);
  const completion = num(u.completion_tokens);
  if (prompt === undefined && completion === undefined) return undefined;
  const pd = isObject(u.prompt_tokens_details) ? u.prompt_tokens_details : {};
  const cd = isObject(u.completion_tokens_details) ? u.completion_tokens_details : {};
  return { input: prompt ?? 0, output: completion ?? 0, cacheRead: num(pd.cached_tokens) ?? 0, cacheWrite: num(pd.cache_write_tokens) ?? 0, reasoning: num(cd.reasoning_tokens) ?? 0 };
}

export function encodeUsage(u: CanonUsage | undefined): JsonObject {
  const usage = u ?? { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 };
  return {
    prompt_tokens: usage.input,
    completion_tokens: usage.output,
    total_tokens: usage.input + usage.output,
    prompt_tokens_details: { cached_tokens: usage.cacheRead },
    completion_tokens_details: { reasoning_tokens: usage.reasoning },
  };
}

function decodeResponse(body: unknown): CanonResponse | undefined {
  if (!isObject(body) || !Array.isArray(body.choices)) return undefined;
  const choice = objects(body.choices)[0] ?? {};
  const message = isObject(choice.message) ? choice.message : {};
  const content: CanonOutputPart[] = [];
  const reasoning = str(message.reasoning_content) ?? str(message.reasoning);
  if (reasoning) content.push({ type: 'thinking', text: reasoning, signature: undefined });
  const text = textOf(message.content);
  if (text !== '') content.push({ type: 'text', text });
  if (typeof message.refusal === 'string' && message.refusal !== '') content.push({ type: 'text', text: message.refusal });
  for (const tc of objects(message.tool_calls)) {
    const fn = isObject(tc.function) ? tc.function : {};
    content.push({ type: 'tool_call', id: str(tc.id) ?? '', name: str(fn.name) ?? '', arguments: str(fn.arguments) ?? '' });
  }
  const finish = str(choice.finish_reason) ?? '';
  return {
    id: str(body.id) ?? '',
    model: str(body.model) ?? '',
    content,
    stop: typeof message.refusal === 'string' && message.refusal !== '' ? 'refusal' : (TO_CANON_STOP[finish] ?? 'end'),
    stopSequence: undefined,
    usage: decodeUsage(body.usage),
  };
}

function encodeResponse(res: CanonResponse, req: CanonRequest): JsonObject {
  const text = res.content.map((p) => (p.type === 'text' ? p.text : '')).join('');
  const reasoning = res.content.map((p) => (p.type === 'thinking' ? p.text : '')).join('');
  const calls = res.content.filter((p) => p.type === 'tool_call').map((p) => ({ id: p.id, type: 'function', function: { name: p.name, arguments: p.arguments } }));
  const message: JsonObject = { role: 'assistant', content: text === '' && calls.length > 0 ? null : text, refusal: null };
  if (reasoning !== '') message.reasoning_content = reasoning;
  if (calls.length > 0) message.tool_calls = calls;
  return {
    id: res.id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: req.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: FROM_CANON_STOP[res.stop] }],
    usage: encodeUsage(res.usage),
  };
}

// ── streams ──────────────────────────────────────────────────────────────────

/** statusOfError guesses the HTTP status of an error object sent inside a stream. */
export function statusOfError(error: JsonObject): number {
  const code = num(error.code) ?? num(error.status);
  if (code !== undefined && code >= 400 && code <= 599) return code;
  const type = `${str(error.type) ?? ''} ${str(error.code) ?? ''}`;
  if (type.includes('rate_limit') || type.includes('insufficient_quota')) return 429;
  if (type.includes('authentication') || type.includes('invalid_api_key')) return 401;
  if (type.includes('invalid_request')) return 400;
  return 500;
}

/** Reads a chat stream. Blocks open and close as the kind of delta changes; tool calls are keyed by their index. */
class ChatStreamDecoder implements StreamDecoder {
  private started = false;
  private next = 0;
  /** The open block: its canonical index and kind, or undefined. */
  private open: { index: number; kind: 'text' | 'thinking' | 'tool_call'; tool: number } | undefined;
  /** Chat tool-call index → canonical block index. */
  private tools: number[] = [];
  private finished = false;
  private done = false;

  constructor(private readonly sink: CanonSink) {}

  event(_name: string | undefined, data: string): void {
    if (data === '[DONE]') {
      this.close();
      this.done = true;
      this.sink.emit({ type: 'done' });
      return;
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return;
    }
    if (!isObject(chunk)) return;
    if (isObject(chunk.error)) {
      this.sink.emit({ type: 'error', status: statusOfError(chunk.error), message: str(chunk.error.message) ?? 'the provider reported an error' });
      return;
    }
    if (!this.started) {
      this.started = true;
      this.sink.emit({ type: 'start', id: str(chunk.id), model: str(chunk.model), usage: undefined });
    }
    for (const c of objects(chunk.choices)) {
      if ((num(c.index) ?? 0) !== 0) continue;
      const delta = isObject(c.delta) ? c.delta : {};
      const reasoning = str(delta.reasoning_content) ?? str(delta.reasoning);
      if (reasoning) this.text('thinking', reasoning);
      if (typeof delta.content === 'string' && delta.content !== '') this.text('text', delta.content);
      if (typeof delta.refusal === 'string' && delta.refusal !== '') this.text('text', delta.refusal);
      for (const tc of objects(delta.tool_calls)) this.toolCall(tc);
      if (typeof c.finish_reason === 'string') {
        this.close();
        this.finished = true;
        this.sink.emit({ type: 'finish', stop: TO_CANON_STOP[c.finish_reason] ?? 'end', stopSequence: undefined });
      }
    }
    const usage = decodeUsage(chunk.usage);
    if (usage) this.sink.emit({ type: 'usage', usage });
  }

  private text(kind: 'text' | 'thinking', text: string): void {
    if (this.open?.kind !== kind) {
      this.close();
      this.open = { index: this.next++, kind, tool: -1 };
      this.sink.emit({ type: 'block_start', index: this.open.index, kind });
    }
    this.sink.emit({ type: 'delta', index: this.open.index, text });
  }

  private toolCall(tc: JsonObject): void {
    const fn = isObject(tc.function) ? tc.function : {};
    // Some compatible servers omit `index` and send each call whole.
    const at = num(tc.index) ?? this.tools.length;
    let index = this.tools[at];
    if (index === undefined) {
      this.close();
      index = this.next++;
      this.tools[at] = index;
      this.open = { index, kind: 'tool_call', tool: at };
      this.sink.emit({ type: 'block_start', index, kind: 'tool_call', id: str(tc.id) || `call_${at}`, name: str(fn.name) ?? '' });
    }
    if (typeof fn.arguments === 'string' && fn.arguments !== '') this.sink.emit({ type: 'delta', index, text: fn.arguments });
  }

  private close(): void {
    if (!this.open) return;
    this.sink.emit({ type: 'block_stop', index: this.open.index });
    this.open = undefined;
  }

  end(): void {
    // Some servers end after the finish chunk without `[DONE]`.
    if (!this.done && this.finished) {
      this.done = true;
      this.sink.emit({ type: 'done' });
    }
  }
}

/** Writes canonical events as `chat.completion.chunk`s. */
class ChatStreamEncoder implements StreamEncoder {
  readonly contentType = 'text/event-stream; charset=utf-8';
  private out = '';
  private id = 'chatcmpl-keyway';
  private readonly created = Math.floor(Date.now() / 1000);
  private usage: CanonUsage | undefined;
  private stop: CanonStop = 'end';
  private kinds: string[] = [];
  /** Canonical block index → chat tool-call index. */
  private toolIndex: number[] = [];
  private tools = 0;

  constructor(private readonly req: CanonRequest) {}

  take(): string {
    const out = this.out;
    this.out = '';
    return out;
  }

  private chunk(delta: JsonObject, finish: string | null): void {
    this.out += `data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.req.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  }

  emit(e: CanonEvent): void {
    switch (e.type) {
      case 'start':
        if (e.id) this.id = e.id;
        this.chunk({ role: 'assistant', content: '' }, null);
        return;
      case 'block_start':
        this.kinds[e.index] = e.kind;
        if (e.kind === 'tool_call') {
          const at = (this.toolIndex[e.index] = this.tools++);
          this.chunk({ tool_calls: [{ index: at, id: e.id, type: 'function', function: { name: e.name, arguments: '' } }] }, null);
        }
        return;
      case 'delta': {
        const kind = this.kinds[e.index];
        if (kind === 'tool_call') this.chunk({ tool_calls: [{ index: this.toolIndex[e.index], function: { arguments: e.text } }] }, null);
        else if (kind === 'thinking') this.chunk({ reasoning_content: e.text }, null);
        else this.chunk({ content: e.text }, null);
        return;
      }
      case 'usage':
        this.usage = e.usage;
        return;
      case 'finish':
        this.stop = e.stop;
        return;
      case 'error':
        this.out += openaiChat.renderStreamError(e.status, 'upstream_error', e.message);
        return;
      case 'done':
        this.chunk({}, FROM_CANON_STOP[this.stop]);
        if (this.req.streamUsage) {
          this.out += `data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.req.model, choices: [], usage: encodeUsage(this.usage) })}\n\n`;
        }
        this.out += 'data: [DONE]\n\n';
        return;
      default:
        return; // block_stop and signatures have no chat counterpart
    }
  }
}

export const openaiChatCodec: Codec = {
  flag: 'openai_chat',
  format: openaiChat,
  decodeRequest,
  encodeResponse,
  createStreamEncoder: (req) => new ChatStreamEncoder(req),
  countTokensBody: (tokens) => ({ input_tokens: tokens }),
  encodeRequest,
  decodeResponse,
  createStreamDecoder: (sink) => new ChatStreamDecoder(sink),
};
