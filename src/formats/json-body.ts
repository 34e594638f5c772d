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
  let depth = 0;
  let i = 0;
  let expectKey = false;
  const n = text.length;
  while (i < n) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      const end = endOfString(text, i);
      if (depth === 1 && expectKey) {
        const raw = text.slice(i, end);
        const name = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        expectKey = false;
        if (name === key) {
          let j = end;
          while (j < n && text.charCodeAt(j) !== 0x3a /* : */) j++;
          j++;
          while (j < n && isSpace(text.charCodeAt(j))) j++;
          if (text.charCodeAt(j) === 0x22) {
            const valueEnd = endOfString(text, j);
            out += text.slice(copied, j) + replacement;
            copied = valueEnd;
            i = valueEnd;
            continue;
          }
        }
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
  return out + text.slice(copied);
}

/** endOfString returns the index just past the string literal that starts at `start`. */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const ch = text.charCodeAt(i);
    if (ch === 0x5c /* \ */) i += 2;
    else if (ch === 0x22) return i + 1;
    else i++;
  }
  return i;
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
