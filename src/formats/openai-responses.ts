/**
 * OpenAI Responses: `POST /v1/responses`, and `POST /codex/responses` for providers
 * that front the ChatGPT subscription backend (`…/backend-api/codex`), where the
 * `/codex` prefix is removed before the path is appended to the baseurl.
 */
import { openaiResponsesConversation } from './openai-conversation.js';
import { openAiErrorType, renderOpenAiError } from './openai.js';
import { OpenAiResponsesResponseReader } from './openai-responses-usage.js';
import type { ApiFormat } from './types.js';
import { responsesUserText } from './user-message.js';

export const openaiResponses: ApiFormat = {
  flag: 'openai_responses',
  endpoints: ['/v1/responses'],
  credentialQueryParams: [],
  credentialHint: 'Set OPENAI_API_KEY for the OpenAI SDKs; Codex sends CODEX_API_KEY, a key stored with codex login, or its ChatGPT sign-in.',
  renderError: renderOpenAiError,
  // The Responses stream reports failures as an `error` event.
  renderStreamError: (status, code, message) =>
    `event: error\ndata: ${JSON.stringify({ type: 'error', code, message, param: null, error: { type: openAiErrorType(status), code, message } })}\n\n`,
  createResponseReader: () => new OpenAiResponsesResponseReader(),
  userMessage: (body) => responsesUserText(body),
  conversation: openaiResponsesConversation,
};
