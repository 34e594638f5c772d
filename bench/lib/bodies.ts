/**
 * Request bodies of a chosen size, shaped like a real chat history: a system prompt and
 * alternating user/assistant turns of about 1 KB each, so that large bodies cost what
 * large conversations cost to parse (many strings and objects, not one giant string).
 */

/** BENCH_MODEL is the model every benchmark request asks for. */
export const BENCH_MODEL = 'gpt-bench';

const WORDS = 'the gateway forwards each request to the provider that serves its model and streams the answer back '.split(' ');

function prose(chars: number, seed: number): string {
  let out = '';
  for (let i = seed; out.length < chars; i++) out += `${WORDS[i % WORDS.length]} `;
  return out.slice(0, chars);
}

/**
 * chatBody returns an OpenAI chat request body of exactly `bytes` bytes (or the smallest
 * possible one when `bytes` is below that), asking for `gpt-bench`.
 */
export function chatBody(bytes: number, stream = false): string {
  const messages: Array<{ role: string; content: string }> = [{ role: 'system', content: 'You are a helpful assistant.' }];
  const doc = { model: BENCH_MODEL, max_tokens: 256, stream, messages };
  const TURN = 1000;
  let size = JSON.stringify(doc).length;
  // Whole turns while they fit, then one last turn padded to the exact size.
  while (size + TURN + 40 < bytes) {
    const content = prose(TURN, messages.length);
    messages.push({ role: messages.length % 2 ? 'user' : 'assistant', content });
    size = JSON.stringify(doc).length;
  }
  const last = { role: 'user', content: '' };
  messages.push(last);
  const missing = bytes - JSON.stringify(doc).length;
  if (missing > 0) last.content = prose(missing, 7);
  return JSON.stringify(doc);
}

/**
 * anthropicBody returns an Anthropic Messages request of about `bytes` bytes for `model`:
 * the same conversation as chatBody, with the system prompt at the top level.
 */
export function anthropicBody(bytes: number, stream: boolean, model: string): string {
  const chat = JSON.parse(chatBody(bytes, stream)) as { max_tokens: number; messages: Array<{ role: string; content: string }> };
  const [system, ...messages] = chat.messages;
  return JSON.stringify({ model, max_tokens: chat.max_tokens, stream, system: system!.content, messages });
}
