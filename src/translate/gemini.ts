/**
 * The Gemini API codec (https://ai.google.dev/api/generate-content): `contents` requests,
 * GenerateContentResponse answers and `streamGenerateContent` streams (`?alt=sse`, or a
 * JSON array without it), to and from the canonical shape.
 *
 * Gemini never streams function-call arguments: a call arrives, and is sent, whole. Its
 * `functionCall.id` is optional; calls without one get `call_<n>`, and results without one
 * answer the earliest open call of the same name. Gemini 3 wants each function call it
 * made sent back with its thought signature; keyway has none for calls another API made,
 * so it sends the documented placeholder that skips that check.
 */
import { geminiGenerateContent } from '../formats/gemini.js';
import type {
  CanonEffort,
  CanonEvent,
  CanonImage,
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
import { argsText, arr, EFFORT_BUDGET, isObject, num, objects, parseArgs, splitSystem, str, toolNames, untranslatable, type JsonObject } from './util.js';

/** Google's documented value for a function call whose real thought signature is unknown. */
const SKIP_SIGNATURE = 'skip_thought_signature_validator';

const TO_CANON_STOP: Record<string, CanonStop> = {
  STOP: 'end',
  MAX_TOKENS: 'max_tokens',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
};

const FROM_CANON_STOP: Record<CanonStop, string> = {
  end: 'STOP',
  tool_use: 'STOP',
  stop_sequence: 'STOP',
  max_tokens: 'MAX_TOKENS',
  content_filter: 'SAFETY',
  refusal: 'SAFETY',
};

const LEVELS: Record<string, CanonEffort> = { MINIMAL: 'minimal', LOW: 'low', MEDIUM: 'medium', HIGH: 'high' };

// ── client side: requests ────────────────────────────────────────────────────

function decodeRequest(body: JsonObject, stream: boolean): CanonRequest {
  if (typeof body.cachedContent === 'string') throw untranslatable('cachedContent', 'cached contents live in the Gemini API');
  const gc = isObject(body.generationConfig) ? body.generationConfig : {};
  const candidates = num(gc.candidateCount);
  if (candidates !== undefined && candidates > 1) throw untranslatable('generationConfig.candidateCount', `${candidates} candidates asks for several answers and the provider's API gives one`);
  if (gc.responseLogprobs === true) throw untranslatable('generationConfig.responseLogprobs', "the provider's API returns no log probabilities");
  for (const m of arr(gc.responseModalities)) if (m !== 'TEXT') throw untranslatable('generationConfig.responseModalities', `${String(m)} output has no counterpart`);

  const system: string[] = [];
  const si = body.systemInstruction;
  if (typeof si === 'string') system.push(si);
  else if (isObject(si)) for (const p of objects(si.parts)) if (typeof p.text === 'string' && p.text !== '') system.push(p.text);

  const messages: CanonMessage[] = [];
  /** Calls without an answer yet, by name, in order (to pair results that have no id). */
  const open = new Map<string, string[]>();
  let generated = 0;
  arr(body.contents).forEach((c, i) => {
    if (!isObject(c)) return;
    const role = c.role === 'model' ? 'assistant' : 'user';
    const parts: CanonPart[] = [];
    objects(c.parts).forEach((p, j) => {
      const path = `contents[${i}].parts[${j}]`;
      if (typeof p.text === 'string') {
        if (p.thought === true) parts.push({ type: 'thinking', text: p.text, signature: str(p.thoughtSignature) });
        else if (p.text !== '') parts.push({ type: 'text', text: p.text });
      } else if (isObject(p.inlineData)) {
        parts.push(decodeBlob(str(p.inlineData.mimeType) ?? '', str(p.inlineData.data), undefined, `${path}.inlineData`));
      } else if (isObject(p.fileData)) {
        parts.push(decodeBlob(str(p.fileData.mimeType) ?? '', undefined, str(p.fileData.fileUri), `${path}.fileData`));
      } else if (isObject(p.functionCall)) {
        const name = str(p.functionCall.name) ?? '';
        const id = str(p.functionCall.id) ?? `call_${generated++}`;
        const list = open.get(name) ?? [];
        list.push(id);
        open.set(name, list);
        parts.push({ type: 'tool_call', id, name, arguments: argsText(p.functionCall.args ?? {}) });
      } else if (isObject(p.functionResponse)) {
        const name = str(p.functionResponse.name) ?? '';
        const pending = open.get(name) ?? [];
        let id = str(p.functionResponse.id);
        if (id === undefined) id = pending.shift() ?? `call_${generated++}`;
        else if (pending.includes(id)) pending.splice(pending.indexOf(id), 1);
        const response = p.functionResponse.response;
        const output = isObject(response) && typeof response.output === 'string' ? response.output : isObject(response) && typeof response.error === 'string' ? response.error : argsText(response ?? {});
        parts.push({ type: 'tool_result', id, name, content: [{ type: 'text', text: output }], isError: isObject(response) && response.error !== undefined && response.output === undefined });
      }
      // executableCode / codeExecutionResult (Gemini-run code) and bare signatures: dropped.
    });
    const last = messages[messages.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else messages.push({ role, parts });
  });

  const tools: CanonTool[] = [];
  for (const t of objects(body.tools)) {
    // googleSearch, codeExecution, urlContext … run at Google: dropped.
    for (const f of objects(t.functionDeclarations ?? t.function_declarations)) {
      if (typeof f.name !== 'string') continue;
      const parameters = isObject(f.parametersJsonSchema) ? f.parametersJsonSchema : isObject(f.parameters) ? (standardSchema(f.parameters) as JsonObject) : { type: 'object', properties: {} };
      tools.push({ name: f.name, description: str(f.description), parameters });
    }
  }
  const tc = isObject(body.toolConfig) && isObject(body.toolConfig.functionCallingConfig) ? body.toolConfig.functionCallingConfig : undefined;
  let toolChoice: CanonToolChoice | undefined;
  if (tc) {
    const allowed = arr(tc.allowedFunctionNames).filter((n): n is string => typeof n === 'string');
    toolChoice = tc.mode === 'NONE' ? { mode: 'none' } : tc.mode === 'ANY' || tc.mode === 'VALIDATED' ? (allowed.length === 1 ? { mode: 'tool', name: allowed[0] } : { mode: 'required' }) : { mode: 'auto' };
  }
  const thinking = isObject(gc.thinkingConfig) ? gc.thinkingConfig : undefined;
  let reasoning: CanonRequest['reasoning'];
  if (thinking) {
    const budget = num(thinking.thinkingBudget);
    const level = LEVELS[str(thinking.thinkingLevel) ?? ''];
    if (budget === 0) reasoning = { enabled: false, effort: undefined, budgetTokens: undefined };
    else if (budget !== undefined || level !== undefined || thinking.includeThoughts === true) reasoning = { enabled: true, effort: level, budgetTokens: budget !== undefined && budget > 0 ? budget : undefined };
  }
  let output: CanonRequest['output'];
  if (gc.responseMimeType === 'application/json') {
    const schema = isObject(gc.responseJsonSchema) ? gc.responseJsonSchema : isObject(gc.responseSchema) ? (standardSchema(gc.responseSchema) as JsonObject) : undefined;
    output = schema ? { type: 'json_schema', name: 'response', schema, strict: undefined } : { type: 'json' };
  }
  return {
    model: '',
    system,
    messages,
    tools,
    toolChoice,
    parallelToolCalls: undefined,
    maxTokens: num(gc.maxOutputTokens),
    temperature: num(gc.temperature),
    topP: num(gc.topP),
    topK: num(gc.topK),
    stop: Array.isArray(gc.stopSequences) ? gc.stopSequences.filter((s): s is string => typeof s === 'string') : undefined,
    seed: num(gc.seed),
    presencePenalty: num(gc.presencePenalty),
    frequencyPenalty: num(gc.frequencyPenalty),
    stream,
    streamUsage: true,
    reasoning,
    output,
    user: undefined,
  };
}

function decodeBlob(mimeType: string, data: string | undefined, uri: string | undefined, path: string): CanonImage {
  if (!mimeType.startsWith('image/')) throw untranslatable(`${path} (${mimeType || 'no mimeType'})`, 'only images have a counterpart');
  return { type: 'image', mediaType: mimeType, data, url: uri };
}

/**
 * standardSchema turns Gemini's OpenAPI-style schema (`type: "STRING"`, `nullable`) into
 * standard JSON Schema (lower-case types) for the other APIs.
 */
export function standardSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(standardSchema);
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'type' && typeof v === 'string') out.type = v.toLowerCase();
    else if (k === 'nullable' || k === 'propertyOrdering') continue;
    else if (k === 'properties' && isObject(v)) out.properties = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, standardSchema(s)]));
    else out[k] = typeof v === 'object' ? standardSchema(v) : v;
  }
  if (schema.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  return out;
}

