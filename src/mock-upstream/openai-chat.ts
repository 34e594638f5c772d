// OpenAI Chat Completions: JSON replies, data-only `chat.completion.chunk` streams ending in
// `data: [DONE]` (with a choices:[] usage chunk when stream_options.include_usage is set, as
// OpenAI does), tool_calls with argument deltas, and the `{"error":{...}}` envelope.

import { arr, contentText, isObj, lastTurnIndex, str, type Json } from './common.js';
import { dataFrame } from './sse.js';
import type { FormatAdapter, Inspection, Plan, ToolDef } from './types.js';

/** type / code per status, shaped like the real API's errors. Shared with the Responses API. */
const ERRORS: Record<number, [type: string, code: string | null, message: string]> = {
  400: ['invalid_request_error', null, 'mock invalid_request_error'],
  401: ['invalid_request_error', 'invalid_api_key', 'Incorrect API key provided'],
  403: ['permission_error', 'unsupported_country_region_territory', 'mock permission_error'],
  404: ['invalid_request_error', 'model_not_found', 'mock not_found'],
  429: ['requests', 'rate_limit_exceeded', 'mock rate limit reached'],
  500: ['server_error', null, 'mock server_error'],
  503: ['server_error', null, 'mock service unavailable'],
};

const errorCache = new Map<number, string>();

export function openaiErrorBody(status: number, message?: string): string {
  const cached = message === undefined ? errorCache.get(status) : undefined;
  if (cached !== undefined) return cached;
  const [type, code, dflt] =
    ERRORS[status] ?? (status >= 500 ? ['server_error', null, 'mock server_error'] : ['invalid_request_error', null, 'mock error']);
  const body = JSON.stringify({ error: { message: message ?? dflt, type, param: null, code } });
  if (message === undefined) errorCache.set(status, body);
  return body;
}

function inspect(body: Json): Inspection {
  const tools: ToolDef[] = [];
  for (const t of arr(body.tools)) {
    if (isObj(t) && isObj(t.function) && typeof t.function.name === 'string') {
      tools.push({ name: t.function.name, schema: t.function.parameters });
    }
  }
  // Legacy `functions` (pre-tools API) still appear in old clients.
  for (const f of arr(body.functions)) {
    if (isObj(f) && typeof f.name === 'string') tools.push({ name: f.name, schema: f.parameters });
  }
  const messages = arr(body.messages);
  const last = messages[lastTurnIndex(messages)];
  const toolResult = isObj(last) && (last.role === 'tool' || last.role === 'function') ? contentText(last.content) : undefined;
  const so = body.stream_options;
  return {
    model: str(body.model) ?? '',
    stream: body.stream === true,
    tools,
    toolResult,
    includeUsage: isObj(so) && so.include_usage === true,
  };
}

function usage(p: Plan): Json {
  return {
    prompt_tokens: p.inputTokens,
    completion_tokens: p.outputTokens,
    total_tokens: p.inputTokens + p.outputTokens,
    prompt_tokens_details: { cached_tokens: p.cacheRead, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

const chatId = (p: Plan) => `chatcmpl-mock${p.seq}`;
const callId = (p: Plan) => `call_mock${p.seq}`;

function json(p: Plan): unknown {
  const message = p.tool
    ? {
        role: 'assistant',
        content: null,
        refusal: null,
        tool_calls: [{ id: callId(p), type: 'function', function: { name: p.tool.name, arguments: p.text } }],
      }
    : { role: 'assistant', content: p.text, refusal: null, annotations: [] };
  return {
    id: chatId(p),
    object: 'chat.completion',
    created: p.created,
    model: p.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: p.tool ? 'tool_calls' : 'stop' }],
    usage: usage(p),
    system_fingerprint: null,
  };
}

const DONE = 'data: [DONE]\n\n';

function frames(p: Plan): string[] {
  const id = chatId(p);
  const chunk = (delta: Json, finish: string | null): string =>
    dataFrame({
      id,
      object: 'chat.completion.chunk',
      created: p.created,
      model: p.model,
      system_fingerprint: null,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
  const out: string[] = [];
  if (p.tool) {
    out.push(
      chunk(
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ index: 0, id: callId(p), type: 'function', function: { name: p.tool.name, arguments: '' } }],
        },
        null,
      ),
    );
    for (const piece of p.pieces) out.push(chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null));
  } else {
    out.push(chunk({ role: 'assistant', content: '', refusal: null }, null));
    for (const piece of p.pieces) out.push(chunk({ content: piece }, null));
  }
  out.push(chunk({}, p.tool ? 'tool_calls' : 'stop'));
  if (p.includeUsage) {
    out.push(
      dataFrame({
        id,
        object: 'chat.completion.chunk',
        created: p.created,
        model: p.model,
        system_fingerprint: null,
        choices: [],
        usage: usage(p),
      }),
    );
  }
  out.push(DONE);
  return out;
}

export const openaiChat: FormatAdapter = {
  name: 'openai-chat',
  errorBody: openaiErrorBody,
  inspect,
  json,
  frames,
  headers: (seq) => ({ 'x-request-id': `req_mock${seq}` }),
};
