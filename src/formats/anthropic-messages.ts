/** Anthropic Messages: `POST /v1/messages` and `/v1/messages/count_tokens`. */
import { anthropicConversation } from './anthropic-conversation.js';
import { AnthropicResponseReader } from './anthropic-usage.js';
import type { ApiFormat } from './types.js';
import { lastRoleText } from './user-message.js';

/** anthropicErrorType names the `error.type` Anthropic uses for a status. */
function anthropicErrorType(status: number): string {
  switch (status) {
    case 400: return 'invalid_request_error';
    case 401: return 'authentication_error';
    case 403: return 'permission_error';
    case 404: return 'not_found_error';
    case 413: return 'request_too_large';
    case 429: return 'rate_limit_error';
    case 529: return 'overloaded_error';
    case 504: return 'timeout_error';
    default: return status < 500 ? 'invalid_request_error' : 'api_error';
  }
}

export function renderAnthropicError(status: number, code: string, message: string): string {
  // A guardrail's block reads as a request Anthropic would not take, whatever its status (reference §11).
  const type = code === 'guardrail_blocked' ? 'invalid_request_error' : anthropicErrorType(status);
  return JSON.stringify({ type: 'error', error: { type, message } });
}

export const anthropicMessages: ApiFormat = {
  flag: 'anthropic_messages',
  endpoints: ['/v1/messages'],
  credentialQueryParams: [],
  credentialHint: 'Set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN), or sign in to Claude Code, so the client sends its own key.',
  renderError: renderAnthropicError,
  // Anthropic itself ends a failing stream with an `error` event of this shape.
  renderStreamError: (status, code, message) => `event: error\ndata: ${renderAnthropicError(status, code, message)}\n\n`,
  createResponseReader: () => new AnthropicResponseReader(),
  userMessage: (body) => lastRoleText(body),
  conversation: anthropicConversation,
};
