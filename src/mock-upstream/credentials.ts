// Which credentials the mock refuses with a 401, the way the real APIs refuse keys that are
// clearly not theirs: an Anthropic key starts with `sk-ant-`, an OpenAI key with `sk-`, a
// Google API key with `AIza`. A credential that says "invalid" or "wrong" (any case) is
// refused everywhere, so a test or a doc example can ask for a 401 on purpose. A request with
// no credential at all is served: the mock also stands in for self-hosted servers
// (`auth_mode: none`). Plain string checks only: this runs on every request of the benchmark.

import type { IncomingHttpHeaders } from 'node:http';
import type { FormatName } from './types.js';

/** The API-key prefix each API expects. */
const KEY_PREFIX: Record<FormatName, string> = {
  anthropic: 'sk-ant-',
  'openai-chat': 'sk-',
  'openai-responses': 'sk-',
  gemini: 'AIza',
  // Bedrock API keys have no prefix to check; SigV4 signatures are verified (sigv4.ts).
  'bedrock-invoke': '',
  'bedrock-converse': '',
};

/** The ChatGPT backend (Codex's subscription login) takes access tokens (JWTs), not API keys. */
const CHATGPT_BACKEND = '/backend-api/';

/** marked: the credential says it is deliberately bad ("invalid", "wrong", any case). */
function marked(v: string): boolean {
  const lower = v.toLowerCase();
  return lower.includes('invalid') || lower.includes('wrong');
}

function anyMarked(v: string | string[] | undefined): boolean {
  if (v === undefined) return false;
  return Array.isArray(v) ? v.some(marked) : marked(v);
}

/** The token of an `Authorization` value: what follows `Bearer `, else the whole value. */
function bearerToken(v: string): string {
  return v.length > 7 && v.slice(0, 7).toLowerCase() === 'bearer ' ? v.slice(7).trim() : v;
}

function lacks(prefix: string, v: string | string[] | undefined, token: (s: string) => string = (s) => s): boolean {
  if (v === undefined) return false;
  return Array.isArray(v) ? v.some((x) => !token(x).startsWith(prefix)) : !token(v).startsWith(prefix);
}

/** The `key` query parameter (Gemini), parsed only when the raw query mentions one. */
function queryKey(query: string): string | null {
  return query.includes('key=') ? new URLSearchParams(query.slice(1)).get('key') : null;
}

/**
 * refusesCredential reports whether the mock answers 401 to a request in `format` at `path`.
 * Marked credentials are always refused; with `checkPrefix` (the default), so are keys
 * without the API's prefix, in the headers that API reads its key from:
 * Anthropic `x-api-key` and `Authorization: Bearer` (the SDK and OAuth logins send a bearer,
 * also `sk-ant-…`), OpenAI `Authorization: Bearer` (any token on the ChatGPT backend), and
 * Google `x-goog-api-key` and `?key=` (a bearer there is an OAuth token: any is accepted).
 */
export function refusesCredential(format: FormatName, path: string, headers: IncomingHttpHeaders, query: string, checkPrefix: boolean): boolean {
  const key = query.length > 0 ? queryKey(query) : null;
  if (anyMarked(headers.authorization) || anyMarked(headers['x-api-key']) || anyMarked(headers['x-goog-api-key']) || (key !== null && marked(key))) return true;
  if (!checkPrefix) return false;
  const prefix = KEY_PREFIX[format];
  switch (format) {
    case 'anthropic':
      return lacks(prefix, headers['x-api-key']) || lacks(prefix, headers.authorization, bearerToken);
    case 'openai-chat':
    case 'openai-responses':
      return !path.includes(CHATGPT_BACKEND) && lacks(prefix, headers.authorization, bearerToken);
    case 'gemini':
      return lacks(prefix, headers['x-goog-api-key']) || (key !== null && !key.startsWith(prefix));
    case 'bedrock-invoke':
    case 'bedrock-converse':
      return false;
  }
}
