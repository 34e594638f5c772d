/**
 * Captures: what was sent and answered, for the request log. Credentials are redacted
 * from headers before anything is kept, and bodies are cut at a size limit.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parseDurationMs } from '../duration.js';

const REDACTED_HEADERS = new Set(['authorization', 'x-api-key', 'x-goog-api-key', 'api-key', 'cookie', 'set-cookie', 'proxy-authorization', 'x-amz-security-token']);

/** redactHeaders copies headers with every credential-bearing value replaced. */
export function redactHeaders(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (lower.startsWith('tailscale-')) continue;
    out[lower] = REDACTED_HEADERS.has(lower) ? '[redacted]' : Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Query parameters that carry a credential: Gemini's `key`, a presigned AWS request's signature and token. */
const REDACTED_PARAMS = ['key', 'X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Security-Token'];

/** redactQuery removes credentials (`key=`, SigV4 `X-Amz-…`) from a query string. */
export function redactQuery(path: string): string {
  const q = path.indexOf('?');
  if (q < 0 || (!path.includes('key=', q) && !path.includes('X-Amz-', q))) return path;
  const params = new URLSearchParams(path.slice(q + 1));
  for (const name of REDACTED_PARAMS) if (params.has(name)) params.set(name, '[redacted]');
  return `${path.slice(0, q)}?${params.toString()}`;
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
