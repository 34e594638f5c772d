/**
 * Gemini API (`generativelanguage.googleapis.com`):
 * `POST /v1beta/models/{model}:generateContent`, `:streamGenerateContent`, `:countTokens`.
 * The model is part of the URL, so routing reads it there and a provider prefix is
 * removed from the path, percent-encoded so it can never leave its path segment.
 */
import { geminiConversation } from './gemini-conversation.js';
import { GeminiResponseReader } from './gemini-usage.js';
import type { ApiFormat } from './types.js';
import { geminiUserText } from './user-message.js';

function googleStatus(status: number): string {
  switch (status) {
    case 400: case 413: return 'INVALID_ARGUMENT';
    case 401: return 'UNAUTHENTICATED';
    case 403: return 'PERMISSION_DENIED';
    case 404: return 'NOT_FOUND';
    case 409: return 'ABORTED';
    case 429: return 'RESOURCE_EXHAUSTED';
    case 501: return 'UNIMPLEMENTED';
    case 502: case 503: return 'UNAVAILABLE';
    case 504: return 'DEADLINE_EXCEEDED';
    default: return status < 500 ? 'FAILED_PRECONDITION' : 'INTERNAL';
  }
}

export function renderGoogleError(status: number, code: string, message: string): string {
  // A guardrail's block is PERMISSION_DENIED with the status the hook chose (reference §11).
  return JSON.stringify({ error: { code: status, message, status: code === 'guardrail_blocked' ? 'PERMISSION_DENIED' : googleStatus(status) } });
}

export const GEMINI_METHODS: ReadonlySet<string> = new Set(['generateContent', 'streamGenerateContent', 'countTokens']);

export const geminiGenerateContent: ApiFormat = {
  flag: 'gemini_generate_content',
  endpoints: ['/v1beta/models/{model}:generateContent'],
  // Google reads an API key from `key` and an OAuth token from `access_token` (or the older
  // `oauth_token`); lower case, compared with the decoded name (upstream/query.ts).
  credentialQueryParams: ['key', 'access_token', 'oauth_token'],
  credentialHint: 'Set GEMINI_API_KEY (or GOOGLE_API_KEY) so the client sends x-goog-api-key or ?key=.',
  renderError: renderGoogleError,
  renderStreamError: (status, code, message) => `data: ${renderGoogleError(status, code, message)}\n\n`,
  // @google/genai 2.x throws on that event; Gemini CLI 0.61 (which bundles genai 1.30) does
  // not, and takes a cleanly ended stream as a short answer: it retries, prints the partial
  // text again and exits 0. A cut connection makes it fail at once, as without keyway.
  abortAfterStreamError: true,
  createResponseReader: () => new GeminiResponseReader(),
  userMessage: (body) => geminiUserText(body),
  conversation: geminiConversation,
};