// ── upstream side: requests ──────────────────────────────────────────────────

function encodeRequest(req: CanonRequest, upstreamModel: string): UpstreamCall {
  const { system, messages } = splitSystem(req);
  const body: JsonObject = { contents: encodeContents(messages) };
  if (system.length > 0) body.systemInstruction = { parts: [{ text: system.join('\n\n') }] };
  if (req.tools.length > 0) {
    body.tools = [{ functionDeclarations: req.tools.map((t) => ({ name: t.name, ...(t.description ? { description: t.description } : {}), parametersJsonSchema: t.parameters })) }];
    const choice = req.toolChoice;
    if (choice) {
      body.toolConfig = {
        functionCallingConfig: choice.mode === 'none' ? { mode: 'NONE' } : choice.mode === 'required' ? { mode: 'ANY' } : choice.mode === 'tool' ? { mode: 'ANY', allowedFunctionNames: [choice.name] } : { mode: 'AUTO' },
      };
    }
  }
  const gc: JsonObject = {};
  if (req.maxTokens !== undefined) gc.maxOutputTokens = req.maxTokens;
  if (req.temperature !== undefined) gc.temperature = req.temperature;
  if (req.topP !== undefined) gc.topP = req.topP;
  if (req.topK !== undefined) gc.topK = req.topK;
  if (req.stop && req.stop.length > 0) gc.stopSequences = req.stop;
  if (req.seed !== undefined) gc.seed = req.seed;
  if (req.presencePenalty !== undefined) gc.presencePenalty = req.presencePenalty;
  if (req.frequencyPenalty !== undefined) gc.frequencyPenalty = req.frequencyPenalty;
  const r = req.reasoning;
  if (r?.enabled) {
    const budget = r.budgetTokens ?? (r.effort ? EFFORT_BUDGET[r.effort] : undefined);
    gc.thinkingConfig = budget !== undefined ? { thinkingBudget: budget, includeThoughts: true } : { includeThoughts: true };
  }
  if (req.output) {
    gc.responseMimeType = 'application/json';
    if (req.output.type === 'json_schema') gc.responseJsonSchema = req.output.schema;
  }
  if (Object.keys(gc).length > 0) body.generationConfig = gc;
  const model = encodeURIComponent(upstreamModel);
  return { path: req.stream ? `/v1beta/models/${model}:streamGenerateContent?alt=sse` : `/v1beta/models/${model}:generateContent`, body, headers: [] };
}

