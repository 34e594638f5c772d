/**
 * The Gemini response reader: usage, function calls, finish reason, model version and
 * the answer merged into one GenerateContentResponse. `generateContent` answers with one
 * GenerateContentResponse; `streamGenerateContent` answers with a series of them, either
 * as SSE `data:` events (`?alt=sse`) or, without `alt=sse`, as one JSON array, which
 * `json()` accepts as well.
 *
 * Each chunk's `usageMetadata` is a running total, so the last one seen counts.
 * `promptTokenCount` already includes `cachedContentTokenCount`; keyway's inputTokens
 * also adds `toolUsePromptTokenCount` (tool results fed back to the model, billed as
 * input), and outputTokens is `candidatesTokenCount + thoughtsTokenCount` because Gemini
 * counts thinking outside the candidates (totalTokenCount is the sum of all four).
 */
import type { ResponseReader, ResponseSummary, ToolCall, Usage } from '../telemetry/usage.js';
import { count, isObject, newUsage, object, parseObject, string, stringifyArgs, type JsonObject } from './read-json.js';

/** A candidate being merged across chunks. */
interface CandidateState {
  /** Fields other than content (finishReason, safetyRatings, groundingMetadata, …): last value wins. */
  fields: JsonObject;
  role: unknown;
  parts: JsonObject[];
  /** Text pieces of the last part when it is a text part, joined at the end. */
  text: string[] | undefined;
}

/** geminiUsage converts `usageMetadata`; undefined when it has no counts. */
export function geminiUsage(u: JsonObject, webSearches: number): Usage | undefined {
  const prompt = count(u.promptTokenCount);
  const candidates = count(u.candidatesTokenCount);
  const thoughts = count(u.thoughtsTokenCount);
  if (prompt === undefined && candidates === undefined && thoughts === undefined) return undefined;
  const usage = newUsage();
  usage.inputTokens = (prompt ?? 0) + (count(u.toolUsePromptTokenCount) ?? 0);
  usage.outputTokens = (candidates ?? 0) + (thoughts ?? 0);
  usage.cacheReadTokens = count(u.cachedContentTokenCount) ?? 0;
  usage.reasoningTokens = thoughts ?? 0;
  usage.webSearchCount = webSearches;
  return usage;
}

/** GeminiResponseReader reads one Gemini answer; see the module comment. */
export class GeminiResponseReader implements ResponseReader {
  private seen = false;
  private usage: JsonObject | undefined;
  private modelVersion: string | undefined;
  /** Top-level fields other than candidates and usageMetadata (responseId, promptFeedback, …). */
  private top: JsonObject = {};
  private candidates: CandidateState[] = [];
  private toolCalls: ToolCall[] = [];

  sseEvent(_event: string | undefined, data: string): void {
    const chunk = parseObject(data);
    if (chunk) this.chunk(chunk);
  }

  json(body: unknown): void {
    if (Array.isArray(body)) {
      for (const chunk of body) if (isObject(chunk)) this.chunk(chunk);
    } else if (isObject(body)) {
      this.chunk(body);
    }
  }

  finish(): ResponseSummary {
    if (!this.seen) return { usage: undefined, model: undefined, toolCalls: [], stopReason: undefined, reassembled: undefined };
    const candidates: JsonObject[] = [];
    let webSearches = 0;
    this.candidates.forEach((c, index) => {
      const grounding = object(c.fields.groundingMetadata);
      if (Array.isArray(grounding?.webSearchQueries)) webSearches += grounding.webSearchQueries.length;
      const parts = c.parts.slice();
      if (c.text) parts[parts.length - 1] = { ...parts[parts.length - 1], text: c.text.join('') };
      candidates.push({ content: { parts, role: c.role ?? 'model' }, ...c.fields, index });
    });
    const reassembled: JsonObject = { candidates, ...this.top };
    if (this.usage) reassembled.usageMetadata = this.usage;
    if (this.modelVersion !== undefined) reassembled.modelVersion = this.modelVersion;
    const first = this.candidates.find((c) => c !== undefined);
    const stopReason = string(first?.fields.finishReason) ?? string(object(this.top.promptFeedback)?.blockReason);
    return {
      usage: this.usage ? geminiUsage(this.usage, webSearches) : undefined,
      model: this.modelVersion,
      toolCalls: this.toolCalls,
      stopReason,
      reassembled,
    };
  }

  private chunk(chunk: JsonObject): void {
    this.seen = true;
    for (const key of Object.keys(chunk)) {
      const value = chunk[key];
      if (key === 'candidates') {
        if (Array.isArray(value)) for (const c of value) if (isObject(c)) this.candidate(c);
      } else if (key === 'usageMetadata') {
        if (isObject(value)) this.usage = value;
      } else if (key === 'modelVersion') {
        if (typeof value === 'string' && value !== '') this.modelVersion = value;
      } else {
        this.top[key] = value;
      }
    }
  }

  private candidate(c: JsonObject): void {
    const index = count(c.index) ?? 0;
    const state = (this.candidates[index] ??= { fields: {}, role: undefined, parts: [], text: undefined });
    for (const key of Object.keys(c)) {
      if (key === 'content') {
        const content = object(c.content);
        if (content?.role != null) state.role = content.role;
        if (Array.isArray(content?.parts)) for (const p of content.parts) if (isObject(p)) this.part(state, p);
      } else if (key !== 'index') {
        state.fields[key] = c[key];
      }
    }
  }

  /** part appends one part, merging consecutive text parts of the same kind (answer or thought). */
  private part(state: CandidateState, p: JsonObject): void {
    const fc = object(p.functionCall);
    if (fc && typeof fc.name === 'string') this.toolCalls.push({ name: fc.name, arguments: stringifyArgs(fc.args) });
    const last = state.parts[state.parts.length - 1];
    if (typeof p.text === 'string' && state.text && last && Boolean(last.thought) === Boolean(p.thought)) {
      state.text.push(p.text);
      // A signature may ride on any piece; the merged part keeps the last one.
      if (p.thoughtSignature !== undefined) last.thoughtSignature = p.thoughtSignature;
      return;
    }
    if (state.text) state.parts[state.parts.length - 1] = { ...last, text: state.text.join('') };
    state.text = typeof p.text === 'string' ? [p.text] : undefined;
    state.parts.push({ ...p });
  }
}
