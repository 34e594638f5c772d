/**
 * Small total functions for reading provider answers, shared by the format modules'
 * response readers. Answers are `unknown` JSON: every reader goes through these, so a
 * malformed or surprising answer yields "nothing known" instead of an exception.
 */
import { ZERO_USAGE, type Usage } from '../telemetry/usage.js';

export type JsonObject = Record<string, unknown>;

/** parseJson returns the parsed value, or undefined when `text` is not JSON. Never throws. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** parseObject returns the parsed value when `text` is a JSON object, else undefined. */
export function parseObject(text: string): JsonObject | undefined {
  const v = parseJson(text);
  return isObject(v) ? v : undefined;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** object returns `v` when it is a JSON object, else undefined. */
export function object(v: unknown): JsonObject | undefined {
  return isObject(v) ? v : undefined;
}

/** count returns `v` when it is a finite non-negative number (a token count), else undefined. */
export function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

export function string(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** newUsage returns a fresh, all-zero Usage to fill in. */
export function newUsage(): Usage {
  return { ...ZERO_USAGE };
}

/** stringifyArgs renders tool-call arguments given as a JSON value (not text) as JSON text. */
export function stringifyArgs(v: unknown): string {
  try {
    return JSON.stringify(v ?? {}) ?? '{}';
  } catch {
    return '{}';
  }
}
