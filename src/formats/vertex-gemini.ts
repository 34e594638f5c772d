/**
 * Vertex AI, Google's own models (`google_generate_content`):
 * `POST /v1/projects/{project}/locations/{region}/publishers/google/models/{model}:generateContent`,
 * `:streamGenerateContent` (`?alt=sse` for SSE, a JSON array without it) and `:countTokens`,
 * under `/v1/` and `/v1beta1/` (@google/genai's default). Requests and answers are the
 * Gemini API's, so the Gemini reader and conversation serve; errors are Google's envelope.
 */
import { geminiConversation } from './gemini-conversation.js';
import { geminiGenerateContent, renderGoogleError } from './gemini.js';
import { GeminiResponseReader } from './gemini-usage.js';
import type { ApiFormat, ConversationAdapter } from './types.js';
import { VERTEX_PROJECT_PLACEHOLDER, VERTEX_REGION_PLACEHOLDER, encodeSegment } from './vertex-path.js';

export const VERTEX_GOOGLE_METHODS: ReadonlySet<string> = new Set(['generateContent', 'streamGenerateContent', 'countTokens']);

/** vertexModelPath is the full Vertex path keyway's own calls use, with both placeholders. */
export function vertexModelPath(publisher: string, model: string, method: string): string {
  return `/v1/projects/${VERTEX_PROJECT_PLACEHOLDER}/locations/${VERTEX_REGION_PLACEHOLDER}/publishers/${publisher}/models/${encodeSegment(model)}:${method}`;
}

/** isClaudeModel: Anthropic's models on Vertex (`claude-…`), which only rawPredict serves. */
export function isClaudeModel(model: string): boolean {
  return model.startsWith('claude');
}

const vertexGeminiConversation: ConversationAdapter = {
  ...geminiConversation,
  request(model, turns, options) {
    const call = geminiConversation.request(model, turns, options);
    const method = options.stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
    return { ...call, path: vertexModelPath('google', model, method) };
  },
};

export const vertexGemini: ApiFormat = {
  flag: 'google_generate_content',
  endpoints: ['/v1/projects/{project}/locations/{region}/publishers/google/models/{model}:generateContent'],
  credentialHint: 'Sign in to Google Cloud (gcloud auth application-default login) so the client sends its own Authorization: Bearer token.',
  // Google's query credentials (express mode's ?key=, …): the same as the Gemini API's.
  credentialQueryParams: geminiGenerateContent.credentialQueryParams,
  renderError: renderGoogleError,
  renderStreamError: (status, code, message) => `data: ${renderGoogleError(status, code, message)}\n\n`,
  // The same clients as the Gemini API (@google/genai, Gemini CLI): see gemini.ts.
  abortAfterStreamError: true,
  createResponseReader: () => new GeminiResponseReader(),
  conversation: vertexGeminiConversation,
  servesModel: (model) => !isClaudeModel(model),
};
