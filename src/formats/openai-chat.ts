/** OpenAI Chat Completions: `POST /v1/chat/completions` (and `/chat/completions`). */
import { openaiChatConversation } from './openai-conversation.js';
import { renderOpenAiError } from './openai.js';
import { OpenAiChatResponseReader } from './openai-chat-usage.js';
import type { ApiFormat } from './types.js';
import { lastRoleText } from './user-message.js';

export const openaiChat: ApiFormat = {
  flag: 'openai_chat',
  endpoints: ['/v1/chat/completions'],
  credentialQueryParams: [],
  credentialHint: "Set the client's OpenAI API key (OPENAI_API_KEY for the OpenAI SDKs) so it sends Authorization: Bearer.",
  renderError: renderOpenAiError,
  // The OpenAI SDKs raise an APIError for any stream chunk that carries `error`.
  renderStreamError: (status, code, message) => `data: ${renderOpenAiError(status, code, message)}\n\n`,
  createResponseReader: () => new OpenAiChatResponseReader(),
  userMessage: (body) => lastRoleText(body),
  conversation: openaiChatConversation,
};
