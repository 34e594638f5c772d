/**
 * The one JSON-body helper every body-carrying format uses: parse once, and rewrite the
 * top-level `model` in the original bytes (so nothing else in the body changes: key
 * order, number formatting, large integers and whitespace all reach the upstream as sent).
 */

/** parseJsonObject parses a request body; undefined when it is not a JSON object. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * replaceTopLevelString returns `text` with the string value of every top-level `key`
 * replaced by `value`. `text` must be valid JSON (it was parsed first).
 */
export function replaceTopLevelString(text: string, key: string, value: string): string {
  const replacement = JSON.stringify(value);
  let out = '';
  let copied = 0;
  for (const keyEnd of topLevelKeys(text, key)) {
    let j = keyEnd;
    while (j < text.length && text.charCodeAt(j) !== 0x3a /* : */) j++;
    j++;
    while (j < text.length && isSpace(text.charCodeAt(j))) j++;
    if (text.charCodeAt(j) !== 0x22) continue;
    out += text.slice(copied, j) + replacement;
    copied = endOfString(text, j);
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * hasDuplicateTopLevelKey reports whether the top-level object of `text` (valid JSON)
 * names `key` more than once, plainly or with escapes (`"mod\u0065l"`). JSON.parse keeps
 * the last one, so a body with two `model` keys would be routed on one and reach the
 * provider with both. It walks the text once, skipping strings with indexOf: about 0.2 µs
 * per KB, a fifth of what JSON.parse costs (bench/micro/duplicate-model.ts; a search for
 * the quoted name first is no cheaper, as bodies are full of quotes).
 */
export function hasDuplicateTopLevelKey(text: string, key: string): boolean {
  return topLevelKeys(text, key).length > 1;
}

/**
 * topLevelValueText returns the text of the value of the top-level `key` of `text` (valid
 * JSON: it was parsed first) exactly as written, or undefined when the key is absent or
 * named twice. A relay that changes only the envelope around a value (an MCP answer's
 * `result` under another id) copies it instead of serializing the parsed value again.
 */
export function topLevelValueText(text: string, key: string): string | undefined {
  const keys = topLevelKeys(text, key);
  if (keys.length !== 1) return undefined;
  let i = keys[0]!;
  while (i < text.length && text.charCodeAt(i) !== 0x3a /* : */) i++;
  i++;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return text.slice(i, endOfValue(text, i));
}

/** endOfValue returns the index just past the JSON value that starts at `start` (valid JSON). */
function endOfValue(text: string, start: number): number {
  const first = text.charCodeAt(start);
  if (first === 0x22 /* " */) return endOfString(text, start);
  if (first !== 0x7b /* { */ && first !== 0x5b /* [ */) {
    // A number, true, false or null: up to the next delimiter.
    let i = start;
    while (i < text.length) {
      const ch = text.charCodeAt(i);
      if (ch === 0x2c || ch === 0x7d || ch === 0x5d || isSpace(ch)) break;
      i++;
    }
    return i;
  }
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22) {
      i = endOfString(text, i);
      continue;
    }
    if (ch === 0x7b || ch === 0x5b) depth++;
    else if (ch === 0x7d || ch === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return i;
}

/**
 * topLevelKeys returns, for every key of the top-level object that is `key` once
 * unescaped, the index just past the key's closing quote. One pass over the text:
 * strings are skipped with indexOf, only the bytes between them are looked at.
 */
function topLevelKeys(text: string, key: string): number[] {
  const found: number[] = [];
  let depth = 0;
  let expectKey = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      const end = endOfString(text, i);
      if (depth === 1 && expectKey) {
        expectKey = false;
        if (end - i - 2 === key.length ? text.startsWith(key, i + 1) : isEscapedKey(text, i, end, key)) found.push(end);
      }
      i = end;
      continue;
    }
    if (ch === 0x7b /* { */) {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (ch === 0x5b /* [ */) depth++;
    else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) depth--;
    else if (ch === 0x2c /* , */ && depth === 1) expectKey = true;
    i++;
  }
  return found;
}

/** isEscapedKey reports whether the string literal text[start, end) spells `key` with escapes. */
function isEscapedKey(text: string, start: number, end: number, key: string): boolean {
  if (end - start - 2 < key.length) return false;
  const raw = text.slice(start, end);
  return raw.includes('\\') && (JSON.parse(raw) as string) === key;
}

/** endOfString returns the index just past the string literal that starts at `start`. */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const q = text.indexOf('"', i);
    if (q < 0) return text.length;
    // The quote ends the string unless an odd number of backslashes precede it.
    let b = q - 1;
    while (text.charCodeAt(b) === 0x5c /* \ */) b--;
    if ((q - 1 - b) % 2 === 0) return q + 1;
    i = q + 1;
  }
}

function isSpace(ch: number): boolean {
  return ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09;
}

/** isValidModelName rejects names no provider could mean and that could bend a URL path. */
export function isValidModelName(name: string): boolean {
  if (name === '' || name.length > 512 || name === '.' || name === '..') return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return false;
  }
  return true;
}
