// Amazon Bedrock runtime: InvokeModel (Claude's Anthropic body; streams as AWS event-stream
// `chunk` events wrapping base64 Anthropic events, the last with invocation metrics) and
// Converse (its own body for every model; streams as messageStart … metadata events). Real
// event-stream frames (length prefixes, CRC32s) via @smithy/eventstream-codec, the codec the
// AWS SDKs decode with. Errors are `{"message": …}` with the type in `x-amzn-ErrorType`.

import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { anthropic } from './anthropic.js';
import { arr, contentText, isObj, lastTurnIndex, type Json } from './common.js';
import type { FormatAdapter, Inspection, Plan, ToolDef } from './types.js';

export const EVENTSTREAM_TYPE = 'application/vnd.amazon.eventstream';

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** Bedrock pads every event with a `p` field of random length against size side channels. */
const PAD = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0';

function eventFrame(type: string, payload: Json, seq: number): Uint8Array {
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: type },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body: fromUtf8(JSON.stringify({ ...payload, p: PAD.slice(0, 1 + (seq % PAD.length)) })),
  });
}

const ERROR_TYPES: Record<number, string> = {
  400: 'ValidationException',
  401: 'UnrecognizedClientException',
  403: 'AccessDeniedException',
  404: 'ResourceNotFoundException',
  408: 'ModelTimeoutException',
  424: 'ModelErrorException',
  429: 'ThrottlingException',
  500: 'InternalServerException',
  503: 'ServiceUnavailableException',
};

function errorType(status: number): string {
  return ERROR_TYPES[status] ?? (status >= 500 ? 'InternalServerException' : 'ValidationException');
}

function errorBody(status: number, message?: string): string {
  const msg = message ?? (status === 401 ? 'The security token included in the request is invalid.' : `mock ${errorType(status)}`);
  return JSON.stringify({ message: msg });
}

function errorHeaders(status: number): Record<string, string> {
  return { 'x-amzn-errortype': `${errorType(status)}:http://internal.amazon.com/coral/com.amazon.bedrock/` };
}

const requestHeaders = (seq: number) => ({ 'x-amzn-requestid': `mock-bedrock-${seq}` });

// ---------------------------------------------------------------------------- InvokeModel

/** Claude's InvokeModel body is Anthropic's, minus `model` and `stream` (they are in the URL). */
function inspectInvoke(body: Json, urlModel: string): Inspection {
  return { ...anthropic.inspect(body, urlModel), model: urlModel, stream: false };
}

function invokeJson(p: Plan): unknown {
  return anthropic.json(p);
}

function invokeMetrics(p: Plan): Json {
  return {
    inputTokenCount: p.inputTokens,
    outputTokenCount: p.outputTokens,
    invocationLatency: 1,
    firstByteLatency: 1,
    ...(p.cacheRead > 0 ? { cacheReadInputTokenCount: p.cacheRead } : {}),
    ...(p.cacheWrite > 0 ? { cacheWriteInputTokenCount: p.cacheWrite } : {}),
  };
}

/** Anthropic's stream, event by event, each wrapped as Bedrock does: `{"bytes": base64(event)}`. */
function invokeFrames(p: Plan): Uint8Array[] {
  return anthropic.frames(p).map((frame) => {
    const text = typeof frame === 'string' ? frame : toUtf8(frame);
    const data = text.slice(text.indexOf('\ndata: ') + 7).trimEnd();
    let event = JSON.parse(data) as Json;
    if (event.type === 'message_stop') event = { ...event, 'amazon-bedrock-invocationMetrics': invokeMetrics(p) };
    return eventFrame('chunk', { bytes: Buffer.from(JSON.stringify(event)).toString('base64') }, p.seq);
  });
}

