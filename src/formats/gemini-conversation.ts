/** Gemini conversations started by keyway itself (chat UI, Test button). */
import { isObject, parseObject, string } from './read-json.js';
import type { ConversationAdapter } from './types.js';

function candidateText(response: unknown): string {
  const candidates = isObject(response) && Array.isArray(response.candidates) ? response.candidates : [];
  const first = candidates[0];
  const parts = isObject(first) && isObject(first.content) && Array.isArray(first.content.parts) ? first.content.parts : [];
  // Thought summaries are not part of the answer.
  return parts.map((p) => (isObject(p) && p.thought !== true ? (string(p.text) ?? '') : '')).join('');
}

export const geminiConversation: ConversationAdapter = {
  request(model, turns, { system, stream, maxTokens }) {
    const method = stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
    return {
      path: `/v1beta/models/${encodeURIComponent(model)}:${method}`,
      headers: {},
      body: {
        contents: turns.map((t) => ({ role: t.role === 'assistant' ? 'model' : 'user', parts: [{ text: t.content }] })),
        ...(system ? { systemInstruction: { parts: [{ text: system }] } } : {}),
        generationConfig: { maxOutputTokens: maxTokens },
      },
    };
  },
  streamText(_event, data) {
    return candidateText(parseObject(data));
  },
  answerText(body) {
    return Array.isArray(body) ? body.map(candidateText).join('') : candidateText(body);
  },
  errorMessage(body) {
    const first = Array.isArray(body) ? body[0] : body;
    return isObject(first) && isObject(first.error) ? string(first.error.message) : undefined;
  },
};
