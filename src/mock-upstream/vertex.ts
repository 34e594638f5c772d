// Vertex AI: Gemini models under …/publishers/google/models/{model}:generateContent (served by
// the Gemini routes, which match any prefix) and Anthropic's models under
// …/publishers/anthropic/models/{model}:rawPredict | :streamRawPredict (Anthropic Messages
// bodies without `model`, Anthropic answers and SSE), plus Claude's token counter
// …/models/count-tokens:rawPredict. Vertex's own front end answers errors in Google's
// envelope (`{"error":{code,message,status}}`).

import { anthropic } from './anthropic.js';
import { isObj } from './common.js';
import { gemini } from './gemini.js';
import type { Route } from './routes.js';
import type { FormatAdapter } from './types.js';

const COUNT_TOKENS: Route = { kind: 'count_tokens' };

/** matchVertexAnthropic reads the Anthropic publisher's methods; undefined for any other method. */
export function matchVertexAnthropic(path: string, model: string, method: string): Route | undefined {
  if (!path.includes('/publishers/anthropic/models/')) return undefined;
  if (method === 'rawPredict' && model === 'count-tokens') return COUNT_TOKENS;
  if (method === 'rawPredict' || method === 'streamRawPredict') return { kind: 'vertex_anthropic', model };
  return undefined;
}

/** isVertexPath: a path on Vertex's API surface (full or express-mode short form). */
export function isVertexPath(path: string): boolean {
  return path.includes('/publishers/');
}

/** Anthropic on Vertex: the model comes from the URL, errors in Google's envelope. */
export const vertexAnthropic: FormatAdapter = {
  ...anthropic,
  errorBody: gemini.errorBody,
  inspect(body, urlModel) {
    const ins = anthropic.inspect(body, urlModel);
    // Vertex rejects a body that names the model; the mock says so as Vertex does.
    return { ...ins, model: urlModel, stream: ins.stream || (isObj(body) && body.stream === true) };
  },
};
