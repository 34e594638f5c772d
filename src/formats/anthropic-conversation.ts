/** Anthropic Messages conversations started by keyway itself (chat UI, Test button). */
import { isObject, parseObject, string } from './read-json.js';
import type { ConversationAdapter } from './types.js';

export const anthropicConversation: ConversationAdapter = {
  request(model, turns, { system, stream, maxTokens }) {
    return {
      path: '/v1/messages',
      headers: { 'anthropic-version': '2023-06-01' },
      body: { model, max_tokens: maxTokens, ...(system ? { system } : {}), messages: turns.map((t) => ({ role: t.role, content: t.content })), stream },
    };
  },
  streamText(event, data) {
    if (event !== 'content_block_delta') return '';
    const delta = parseObject(data)?.delta;
    return isObject(delta) && delta.type === 'text_delta' ? (string(delta.text) ?? '') : '';
  },
  answerText(body) {
    const content = isObject(body) && Array.isArray(body.content) ? body.content : [];
    return content.map((b) => (isObject(b) && b.type === 'text' ? (string(b.text) ?? '') : '')).join('');
  },
  errorMessage(body) {
    return isObject(body) && isObject(body.error) ? string(body.error.message) : undefined;
  },
};