function encodeContents(messages: readonly CanonMessage[]): JsonObject[] {
  const names = toolNames(messages);
  const out: Array<{ role: string; parts: JsonObject[] }> = [];
  for (const m of messages) {
    const role = m.role === 'assistant' ? 'model' : 'user';
    const parts: JsonObject[] = [];
    for (const p of m.parts) {
      switch (p.type) {
        case 'text':
          if (p.text !== '') parts.push({ text: p.text });
          break;
        case 'image':
          parts.push(blob(p));
          break;
        case 'thinking':
          break; // earlier reasoning from another API cannot be given back to Gemini
        case 'tool_call':
          parts.push({ functionCall: { id: p.id, name: p.name, args: parseArgs(p.arguments) }, thoughtSignature: SKIP_SIGNATURE });
          break;
        case 'tool_result': {
          const text = p.content.map((c) => (c.type === 'text' ? c.text : '')).join('');
          parts.push({ functionResponse: { id: p.id, name: p.name ?? names.get(p.id) ?? 'tool', response: p.isError ? { error: text } : { output: text } } });
          for (const c of p.content) if (c.type === 'image') parts.push(blob(c));
          break;
        }
      }
    }
    if (parts.length === 0) continue;
    const last = out[out.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else out.push({ role, parts });
  }
  return out;
}

function blob(image: CanonImage): JsonObject {
  return image.data !== undefined ? { inlineData: { mimeType: image.mediaType, data: image.data } } : { fileData: { mimeType: image.mediaType, fileUri: image.url } };
}

// ── answers ──────────────────────────────────────────────────────────────────

function decodeUsage(u: unknown): CanonUsage | undefined {
  if (!isObject(u)) return undefined;
  const prompt = num(u.promptTokenCount);
  const candidates = num(u.candidatesTokenCount);
  const thoughts = num(u.thoughtsTokenCount) ?? 0;
  if (prompt === undefined && candidates === undefined) return undefined;
  return { input: (prompt ?? 0) + (num(u.toolUsePromptTokenCount) ?? 0), output: (candidates ?? 0) + thoughts, cacheRead: num(u.cachedContentTokenCount) ?? 0, cacheWrite: 0, reasoning: thoughts };
}

function encodeUsage(u: CanonUsage | undefined): JsonObject {
  const usage = u ?? { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 };
  const out: JsonObject = { promptTokenCount: usage.input, candidatesTokenCount: usage.output - usage.reasoning, totalTokenCount: usage.input + usage.output };
  if (usage.reasoning > 0) out.thoughtsTokenCount = usage.reasoning;
  if (usage.cacheRead > 0) out.cachedContentTokenCount = usage.cacheRead;
  return out;
}

function decodeResponse(body: unknown): CanonResponse | undefined {
  if (!isObject(body) || (!Array.isArray(body.candidates) && !isObject(body.promptFeedback))) return undefined;
  const candidate = objects(body.candidates)[0] ?? {};
  const content: CanonOutputPart[] = [];
  let calls = 0;
  for (const p of objects(isObject(candidate.content) ? candidate.content.parts : undefined)) {
    if (typeof p.text === 'string') {
      if (p.thought === true) content.push({ type: 'thinking', text: p.text, signature: str(p.thoughtSignature) });
      else if (p.text !== '') content.push({ type: 'text', text: p.text });
    } else if (isObject(p.functionCall)) {
      content.push({ type: 'tool_call', id: str(p.functionCall.id) ?? `call_${calls}`, name: str(p.functionCall.name) ?? '', arguments: argsText(p.functionCall.args ?? {}) });
      calls++;
    }
  }
  const blocked = isObject(body.promptFeedback) && typeof body.promptFeedback.blockReason === 'string';
  const stop: CanonStop = blocked ? 'content_filter' : calls > 0 ? 'tool_use' : (TO_CANON_STOP[str(candidate.finishReason) ?? ''] ?? 'end');
  return { id: str(body.responseId) ?? '', model: str(body.modelVersion) ?? '', content, stop, stopSequence: undefined, usage: decodeUsage(body.usageMetadata) };
}

function encodeParts(content: readonly CanonOutputPart[]): JsonObject[] {
  const parts = content.map((p) =>
    p.type === 'text' ? { text: p.text } : p.type === 'thinking' ? { text: p.text, thought: true } : { functionCall: { id: p.id, name: p.name, args: parseArgs(p.arguments) } },
  );
  return parts.length > 0 ? parts : [{ text: '' }];
}

function encodeResponse(res: CanonResponse, req: CanonRequest): JsonObject {
  return {
    candidates: [{ content: { role: 'model', parts: encodeParts(res.content) }, finishReason: FROM_CANON_STOP[res.stop], index: 0 }],
    usageMetadata: encodeUsage(res.usage),
    modelVersion: req.model,
    responseId: res.id,
  };
}

// ── streams ──────────────────────────────────────────────────────────────────

/** Reads a Gemini stream: each event is a whole GenerateContentResponse with the next parts. */
class GeminiStreamDecoder implements StreamDecoder {
  private started = false;
  private next = 0;
  private open: { index: number; kind: 'text' | 'thinking' } | undefined;
  private calls = 0;
  private stop: CanonStop | undefined;
  private done = false;

  constructor(private readonly sink: CanonSink) {}

  event(_name: string | undefined, data: string): void {
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return;
    }
    if (!isObject(chunk)) return;
    if (isObject(chunk.error)) {
      this.sink.emit({ type: 'error', status: num(chunk.error.code) ?? 500, message: str(chunk.error.message) ?? 'the provider reported an error' });
      return;
    }
    if (!this.started) {
      this.started = true;
      this.sink.emit({ type: 'start', id: str(chunk.responseId), model: str(chunk.modelVersion), usage: undefined });
    }
    const candidate = objects(chunk.candidates)[0];
    for (const p of objects(isObject(candidate?.content) ? candidate.content.parts : undefined)) {
      if (typeof p.text === 'string') {
        const kind = p.thought === true ? 'thinking' : 'text';
        if (p.text !== '') {
          if (this.open?.kind !== kind) this.openBlock(kind);
          this.sink.emit({ type: 'delta', index: this.open!.index, text: p.text });
        }
        if (kind === 'thinking' && typeof p.thoughtSignature === 'string' && this.open) this.sink.emit({ type: 'signature', index: this.open.index, signature: p.thoughtSignature });
      } else if (isObject(p.functionCall)) {
        this.close();
        const index = this.next++;
        this.sink.emit({ type: 'block_start', index, kind: 'tool_call', id: str(p.functionCall.id) ?? `call_${this.calls}`, name: str(p.functionCall.name) ?? '' });
        this.sink.emit({ type: 'delta', index, text: argsText(p.functionCall.args ?? {}) });
        this.sink.emit({ type: 'block_stop', index });
        this.calls++;
      }
    }
    const usage = decodeUsage(chunk.usageMetadata);
    if (usage) this.sink.emit({ type: 'usage', usage });
    const finish = str(candidate?.finishReason);
    const blocked = isObject(chunk.promptFeedback) && typeof chunk.promptFeedback.blockReason === 'string';
    if ((finish && finish !== 'FINISH_REASON_UNSPECIFIED') || blocked) {
      this.close();
      this.stop = blocked ? 'content_filter' : this.calls > 0 ? 'tool_use' : (TO_CANON_STOP[finish!] ?? 'end');
      this.sink.emit({ type: 'finish', stop: this.stop, stopSequence: undefined });
    }
  }

  private openBlock(kind: 'text' | 'thinking'): void {
    this.close();
    this.open = { index: this.next++, kind };
    this.sink.emit({ type: 'block_start', index: this.open.index, kind });
  }

  private close(): void {
    if (!this.open) return;
    this.sink.emit({ type: 'block_stop', index: this.open.index });
    this.open = undefined;
  }

  end(): void {
    // Gemini has no closing event: the answer is complete when its finish reason came.
    if (!this.done && this.stop) {
      this.done = true;
      this.sink.emit({ type: 'done' });
    }
  }
}

