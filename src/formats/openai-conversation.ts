/**
 * OpenAI conversations started by keyway itself, for both OpenAI formats: chat
 * completions and responses share the error envelope but differ in request and stream.
 */
import { isObject, parseObject, string } from './read-json.js';
import type { ConversationAdapter } from './types.js';

function openAiErrorMessage(body: unknown): string | undefined {
  return isObject(body) && isObject(body.error) ? string(body.error.message) : undefined;
}

export const openaiChatConversation: ConversationAdapter = {
  request(model, turns, { system, stream, maxTokens }) {
    const messages = [...(system ? [{ role: 'system', content: system }] : []), ...turns.map((t) => ({ role: t.role, content: t.content }))];
    return {
      path: '/v1/chat/completions',
      headers: {},
      body: { model, messages, max_completion_tokens: maxTokens, stream, ...(stream ? { stream_options: { include_usage: true } } : {}) },
    };
  },
  streamText(_event, data) {
    if (data === '[DONE]' || !data.includes('"content"')) return '';
    const choices = parseObject(data)?.choices;
    const first = Array.isArray(choices) ? choices[0] : undefined;
    return isObject(first) && isObject(first.delta) ? (string(first.delta.content) ?? '') : '';
  },
  answerText(body) {
    const choices = isObject(body) && Array.isArray(body.choices) ? body.choices : [];
    const first = choices[0];
    return isObject(first) && isObject(first.message) ? (string(first.message.content) ?? '') : '';
  },
  errorMessage: openAiErrorMessage,
};

export const openaiResponsesConversation: ConversationAdapter = {
  request(model, turns, { system, stream, maxTokens }) {
    return {
      path: '/v1/responses',
      headers: {},
      body: {
        model,
        ...(system ? { instructions: system } : {}),
        input: turns.map((t) => ({ role: t.role, content: t.content })),
        max_output_tokens: maxTokens,
        store: false,
        stream,
      },
    };
  },
  streamText(event, data) {
    if (event !== undefined && event !== 'response.output_text.delta') return '';
    if (!data.includes('response.output_text.delta')) return '';
    const e = parseObject(data);
    return e?.type === 'response.output_text.delta' ? (string(e.delta) ?? '') : '';
  },
  answerText(body) {
    if (!isObject(body)) return '';
    if (typeof body.output_text === 'string') return body.output_text;
    const output = Array.isArray(body.output) ? body.output : [];
    return output
      .flatMap((item) => (isObject(item) && item.type === 'message' && Array.isArray(item.content) ? item.content : []))
      .map((part) => (isObject(part) && part.type === 'output_text' ? (string(part.text) ?? '') : ''))
      .join('');
  },
  errorMessage: openAiErrorMessage,
};
