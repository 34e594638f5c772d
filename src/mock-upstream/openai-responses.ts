// OpenAI Responses API (what Codex speaks): JSON replies and the full SSE event sequence with
// `event:` lines and sequence_number. Codex needs response.output_item.done and
// response.completed; the openai SDK's accumulator needs response.created first and every
// delta's output_index/content_index to point at an item it has already seen.

import { arr, contentText, isObj, lastTurnIndex, str, type Json } from './common.js';
import { openaiErrorBody } from './openai-chat.js';
import { sseFrame } from './sse.js';
import type { FormatAdapter, Inspection, Plan, ToolDef } from './types.js';

function inspect(body: Json): Inspection {
  const tools: ToolDef[] = [];
  for (const t of arr(body.tools)) {
    // Only plain function tools: custom (freeform) and hosted tools cannot take a function_call.
    if (isObj(t) && (t.type === 'function' || t.type === undefined) && typeof t.name === 'string') {
      tools.push({ name: t.name, schema: t.parameters });
    }
  }
  let toolResult: string | undefined;
  if (Array.isArray(body.input)) {
    const last = body.input[lastTurnIndex(body.input)];
    if (isObj(last) && (last.type === 'function_call_output' || last.type === 'custom_tool_call_output')) {
      toolResult = contentText(last.output);
    }
  }
  return { model: str(body.model) ?? '', stream: body.stream === true, tools, toolResult, includeUsage: false };
}

function usage(p: Plan): Json {
  return {
    input_tokens: p.inputTokens,
    input_tokens_details: { cached_tokens: p.cacheRead },
    output_tokens: p.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: p.inputTokens + p.outputTokens,
  };
}

function response(p: Plan, status: 'in_progress' | 'completed', output: unknown[], u: Json | null): Json {
  return {
    id: `resp_mock${p.seq}`,
    object: 'response',
    created_at: p.created,
    status,
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    model: p.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage: u,
    metadata: {},
  };
}

const itemId = (p: Plan) => (p.tool ? `fc_mock${p.seq}` : `msg_mock${p.seq}`);

function textPart(text: string): Json {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

function item(p: Plan, done: boolean): Json {
  if (p.tool) {
    return {
      id: itemId(p),
      type: 'function_call',
      status: done ? 'completed' : 'in_progress',
      arguments: done ? p.text : '',
      call_id: `call_mock${p.seq}`,
      name: p.tool.name,
    };
  }
  return {
    id: itemId(p),
    type: 'message',
    status: done ? 'completed' : 'in_progress',
    role: 'assistant',
    content: done ? [textPart(p.text)] : [],
  };
}

function json(p: Plan): unknown {
  return response(p, 'completed', [item(p, true)], usage(p));
}

function frames(p: Plan): string[] {
  const out: string[] = [];
  let seq = 0;
  const ev = (type: string, fields: Json): void => {
    out.push(sseFrame(type, { type, sequence_number: seq++, ...fields }));
  };
  const id = itemId(p);
  const at = { item_id: id, output_index: 0 };
  ev('response.created', { response: response(p, 'in_progress', [], null) });
  ev('response.in_progress', { response: response(p, 'in_progress', [], null) });
  ev('response.output_item.added', { output_index: 0, item: item(p, false) });
  if (p.tool) {
    for (const delta of p.pieces) ev('response.function_call_arguments.delta', { ...at, delta });
    ev('response.function_call_arguments.done', { ...at, name: p.tool.name, arguments: p.text });
  } else {
    const part = { ...at, content_index: 0 };
    ev('response.content_part.added', { ...part, part: textPart('') });
    for (const delta of p.pieces) ev('response.output_text.delta', { ...part, delta, logprobs: [] });
    ev('response.output_text.done', { ...part, text: p.text, logprobs: [] });
    ev('response.content_part.done', { ...part, part: textPart(p.text) });
  }
  const finalItem = item(p, true);
  ev('response.output_item.done', { output_index: 0, item: finalItem });
  ev('response.completed', { response: response(p, 'completed', [finalItem], usage(p)) });
  return out;
}

export const openaiResponses: FormatAdapter = {
  name: 'openai-responses',
  errorBody: openaiErrorBody,
  inspect,
  json,
  frames,
  headers: (seq) => ({ 'x-request-id': `req_mock${seq}` }),
};

/** Body of the 426 that makes Codex drop its WebSocket attempt and fall back to HTTP SSE at once. */
export const WS_UPGRADE_REQUIRED = JSON.stringify({
  error: {
    message: 'mock upstream: WebSocket transport not supported, use HTTP',
    type: 'invalid_request_error',
    param: null,
    code: 'websocket_not_supported',
  },
});
