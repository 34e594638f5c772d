/**
 * The format registry: which request paths keyway proxies and what each one means.
 * Exact paths are looked up in a Map; the patterns (Gemini's and Bedrock's model-in-URL
 * paths) are parsed by hand, so matching costs a Map lookup and a few string operations.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { anthropicMessages } from './anthropic-messages.js';
import { BEDROCK_MODEL_PREFIX, matchBedrockPath } from './bedrock-common.js';
import { CONVERSE_ACTIONS, bedrockConverse } from './bedrock-converse.js';
import { INVOKE_ACTIONS, bedrockInvoke } from './bedrock-invoke.js';
import { GEMINI_METHODS, geminiGenerateContent } from './gemini.js';
import { openaiChat } from './openai-chat.js';
import { openaiResponses } from './openai-responses.js';
import type { ApiFormat, RouteMatch } from './types.js';
import { geminiCliVertex } from './gemini-cli-vertex.js';
import { vertexAnthropic } from './vertex-anthropic.js';
import { vertexGemini } from './vertex-gemini.js';
import { matchVertexRoute } from './vertex-routes.js';

/** FORMATS lists every format keyway serves; a new format is one more entry here. */
export const FORMATS: readonly ApiFormat[] = [openaiChat, openaiResponses, anthropicMessages, geminiGenerateContent, vertexGemini, vertexAnthropic, geminiCliVertex, bedrockInvoke, bedrockConverse];

/** POST paths whose model is in the JSON body, and the upstream path each maps to. */
const BODY_ROUTES = new Map<string, RouteMatch>([
  ['/v1/chat/completions', { format: openaiChat, upstreamPath: '/v1/chat/completions' }],
  ['/chat/completions', { format: openaiChat, upstreamPath: '/chat/completions' }],
  ['/v1/responses', { format: openaiResponses, upstreamPath: '/v1/responses' }],
  ['/v1/responses/compact', { format: openaiResponses, upstreamPath: '/v1/responses/compact' }],
  // ChatGPT-subscription clients use base URL http://HOST/codex; the provider's baseurl
  // (…/backend-api/codex) already holds that part, so only /responses is appended.
  ['/codex/responses', { format: openaiResponses, upstreamPath: '/responses' }],
  ['/codex/responses/compact', { format: openaiResponses, upstreamPath: '/responses/compact' }],
  ['/v1/messages', { format: anthropicMessages, upstreamPath: '/v1/messages' }],
  ['/v1/messages/count_tokens', { format: anthropicMessages, upstreamPath: '/v1/messages/count_tokens' }],
]);

const GEMINI_PREFIXES = ['/v1beta/models/', '/v1/models/'] as const;

/**
 * matchRoute returns what a POST to `pathname` means, or undefined when keyway does not
 * proxy that path. A Gemini path whose model cannot be decoded yields `urlModel: ''`,
 * which the caller rejects as a bad model name.
 */
export function matchRoute(pathname: string): RouteMatch | undefined {
  const exact = BODY_ROUTES.get(pathname);
  if (exact) return exact;
  for (const prefix of GEMINI_PREFIXES) {
    if (pathname.startsWith(prefix)) return matchGemini(prefix, pathname);
  }
  if (pathname.startsWith(BEDROCK_MODEL_PREFIX)) {
    return matchBedrockPath(pathname, bedrockInvoke, INVOKE_ACTIONS) ?? matchBedrockPath(pathname, bedrockConverse, CONVERSE_ACTIONS);
  }
  return matchVertexRoute(pathname);
}

function matchGemini(prefix: string, pathname: string): RouteMatch | undefined {
  const rest = pathname.slice(prefix.length);
  const colon = rest.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const method = rest.slice(colon + 1);
  if (!GEMINI_METHODS.has(method)) return undefined;
  let model: string;
  try {
    model = decodeURIComponent(rest.slice(0, colon));
  } catch {
    model = '';
  }
  return {
    format: geminiGenerateContent,
    upstreamPath: pathname,
    urlModel: model,
    // Encoding keeps a model name inside its path segment whatever it contains.
    withModel: (m) => `${prefix}${encodeURIComponent(m)}:${method}`,
    urlStreams: method === 'streamGenerateContent',
  };
}

/** isResponsesPath reports the paths where Codex probes for a WebSocket upgrade with GET. */
export function isResponsesPath(pathname: string): boolean {
  return pathname === '/v1/responses' || pathname === '/codex/responses';
}

/**
 * formatForPath guesses the API of a request keyway could not route (unknown path,
 * refused caller, unknown model in `GET /v1/models/{id}`), so even that error reaches the
 * client in an envelope it can read.
 */
export function formatForPath(pathname: string, headers?: IncomingHttpHeaders): ApiFormat {
  if (pathname.startsWith('/v1/messages')) return anthropicMessages;
  if (pathname.startsWith('/v1beta/')) return geminiGenerateContent;
  // Vertex AI answers in Google's envelope, whichever publisher the model is from.
  if (pathname.startsWith('/v1beta1/')) return vertexGemini;
  if (pathname.startsWith('/v1/projects/') || pathname.startsWith('/v1/publishers/')) return pathname.includes('/publishers/anthropic/') ? vertexAnthropic : vertexGemini;
  if (pathname.startsWith('/v1/responses') || pathname.startsWith('/codex/')) return openaiResponses;
  if (pathname.startsWith('/bedrock/')) return pathname.includes('/converse') ? bedrockConverse : bedrockInvoke;
  // OpenAI's and Anthropic's SDKs share `/v1/models`; Anthropic's always send anthropic-version.
  if (headers?.['anthropic-version'] !== undefined && pathname.startsWith('/v1/models')) return anthropicMessages;
  return openaiChat;
}

/** formatByFlag finds the format a compatibility flag enables, if keyway serves it. */
export function formatByFlag(flag: string): ApiFormat | undefined {
  return FORMATS.find((f) => f.flag === flag);
}