/** Writes canonical events as Gemini stream chunks (SSE, or a JSON array). */
class GeminiStreamEncoder implements StreamEncoder {
  readonly contentType: string;
  private out = '';
  private first = true;
  private id = '';
  private usage: CanonUsage | undefined;
  private stop: CanonStop = 'end';
  private kinds: string[] = [];
  private calls: Array<{ id: string; name: string; args: string[] }> = [];

  constructor(
    private readonly req: CanonRequest,
    private readonly sse: boolean,
  ) {
    this.contentType = sse ? 'text/event-stream; charset=utf-8' : 'application/json';
  }

  take(): string {
    const out = this.out;
    this.out = '';
    return out;
  }

  private chunk(parts: JsonObject[], final: boolean): void {
    const candidate: JsonObject = { content: { role: 'model', parts }, index: 0 };
    const value: JsonObject = { candidates: [candidate] };
    if (final) {
      candidate.finishReason = FROM_CANON_STOP[this.stop];
      value.usageMetadata = encodeUsage(this.usage);
    }
    value.modelVersion = this.req.model;
    if (this.id) value.responseId = this.id;
    const json = JSON.stringify(value);
    if (this.sse) this.out += `data: ${json}\r\n\r\n`;
    else this.out += `${this.first ? '[' : ',\r\n'}${json}`;
    this.first = false;
  }

