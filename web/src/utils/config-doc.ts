/**
 * Edits to the configuration text that keep everything else as written: comments,
 * formatting, fields the forms do not know. The Providers and Grants forms change the
 * document through these and save it whole, exactly as the JSON editor does.
 */
import { applyEdits, modify, parse, type JSONPath } from 'jsonc-parser';

const FORMAT = { formattingOptions: { insertSpaces: true, tabSize: 2, eol: '\n' } };

/** setAt sets (or with `undefined`, removes) the value at `path`. */
export function setAt(text: string, path: JSONPath, value: unknown): string {
  return applyEdits(text, modify(text, path, value, FORMAT));
}

/** readDoc parses HuJSON leniently (for reading what the forms show); {} when it cannot. */
export function readDoc(text: string): Record<string, unknown> {
  const value: unknown = parse(text, [], { allowTrailingComma: true, disallowComments: false });
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** lines splits a textarea into trimmed, non-empty lines (lists of models, sources, patterns). */
export function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}
