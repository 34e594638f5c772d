// Gemini (Generative Language API): generateContent, streamGenerateContent as SSE (`?alt=sse`,
// `\r\n\r\n`-separated like Google) or as a progressively written JSON array (no alt=sse),
// countTokens, and the `{"error":{code,message,status}}` envelope. The last stream chunk must
// carry finishReason or Gemini CLI retries and prints the answer several times.

import { arr, isObj, lastTurnIndex, sampleFromSchema, type Json } from './common.js';
import type { FormatAdapter, Inspection, Plan, ToolDef } from './types.js';

const STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const errorCache = new Map<number, string>();

function errorBody(code: number, message?: string): string {
  const cached = message === undefined ? errorCache.get(code) : undefined;
  if (cached !== undefined) return cached;
  const status = STATUS[code] ?? (code >= 500 ? 'UNAVAILABLE' : 'FAILED_PRECONDITION');
  const msg = message ?? (code === 401 ? 'API key not valid' : `mock ${status}`);
  const body = JSON.stringify({ error: { code, message: msg, status } });
  if (message === undefined) errorCache.set(code, body);
  return body;
}

function inspect(body: Json, urlModel: string): Inspection {
  const tools: ToolDef[] = [];
  for (const t of arr(body.tools)) {
    if (!isObj(t)) continue;
    for (const f of arr(t.functionDeclarations ?? t.function_declarations)) {
      if (isObj(f) && typeof f.name === 'string') {
        tools.push({ name: f.name, schema: f.parametersJsonSchema ?? f.parameters });
      }
    }
  }
  const contents = arr(body.contents);
  let toolResult: string | undefined;
  const last = contents[lastTurnIndex(contents)];
  if (isObj(last)) {
    const part = arr(last.parts).find((p) => isObj(p) && isObj(p.functionResponse));
    if (isObj(part) && isObj(part.functionResponse)) {
      const r = part.functionResponse.response;
      toolResult = isObj(r) && typeof r.output === 'string' ? r.output : JSON.stringify(r ?? null);
    }
  }
  // JSON mode (Gemini CLI's model router uses it): the reply text must parse against the schema.
  const gc = body.generationConfig;
  let jsonSchema: unknown;
  if (isObj(gc) && gc.responseMimeType === 'application/json') {
    jsonSchema = gc.responseJsonSchema ?? gc.responseSchema ?? null;
  }
  return { model: urlModel, stream: false, tools, toolResult, includeUsage: false, jsonSchema };
}

function usage(p: Plan, outputTokens: number): Json {
  const u: Json = {
    promptTokenCount: p.inputTokens,
    candidatesTokenCount: outputTokens,
    totalTokenCount: p.inputTokens + outputTokens,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: p.inputTokens }],
  };
  if (p.cacheRead > 0) u.cachedContentTokenCount = p.cacheRead;
  return u;
}

function candidateChunk(p: Plan, part: Json, finish: boolean, outputTokens: number): Json {
  const candidate: Json = { content: { parts: [part], role: 'model' }, index: 0 };
  if (finish) candidate.finishReason = 'STOP';
  return {
    candidates: [candidate],
    usageMetadata: usage(p, outputTokens),
    modelVersion: p.model,
    responseId: `mockresp${p.seq}`,
  };
}

function json(p: Plan): unknown {
  const part = p.tool ? { functionCall: { name: p.tool.name, args: p.tool.input } } : { text: p.text };
  return candidateChunk(p, part, true, p.outputTokens);
}

/** Stream chunks: one per text piece (usage is a running total, as Google sends it). */
function chunks(p: Plan): Json[] {
  // Gemini never streams function-call arguments: the whole call comes in one chunk.
  if (p.tool) return [json(p) as Json];
  const n = p.pieces.length;
  return p.pieces.map((text, i) => candidateChunk(p, { text }, i === n - 1, i + 1));
}

function frames(p: Plan): string[] {
  return chunks(p).map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`);
}

/** streamGenerateContent without alt=sse: a JSON array written element by element. */
export function geminiArrayFrames(p: Plan): string[] {
  const list = chunks(p);
  const out = list.map((c, i) => (i === 0 ? '[' : ',\r\n') + JSON.stringify(c));
  out[out.length - 1] += ']';
  return out;
}

export const gemini: FormatAdapter = {
  name: 'gemini',
  errorBody,
  inspect,
  json,
  frames,
  headers: () => ({}),
};

/** POST …/models/{model}:countTokens. */
export function geminiCountTokens(inputTokens: number): string {
  return `{"totalTokens":${inputTokens}}`;
}

/** Text for a JSON-mode reply: a schema-satisfying value whose strings are the usual text. */
export function geminiJsonText(schema: unknown, text: string): string {
  return JSON.stringify(sampleFromSchema(schema, text));
}
