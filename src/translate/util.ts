/**
 * Small helpers the codecs share: reading untyped JSON, tool arguments, data URLs, and
 * the one error a codec throws for a request it cannot carry.
 */
import { GatewayError } from '../errors.js';
import { isObject, type JsonObject } from '../formats/read-json.js';
import type { CanonImage, CanonMessage, CanonRequest, CanonStop } from './canonical.js';

export type { JsonObject };
export { isObject };

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** objects returns the elements of `v` that are JSON objects. */
export function objects(v: unknown): JsonObject[] {
  return arr(v).filter(isObject);
}

/**
 * untranslatable is the 400 for a request field the provider's API has no counterpart
 * for, when dropping it would change what the client gets.
 */
export function untranslatable(field: string, why: string): GatewayError {
  return new GatewayError('UNTRANSLATABLE', `${field} cannot be translated for this model's provider: ${why}`);
}

/** parseArgs reads tool-call arguments (JSON text) as an object; anything else becomes {} (a cut stream, a model's broken JSON). */
export function parseArgs(text: string): JsonObject {
  if (text === '') return {};
  try {
    const v: unknown = JSON.parse(text);
    return isObject(v) ? v : {};
  } catch {
    return {};
  }
}

/** argsText renders arguments given as a JSON value (Anthropic `input`, Gemini `args`) as JSON text. */
export function argsText(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v ?? {}) ?? '{}';
  } catch {
    return '{}';
  }
}

/** imageFromUrl reads a `data:` URL into an inline image, or keeps any other URL as a reference. */
export function imageFromUrl(url: string, mediaType?: string): CanonImage {
  if (url.startsWith('data:')) {
    const comma = url.indexOf(',');
    const meta = url.slice(5, comma < 0 ? undefined : comma);
    if (comma > 0 && meta.endsWith(';base64')) {
      return { type: 'image', mediaType: meta.slice(0, -7) || mediaType || 'image/png', data: url.slice(comma + 1), url: undefined };
    }
  }
  return { type: 'image', mediaType: mediaType ?? guessImageType(url), data: undefined, url };
}

/** imageUrl renders an image as a URL: the reference itself, or a `data:` URL. */
export function imageUrl(image: CanonImage): string {
  return image.url ?? `data:${image.mediaType};base64,${image.data ?? ''}`;
}

function guessImageType(url: string): string {
  const path = url.split('?')[0]!.toLowerCase();
  if (path.endsWith('.jpg') || path.endsWith('.jpeg')) return 'image/jpeg';
  if (path.endsWith('.gif')) return 'image/gif';
  if (path.endsWith('.webp')) return 'image/webp';
  return 'image/png';
}

/** textOf joins the text of a content list (string, or parts with `text`). */
export function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  let out = '';
  for (const p of arr(v)) {
    if (typeof p === 'string') out += p;
    else if (isObject(p) && typeof p.text === 'string') out += p.text;
  }
  return out;
}

/** toolNames maps every tool-call id in a conversation to its tool's name (for APIs whose results need the name). */
export function toolNames(messages: readonly CanonMessage[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const m of messages) {
    for (const p of m.parts) if (p.type === 'tool_call') names.set(p.id, p.name);
  }
  return names;
}

/**
 * splitSystem moves the system messages found in mid-conversation into the top-level
 * system prompt, for APIs that have only one (Anthropic without its beta, Gemini): the
 * text is kept, its position is not.
 */
export function splitSystem(req: CanonRequest): { system: string[]; messages: CanonMessage[] } {
  if (!req.messages.some((m) => m.role === 'system')) return { system: req.system, messages: req.messages };
  const system = [...req.system];
  const messages: CanonMessage[] = [];
  for (const m of req.messages) {
    if (m.role !== 'system') messages.push(m);
    else for (const p of m.parts) if (p.type === 'text' && p.text !== '') system.push(p.text);
  }
  return { system, messages };
}

/**
 * DEFAULT_MAX_TOKENS fills Anthropic's required `max_tokens` when the client gave none.
 * The price table (genai-prices) knows context windows but not output limits, so every
 * model gets this value; docs/translation.md says so.
 */
export const DEFAULT_MAX_TOKENS = 4096;

/** Thinking budgets for an effort, toward APIs that take a budget (Anthropic, Gemini). */
export const EFFORT_BUDGET: Record<string, number> = { minimal: 1024, low: 2048, medium: 8192, high: 24576 };

/** effortOfBudget names the effort closest to a thinking budget, toward APIs that take a level (OpenAI). */
export function effortOfBudget(budget: number): 'low' | 'medium' | 'high' {
  if (budget <= 4096) return 'low';
  if (budget <= 16384) return 'medium';
  return 'high';
}

/**
 * estimateTokens is keyway's local token count for a translated `count_tokens`: about four
 * characters per token over the prompt's text, tool definitions and arguments, plus
 * 1,600 per image (Anthropic's rule of thumb for a picture of about a megapixel).
 */
export function estimateTokens(req: CanonRequest): number {
  let chars = 0;
  let images = 0;
  for (const s of req.system) chars += s.length;
  for (const m of req.messages) {
    for (const p of m.parts) {
      if (p.type === 'text' || p.type === 'thinking') chars += p.text.length;
      else if (p.type === 'image') images++;
      else if (p.type === 'tool_call') chars += p.name.length + p.arguments.length;
      else for (const c of p.content) if (c.type === 'text') chars += c.text.length; else images++;
    }
  }
  for (const t of req.tools) chars += t.name.length + (t.description?.length ?? 0) + JSON.stringify(t.parameters).length;
  return Math.max(1, Math.ceil(chars / 4) + images * 1600);
}

/** A stop reason's name in each API, for the table in docs/translation.md. */
export type StopNames = Record<CanonStop, string>;
