/**
 * Captures: what was sent and answered, for the request log. Credentials are redacted
 * from headers before anything is kept, and bodies are cut at a size limit.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parseDurationMs } from '../duration.js';
import { redactParams } from '../upstream/query.js';

/** Headers whose values are never kept (nor filterable: server/telemetry-api.ts). */
export const REDACTED_HEADERS: ReadonlySet<string> = new Set(['authorization', 'x-api-key', 'x-goog-api-key', 'api-key', 'cookie', 'set-cookie', 'proxy-authorization', 'x-amz-security-token']);

/** redactHeaders copies headers with every credential-bearing value replaced. */
export function redactHeaders(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (lower.startsWith('tailscale-')) continue;
    const kept = REDACTED_HEADERS.has(lower) ? '[redacted]' : Array.isArray(value) ? value.join(', ') : value;
    // `__proto__` is a valid header name; assigned, it would set the prototype and be lost.
    if (lower === '__proto__') Object.defineProperty(out, lower, { value: kept, enumerable: true, writable: true, configurable: true });
    else out[lower] = kept;
  }
  return out;
}

/**
 * Query parameters whose values are never recorded: every format's credential parameters
 * (Gemini `key`, `access_token`, `oauth_token`), a presigned AWS request's signature and
 * token (`X-Amz-Signature`, …) and the usual spellings of keys and tokens
 * other APIs use, compared by decoded, lower-cased name (upstream/query.ts).
 */
export const REDACTED_QUERY_PARAMS: ReadonlySet<string> = new Set([
  'key', 'access_token', 'oauth_token', 'api_key', 'apikey', 'api-key', 'x-goog-api-key', 'token', 'auth', 'auth_token',
  'client_secret', 'password', 'secret', 'sig', 'signature',
  'x-amz-signature', 'x-amz-credential', 'x-amz-security-token', 'x-amz-algorithm', 'x-amz-date', 'x-amz-expires', 'x-amz-signedheaders',
]);

/** redactQuery replaces the value of every credential parameter in a path's query with `[redacted]`. */
export function redactQuery(path: string): string {
  const q = path.indexOf('?');
  if (q < 0 || q === path.length - 1) return path;
  return path.slice(0, q + 1) + redactParams(path.slice(q + 1), REDACTED_QUERY_PARAMS);
}

/** cut returns text limited to `limit` characters and whether it was cut. */
export function cut(text: string, limit: number): { text: string; truncated: boolean } {
  return text.length <= limit ? { text, truncated: false } : { text: text.slice(0, limit), truncated: true };
}

/** parseRetention turns `database.retention.duration` into milliseconds (undefined: keep forever, 0: keep none). */
export function parseRetention(duration: unknown): number | undefined {
  if (typeof duration !== 'string' || duration === '') return undefined;
  if (duration === '0') return 0;
  const total = parseDurationMs(duration);
  if (total === undefined) return undefined;
  // The reference bounds retention to between one hour and 3650 days.
  return Math.min(Math.max(total, 3_600_000), 3650 * 86_400_000);
}
