// Route matching by path SUFFIX, so any base-URL prefix works (`/gw/v1/messages`,
// `/backend-api/codex/responses`, `/gw/gemini/v1beta/models/…`). Plain string checks, no
// regexes; the common routes are shared constant objects so matching allocates nothing.

import type { IncomingHttpHeaders } from 'node:http';
import { anthropic } from './anthropic.js';
import { gemini } from './gemini.js';
import { openaiChat } from './openai-chat.js';
import { openaiResponses } from './openai-responses.js';
import type { FormatAdapter } from './types.js';
import { matchVertexAnthropic, vertexAnthropic } from './vertex.js';

export type GeminiMethod = 'generateContent' | 'streamGenerateContent' | 'countTokens';

export type Route =
  | { kind: 'messages' }
  | { kind: 'count_tokens' }
  | { kind: 'chat' }
  | { kind: 'responses' }
  | { kind: 'gemini'; model: string; method: GeminiMethod }
  | { kind: 'vertex_anthropic'; model: string }
  | { kind: 'models' }
  | { kind: 'model'; id: string }
  | { kind: 'not_found' };

const MESSAGES: Route = { kind: 'messages' };
const COUNT_TOKENS: Route = { kind: 'count_tokens' };
const CHAT: Route = { kind: 'chat' };
const RESPONSES: Route = { kind: 'responses' };
const MODELS: Route = { kind: 'models' };
const NOT_FOUND: Route = { kind: 'not_found' };

const MODELS_SEGMENT = '/models/';

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // malformed %-escape: keep it raw rather than fail the request
  }
}

export function matchRoute(path: string): Route {
  if (path.endsWith('/v1/messages')) return MESSAGES;
  if (path.endsWith('/v1/messages/count_tokens')) return COUNT_TOKENS;
  if (path.endsWith('/chat/completions')) return CHAT;
  if (path.endsWith('/responses')) return RESPONSES;
  if (path.endsWith('/models')) return MODELS;
  const at = path.lastIndexOf(MODELS_SEGMENT);
  if (at < 0) return NOT_FOUND;
  const rest = path.slice(at + MODELS_SEGMENT.length);
  const colon = rest.lastIndexOf(':');
  if (colon < 0) {
    return rest !== '' && !rest.includes('/') ? { kind: 'model', id: decode(rest) } : NOT_FOUND;
  }
  const method = rest.slice(colon + 1);
  if (method === 'generateContent' || method === 'streamGenerateContent' || method === 'countTokens') {
    return { kind: 'gemini', model: decode(rest.slice(0, colon)), method };
  }
  return matchVertexAnthropic(path, decode(rest.slice(0, colon)), method) ?? NOT_FOUND;
}

/** The wire format a route speaks, for error envelopes; format-neutral routes guess from headers. */
export function routeFormat(route: Route, headers: IncomingHttpHeaders, path: string, query: string): FormatAdapter {
  switch (route.kind) {
    case 'messages':
    case 'count_tokens':
      return anthropic;
    case 'chat':
      return openaiChat;
    case 'responses':
      return openaiResponses;
    case 'gemini':
      return gemini;
    case 'vertex_anthropic':
      return vertexAnthropic;
    default:
      if (headers['anthropic-version'] !== undefined || headers['x-api-key'] !== undefined) return anthropic;
      if (headers['x-goog-api-key'] !== undefined || query.includes('key=') || path.includes('/v1beta/')) return gemini;
      return openaiChat;
  }
}
