// Route matching by path SUFFIX, so any base-URL prefix works (`/gw/v1/messages`,
// `/backend-api/codex/responses`, `/gw/gemini/v1beta/models/…`). Plain string checks, no
// regexes; the common routes are shared constant objects so matching allocates nothing.

import type { IncomingHttpHeaders } from 'node:http';
import { anthropic } from './anthropic.js';
import { bedrockConverse, bedrockInvoke } from './bedrock.js';
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
  | { kind: 'bedrock'; api: 'invoke' | 'converse'; model: string; stream: boolean }
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

/** Bedrock runtime actions (`…/model/{modelId}/{action}`) and what each means. */
const BEDROCK_ACTIONS: Record<string, { api: 'invoke' | 'converse'; stream: boolean } | undefined> = {
  invoke: { api: 'invoke', stream: false },
  'invoke-with-response-stream': { api: 'invoke', stream: true },
  converse: { api: 'converse', stream: false },
  'converse-stream': { api: 'converse', stream: true },
};
const BEDROCK_MODEL_SEGMENT = '/model/';

function matchBedrock(path: string): Route | undefined {
  const slash = path.lastIndexOf('/');
  const action = BEDROCK_ACTIONS[path.slice(slash + 1)];
  const at = path.indexOf(BEDROCK_MODEL_SEGMENT);
  if (action === undefined || at < 0 || at + BEDROCK_MODEL_SEGMENT.length >= slash) return undefined;
  return { kind: 'bedrock', ...action, model: decode(path.slice(at + BEDROCK_MODEL_SEGMENT.length, slash)) };
}

export function matchRoute(path: string): Route {
  if (path.endsWith('/v1/messages')) return MESSAGES;
  const bedrock = path.includes(BEDROCK_MODEL_SEGMENT) ? matchBedrock(path) : undefined;
  if (bedrock) return bedrock;
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
    case 'bedrock':
      return route.api === 'invoke' ? bedrockInvoke : bedrockConverse;
    default:
      if (headers['anthropic-version'] !== undefined || headers['x-api-key'] !== undefined) return anthropic;
      if (headers['x-goog-api-key'] !== undefined || query.includes('key=') || path.includes('/v1beta/')) return gemini;
      return openaiChat;
  }
}
