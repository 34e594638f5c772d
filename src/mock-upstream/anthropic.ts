// Anthropic Messages API: JSON replies, the SSE event sequence Claude Code and the SDK need
// (`event:` lines are mandatory; a missing content_block_stop makes Claude Code print nothing),
// count_tokens, and the `{"type":"error",...}` envelope.

import { arr, contentText, isObj, lastTurnIndex, str, type Json } from './common.js';
import { sseFrame } from './sse.js';
import type { FormatAdapter, Inspection, Plan, ToolDef } from './types.js';

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

const errorCache = new Map<number, string>();

function errorBody(status: number, message?: string): string {
  const cached = message === undefined ? errorCache.get(status) : undefined;
  if (cached !== undefined) return cached;
  const type = ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
  const msg = message ?? (status === 401 ? 'invalid x-api-key' : `mock ${type}`);
  const body = JSON.stringify({ type: 'error', error: { type, message: msg } });
  if (message === undefined) errorCache.set(status, body);
  return body;
}

function inspect(body: Json): Inspection {
  const tools: ToolDef[] = [];
  for (const t of arr(body.tools)) {
    // Server tools (web_search_…) have a name but no input_schema; the mock cannot "call" them.
    if (isObj(t) && typeof t.name === 'string' && t.input_schema !== undefined) {
      tools.push({ name: t.name, schema: t.input_schema });
    }
  }
  const messages = arr(body.messages);
  let toolResult: string | undefined;
  const last = messages[lastTurnIndex(messages)];
  if (isObj(last) && last.role === 'user' && Array.isArray(last.content)) {
    const block = last.content.find((b) => isObj(b) && b.type === 'tool_result');
    if (isObj(block)) toolResult = contentText(block.content);
  }
  return {
    model: str(body.model) ?? '',
    stream: body.stream === true,
    tools,
    toolResult,
    includeUsage: false,
  };
}

function usage(p: Plan, outputTokens: number): Json {
  return {
    input_tokens: p.inputTokens,
    cache_creation_input_tokens: p.cacheWrite,
    cache_read_input_tokens: p.cacheRead,
    output_tokens: outputTokens,
  };
}

const msgId = (p: Plan) => `msg_mock${p.seq}`;
const toolId = (p: Plan) => `toolu_mock${p.seq}`;

function json(p: Plan): unknown {
  const content = p.tool
    ? [{ type: 'tool_use', id: toolId(p), name: p.tool.name, input: p.tool.input }]
    : [{ type: 'text', text: p.text }];
  return {
    id: msgId(p),
    type: 'message',
    role: 'assistant',
    model: p.model,
    content,
    stop_reason: p.tool ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: usage(p, p.outputTokens),
  };
}

// Constant frames are encoded once.
const PING = sseFrame('ping', { type: 'ping' });
const BLOCK_STOP = sseFrame('content_block_stop', { type: 'content_block_stop', index: 0 });
const MESSAGE_STOP = sseFrame('message_stop', { type: 'message_stop' });
const TEXT_START = sseFrame('content_block_start', {
  type: 'content_block_start',
  index: 0,
  content_block: { type: 'text', text: '' },
});

function frames(p: Plan): string[] {
  const out: string[] = [];
  out.push(
    sseFrame('message_start', {
      type: 'message_start',
      message: {
        id: msgId(p),
        type: 'message',
        role: 'assistant',
        model: p.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: usage(p, 1),
      },
    }),
  );
  if (p.tool) {
    out.push(
      sseFrame('content_block_start', {
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'tool_use', id: toolId(p), name: p.tool.name, input: {} },
      }),
    );
  } else {
    out.push(TEXT_START);
  }
  out.push(PING);
  for (const piece of p.pieces) {
    const delta = p.tool ? { type: 'input_json_delta', partial_json: piece } : { type: 'text_delta', text: piece };
    out.push(sseFrame('content_block_delta', { type: 'content_block_delta', index: 0, delta }));
  }
  out.push(BLOCK_STOP);
  out.push(
    sseFrame('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: p.tool ? 'tool_use' : 'end_turn', stop_sequence: null },
      usage: usage(p, p.outputTokens),
    }),
  );
  out.push(MESSAGE_STOP);
  return out;
}

export const anthropic: FormatAdapter = {
  name: 'anthropic',
  errorBody,
  inspect,
  json,
  frames,
  headers: (seq) => ({ 'request-id': `req_mock${seq}` }),
};

/** POST …/v1/messages/count_tokens. */
export function anthropicCountTokens(inputTokens: number): string {
  return `{"input_tokens":${inputTokens}}`;
}
