// Format-independent reply logic: splitting text into deltas, choosing a tool and its
// arguments, summarising a tool result, and tiny helpers for walking untyped JSON.

import type { ToolDef } from './types.js';

export type Json = Record<string, unknown>;

export function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Token estimate used everywhere: about four bytes per token, at least one. */
export function estimateTokens(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 4));
}

/**
 * Split `s` into exactly `n` pieces whose concatenation is `s`. Pieces are as even as possible;
 * boundaries never fall inside a surrogate pair. When n > s.length some pieces are empty, which
 * every client accepts (an empty delta), and keeps "output tokens = chunks" true.
 */
export function splitText(s: string, n: number): string[] {
  if (n <= 1) return [s];
  const len = s.length;
  const base = Math.floor(len / n);
  const rem = len % n;
  const out = new Array<string>(n);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    let end = Math.min(len, pos + base + (i < rem ? 1 : 0));
    const c = s.charCodeAt(end - 1);
    if (end > pos && end < len && c >= 0xd800 && c <= 0xdbff) end++;
    out[i] = s.slice(pos, end);
    pos = end;
  }
  if (pos < len) out[n - 1] += s.slice(pos);
  return out;
}

const SHELL_COMMAND = 'echo TOOL_RAN_42';
const COMMAND_KEYS = ['command', 'cmd'] as const;

/** If the schema has a shell-command-like property, its name and whether it is an argv array. */
function commandProperty(schema: unknown): { key: string; array: boolean } | undefined {
  if (!isObj(schema) || !isObj(schema.properties)) return undefined;
  for (const key of COMMAND_KEYS) {
    const p = schema.properties[key];
    if (p === undefined) continue;
    const type = isObj(p) ? str(p.type) : undefined;
    return { key, array: type !== undefined && type.toLowerCase() === 'array' };
  }
  return undefined;
}

/**
 * The tool call the `tool` scenario makes. Preference: an explicitly named tool (`tool=<name>`),
 * else the first tool with a `command`/`cmd` property (so real CLIs actually run
 * `echo TOOL_RAN_42` in end-to-end tests: Claude Code's Bash, Codex's exec_command and Gemini's
 * run_shell_command are not first in their lists), else the first tool, else `get_weather`.
 */
export function chooseToolCall(
  tools: ToolDef[],
  wanted: string | undefined,
): { name: string; input: Record<string, unknown> } {
  let pick: ToolDef | undefined;
  if (wanted !== undefined) pick = tools.find((t) => t.name === wanted) ?? { name: wanted, schema: undefined };
  pick ??= tools.find((t) => commandProperty(t.schema) !== undefined) ?? tools[0];
  if (pick === undefined) return { name: 'get_weather', input: { location: 'Paris' } };
  const cmd = commandProperty(pick.schema);
  if (cmd === undefined) return { name: pick.name, input: { location: 'Paris' } };
  return {
    name: pick.name,
    input: { [cmd.key]: cmd.array ? ['bash', '-lc', SHELL_COMMAND] : SHELL_COMMAND },
  };
}

/**
 * Reply text after a tool result. The first 60 characters as specified; when the result is
 * longer, its last 40 characters are appended after " ... " because Codex wraps command output
 * in a long preamble ("Chunk ID: …\nOutput:\nTOOL_RAN_42") and the interesting part is at the end.
 */
export function toolResultText(result: string): string {
  const head = result.slice(0, 60);
  if (result.length <= 60) return `TOOL_RESULT_SEEN: ${head}`;
  const tail = result.slice(Math.max(60, result.length - 40));
  return `TOOL_RESULT_SEEN: ${head} ... ${tail}`;
}

/** Text out of "string or array of text parts" shapes (Anthropic tool_result, OpenAI content). */
export function contentText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    let out = '';
    for (const p of v) {
      if (typeof p === 'string') out += p;
      else if (isObj(p) && typeof p.text === 'string') out += p.text;
    }
    return out;
  }
  if (v === undefined || v === null) return '';
  return JSON.stringify(v);
}

/** Index of the last element that is not a system/developer turn (Claude Code appends those). */
export function lastTurnIndex(list: unknown[], roleKey = 'role'): number {
  for (let i = list.length - 1; i >= 0; i--) {
    const m = list[i];
    const role = isObj(m) ? m[roleKey] : undefined;
    if (role !== 'system' && role !== 'developer') return i;
  }
  return -1;
}

/** A minimal value satisfying a JSON schema (Gemini JSON mode, e.g. Gemini CLI's model router). */
export function sampleFromSchema(schema: unknown, text: string, depth = 0): unknown {
  if (!isObj(schema) || depth > 8) return text;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const type = (str(schema.type) ?? (isObj(schema.properties) ? 'object' : 'string')).toLowerCase();
  switch (type) {
    case 'object': {
      const out: Json = {};
      const props = isObj(schema.properties) ? schema.properties : {};
      for (const k of Object.keys(props)) out[k] = sampleFromSchema(props[k], text, depth + 1);
      return out;
    }
    case 'array':
      return [sampleFromSchema(schema.items, text, depth + 1)];
    case 'integer':
    case 'number': {
      const min = typeof schema.minimum === 'number' ? schema.minimum : 1;
      const max = typeof schema.maximum === 'number' ? schema.maximum : Math.max(min, 50);
      const mid = (min + max) / 2;
      return type === 'integer' ? Math.round(mid) : mid;
    }
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return text;
  }
}
