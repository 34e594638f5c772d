/**
 * Gemini CLI on Vertex (`experimental_gemini_cli_vertex_compat`). With
 * `selectedType: "vertex-ai"` and `GOOGLE_API_KEY`, Gemini CLI talks Vertex express mode:
 * short paths without a project (`/v1beta1/publishers/google/models/{model}:streamGenerateContent`)
 * that only an API key can call. keyway rewrites them to the full path of the provider's
 * project (from its keyfile) and region `global`, so a service account can serve them,
 * and removes the body fields Vertex rejects.
 *
 * The fields removed: `id` of `functionCall` and `functionResponse` parts. Gemini CLI
 * sends them to match tool results to calls; the Gemini API accepts them, Vertex answered
 * 400 `Unknown name "id" at 'contents[…].parts[…].function_response'` for its generations
 * before Gemini 3 (reported in google-gemini/gemini-cli#13972, 2025-11). Nothing else in
 * the body changes, and a body with none of them is forwarded byte for byte.
 */
import type { ApiFormat, ConversationAdapter } from './types.js';
import { geminiConversation } from './gemini-conversation.js';
import { vertexGemini } from './vertex-gemini.js';
import { encodeSegment } from './vertex-path.js';

/** Part fields whose `id` Vertex rejects. */
const ID_BEARING_PARTS = ['functionCall', 'functionResponse'] as const;

/**
 * stripVertexRejectedFields returns the body as JSON without the fields Vertex rejects, or
 * undefined when it has none (the caller then forwards the client's bytes). The parsed
 * body is not modified: the request's record keeps what the client sent.
 */
export function stripVertexRejectedFields(body: Record<string, unknown>): string | undefined {
  const contents = body.contents;
  if (!Array.isArray(contents)) return undefined;
  let changed = false;
  const cleaned = contents.map((turn: unknown) => {
    if (!isObject(turn) || !Array.isArray(turn.parts)) return turn;
    let turnChanged = false;
    const parts = turn.parts.map((part: unknown) => {
      if (!isObject(part)) return part;
      let copy: Record<string, unknown> | undefined;
      for (const field of ID_BEARING_PARTS) {
        const value = part[field];
        if (isObject(value) && 'id' in value) {
          const { id: _id, ...rest } = value;
          copy ??= { ...part };
          copy[field] = rest;
        }
      }
      if (!copy) return part;
      turnChanged = true;
      return copy;
    });
    if (!turnChanged) return turn;
    changed = true;
    return { ...turn, parts };
  });
  return changed ? JSON.stringify({ ...body, contents: cleaned }) : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const geminiCliConversation: ConversationAdapter = {
  ...geminiConversation,
  request(model, turns, options) {
    const call = geminiConversation.request(model, turns, options);
    const method = options.stream ? 'streamGenerateContent?alt=sse' : 'generateContent';
    return { ...call, path: `/v1beta1/publishers/google/models/${encodeSegment(model)}:${method}` };
  },
};

export const geminiCliVertex: ApiFormat = {
  ...vertexGemini,
  flag: 'experimental_gemini_cli_vertex_compat',
  endpoints: ['/v1beta1/publishers/google/models/{model}:generateContent'],
  conversation: geminiCliConversation,
};
