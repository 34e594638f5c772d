/**
 * Query-string parameters found by their decoded name, the way the server behind keyway
 * reads them.
 *
 * Google's API front end form-decodes a query before it looks for `key`, `access_token`
 * or `oauth_token`, so `?%6Bey=` is `?key=` to it: comparing raw text would let a
 * credential through that the provider still accepts. keyway decodes a name as URL forms
 * do (`+` is a space, `%XX` a byte, a malformed escape stays as it is) and compares it
 * lower-cased, so `?KEY=` counts as well: treating a spelling the provider might ignore as
 * a credential can only remove or hide it, never let one pass. Every other parameter is
 * kept byte for byte.
 */

/** paramName returns the decoded, lower-cased name of one `name=value` query segment. */
export function paramName(segment: string): string {
  const eq = segment.indexOf('=');
  return decodeComponent(eq < 0 ? segment : segment.slice(0, eq)).toLowerCase();
}

/** decodeComponent decodes one form-encoded name or value; it never throws. */
export function decodeComponent(raw: string): string {
  if (!raw.includes('%') && !raw.includes('+')) return raw;
  // URLSearchParams decodes as browsers and servers do, leaving malformed escapes as text.
  return new URLSearchParams(`v=${raw}`).get('v') ?? raw;
}

export interface TakenParams {
  /** The decoded value of the first matching parameter, or undefined when none matched. */
  value: string | undefined;
  /** The query without the matching parameters, with its leading `?` ('' when nothing is left). */
  rest: string;
}

/**
 * takeParams finds the parameters of `query` (with its leading `?`) whose decoded name is
 * in `names` (lower case) and returns the first one's value and the query without any of
 * them. Only `&` separates parameters, as in Google's and the WHATWG URL parsers.
 */
export function takeParams(query: string, names: readonly string[]): TakenParams {
  let value: string | undefined;
  const kept: string[] = [];
  for (const segment of query.slice(1).split('&')) {
    if (segment !== '' && names.includes(paramName(segment))) {
      if (value === undefined) {
        const eq = segment.indexOf('=');
        value = eq < 0 ? '' : decodeComponent(segment.slice(eq + 1));
      }
    } else {
      kept.push(segment);
    }
  }
  if (value === undefined) return { value, rest: query };
  const rest = kept.filter((s) => s !== '').join('&');
  return { value, rest: rest === '' ? '' : `?${rest}` };
}

/**
 * redactParams returns `query` (without its `?`) with the value of every parameter whose
 * decoded name is in `names` replaced by `[redacted]`. It splits on `;` as well as `&`:
 * some servers accept either, and a record must not keep a key either way.
 */
export function redactParams(query: string, names: ReadonlySet<string>): string {
  let out = '';
  let start = 0;
  for (let i = 0; i <= query.length; i++) {
    const ch = i < query.length ? query.charCodeAt(i) : -1;
    if (ch !== -1 && ch !== 0x26 /* & */ && ch !== 0x3b /* ; */) continue;
    const segment = query.slice(start, i);
    const eq = segment.indexOf('=');
    out += eq >= 0 && names.has(paramName(segment)) ? `${segment.slice(0, eq)}=[redacted]` : segment;
    if (ch !== -1) out += query[i];
    start = i + 1;
  }
  return out;
}