export const bedrockInvoke: FormatAdapter = {
  name: 'bedrock-invoke',
  errorBody,
  errorHeaders,
  inspect: inspectInvoke,
  json: invokeJson,
  frames: invokeFrames,
  headers: requestHeaders,
  streamContentType: EVENTSTREAM_TYPE,
  streamHeaders: () => ({ 'x-amzn-bedrock-content-type': 'application/json' }),
  planHeaders: (p) => ({
    'x-amzn-bedrock-input-token-count': String(p.inputTokens),
    'x-amzn-bedrock-output-token-count': String(p.outputTokens),
    'x-amzn-bedrock-invocation-latency': '1',
  }),
};

// ------------------------------------------------------------------------------- Converse

function inspectConverse(body: Json, urlModel: string): Inspection {
  const tools: ToolDef[] = [];
  const config = body.toolConfig;
  for (const t of arr(isObj(config) ? config.tools : undefined)) {
    const spec = isObj(t) ? t.toolSpec : undefined;
    if (isObj(spec) && typeof spec.name === 'string') {
      const schema = isObj(spec.inputSchema) ? spec.inputSchema.json : undefined;
      tools.push({ name: spec.name, schema });
    }
  }
  const messages = arr(body.messages);
  let toolResult: string | undefined;
  const last = messages[lastTurnIndex(messages)];
  if (isObj(last) && last.role === 'user') {
    const block = arr(last.content).find((b) => isObj(b) && isObj(b.toolResult));
    if (isObj(block) && isObj(block.toolResult)) toolResult = contentText(block.toolResult.content);
  }
  return { model: urlModel, stream: false, tools, toolResult, includeUsage: false };
}

const toolUseId = (p: Plan) => `tooluse_mock${p.seq}`;

function converseUsage(p: Plan): Json {
  const u: Json = {
    inputTokens: p.inputTokens,
    outputTokens: p.outputTokens,
    totalTokens: p.inputTokens + p.outputTokens + p.cacheRead + p.cacheWrite,
  };
  if (p.cacheRead > 0) u.cacheReadInputTokens = p.cacheRead;
  if (p.cacheWrite > 0) u.cacheWriteInputTokens = p.cacheWrite;
  return u;
}

function converseJson(p: Plan): unknown {
  const content = p.tool ? [{ toolUse: { toolUseId: toolUseId(p), name: p.tool.name, input: p.tool.input } }] : [{ text: p.text }];
  return {
    output: { message: { role: 'assistant', content } },
    stopReason: p.tool ? 'tool_use' : 'end_turn',
    usage: converseUsage(p),
    metrics: { latencyMs: 1 },
  };
}

function converseFrames(p: Plan): Uint8Array[] {
  const out = [eventFrame('messageStart', { role: 'assistant' }, p.seq)];
  if (p.tool) {
    out.push(eventFrame('contentBlockStart', { contentBlockIndex: 0, start: { toolUse: { toolUseId: toolUseId(p), name: p.tool.name } } }, p.seq));
  }
  for (const piece of p.pieces) {
    const delta = p.tool ? { toolUse: { input: piece } } : { text: piece };
    out.push(eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta }, p.seq));
  }
  out.push(eventFrame('contentBlockStop', { contentBlockIndex: 0 }, p.seq));
  out.push(eventFrame('messageStop', { stopReason: p.tool ? 'tool_use' : 'end_turn' }, p.seq));
  out.push(eventFrame('metadata', { usage: converseUsage(p), metrics: { latencyMs: 1 } }, p.seq));
  return out;
}

export const bedrockConverse: FormatAdapter = {
  name: 'bedrock-converse',
  errorBody,
  errorHeaders,
  inspect: inspectConverse,
  json: converseJson,
  frames: converseFrames,
  headers: requestHeaders,
  streamContentType: EVENTSTREAM_TYPE,
};

/** The Bedrock error a SigV4 check ends in, with the status AWS answers it with. */
export function sigV4Failure(result: { status: 'unknown-key' } | { status: 'invalid'; reason: string }): { status: number; type: string; message: string } {
  if (result.status === 'unknown-key') {
    return { status: 403, type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  }
  return { status: 403, type: 'InvalidSignatureException', message: result.reason };
}
