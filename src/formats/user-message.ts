/**
 * The text of the last user message of a request body, for hooks that ask for
 * `user_message` (the prompt a guardrail inspects). Each format module picks the reader
 * for its body shape; these are the shapes the APIs share. Total functions: a body of a
 * shape they do not know yields undefined.
 */
import { isObject, type JsonObject } from './read-json.js';

/**
 * lastRoleText reads `messages: [{role, content}]` (OpenAI chat, Anthropic messages): the
 * last message with role `user` that has text, its content a string or an array of parts
 * whose `text` pieces are joined with newlines. Images, tool results and the like are not
 * text: a user turn holding only tool results (an agent's tool loop) is passed over for
 * the prompt before it.
 */
export function lastRoleText(body: JsonObject, key = 'messages', role = 'user'): string | undefined {
  const list = body[key];
  if (!Array.isArray(list)) return undefined;
  for (let i = list.length - 1; i >= 0; i--) {
    const m = list[i];
    if (!isObject(m) || m.role !== role) continue;
    const text = contentText(m.content);
    if (text) return text;
  }
  return undefined;
}

/** responsesUserText reads OpenAI Responses' `input`: a string, or items of which the last user message counts. */
export function responsesUserText(body: JsonObject): string | undefined {
  if (typeof body.input === 'string') return body.input;
  return lastRoleText(body, 'input');
}

/** geminiUserText reads Gemini's `contents: [{role, parts: [{text}]}]`; a content without a role is the user's. */
export function geminiUserText(body: JsonObject): string | undefined {
  const list = body.contents;
  if (!Array.isArray(list)) return undefined;
  for (let i = list.length - 1; i >= 0; i--) {
    const c = list[i];
    if (!isObject(c) || (c.role !== undefined && c.role !== 'user')) continue;
    const text = contentText(c.parts);
    if (text) return text;
  }
  return undefined;
}

function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const texts: string[] = [];
  for (const part of content) {
    if (typeof part === 'string') texts.push(part);
    else if (isObject(part) && typeof part.text === 'string') texts.push(part.text);
  }
  return texts.join('\n');
}
