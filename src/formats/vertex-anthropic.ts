/**
 * Vertex AI, Anthropic's models (`google_raw_predict`):
 * `POST /v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict`
 * and `:streamRawPredict`, plus Claude's token counter at `…/models/count-tokens:rawPredict`
 * (whose model is in the body). The body is an Anthropic Messages request without `model`
 * and with `anthropic_version: "vertex-2023-10-16"`; answers and stream events are
 * Anthropic's, so the Anthropic reader serves. Errors keyway itself raises come in Google's
 * envelope, as Vertex's own front end sends them; a stream that breaks ends with
 * Anthropic's `error` event, which is what the stream's clients parse.
 */
import { anthropicConversation } from './anthropic-conversation.js';
import { renderAnthropicError } from './anthropic-messages.js';
import { AnthropicResponseReader } from './anthropic-usage.js';
import { geminiGenerateContent, renderGoogleError } from './gemini.js';
import type { ApiFormat, ConversationAdapter } from './types.js';
import { isClaudeModel, vertexModelPath } from './vertex-gemini.js';

export const VERTEX_ANTHROPIC_METHODS: ReadonlySet<string> = new Set(['rawPredict', 'streamRawPredict']);
/** The model segment of Claude's token-counting call on Vertex. */
export const VERTEX_COUNT_TOKENS_MODEL = 'count-tokens';
/** The `anthropic_version` Vertex requires in the body. */
export const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';

const vertexAnthropicConversation: ConversationAdapter = {
  ...anthropicConversation,
  request(model, turns, options) {
    const call = anthropicConversation.request(model, turns, options);
    // Vertex takes the model from the URL and the API version from the body.
    const { model: _model, ...body } = call.body;
    return {
      path: vertexModelPath('anthropic', model, options.stream ? 'streamRawPredict' : 'rawPredict'),
      headers: {},
      body: { anthropic_version: VERTEX_ANTHROPIC_VERSION, ...body },
    };
  },
};

export const vertexAnthropic: ApiFormat = {
  flag: 'google_raw_predict',
  endpoints: ['/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict'],
  credentialHint: 'Sign in to Google Cloud (gcloud auth application-default login) so the client sends its own Authorization: Bearer token.',
  // Vertex's front end reads Google's query credentials on every publisher.
  credentialQueryParams: geminiGenerateContent.credentialQueryParams,
  renderError: renderGoogleError,
  renderStreamError: (status, code, message) => `event: error\ndata: ${renderAnthropicError(status, code, message)}\n\n`,
  createResponseReader: () => new AnthropicResponseReader(),
  conversation: vertexAnthropicConversation,
  servesModel: isClaudeModel,
};