  emit(e: CanonEvent): void {
    switch (e.type) {
      case 'start':
        this.id = e.id ?? '';
        return;
      case 'block_start':
        this.kinds[e.index] = e.kind;
        if (e.kind === 'tool_call') this.calls[e.index] = { id: e.id ?? '', name: e.name ?? '', args: [] };
        return;
      case 'delta': {
        const kind = this.kinds[e.index];
        if (kind === 'tool_call') this.calls[e.index]?.args.push(e.text);
        else this.chunk([kind === 'thinking' ? { text: e.text, thought: true } : { text: e.text }], false);
        return;
      }
      case 'block_stop': {
        const call = this.calls[e.index];
        // Gemini has no argument deltas: the call goes out whole when its arguments are complete.
        if (call) this.chunk([{ functionCall: { id: call.id, name: call.name, args: parseArgs(call.args.join('')) } }], false);
        return;
      }
      case 'usage':
        this.usage = e.usage;
        return;
      case 'finish':
        this.stop = e.stop;
        return;
      case 'error':
        if (this.sse) this.out += geminiGenerateContent.renderStreamError(e.status, 'upstream_error', e.message);
        else this.out += `${this.first ? '[' : ',\r\n'}${geminiGenerateContent.renderError(e.status, 'upstream_error', e.message)}]`;
        this.first = false;
        return;
      case 'done':
        this.chunk([{ text: '' }], true);
        if (!this.sse) this.out += ']';
        return;
      default:
        return;
    }
  }
}

export const geminiCodec: Codec = {
  flag: 'gemini_generate_content',
  format: geminiGenerateContent,
  decodeRequest,
  encodeResponse,
  createStreamEncoder: (req, sse) => new GeminiStreamEncoder(req, sse),
  countTokensBody: (tokens) => ({ totalTokens: tokens }),
  encodeRequest,
  decodeResponse,
  createStreamDecoder: (sink) => new GeminiStreamDecoder(sink),
};
