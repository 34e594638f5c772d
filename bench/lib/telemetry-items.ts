/**
 * Request records and captures as RequestTrace.submit builds them for the `telemetry`
 * scenario's traffic (a 1 KB OpenAI chat body, a 1 KB answer, the headers wrk and the mock
 * send), with ids and times that grow as they do under load: the micro-benchmarks'
 * input (bench/micro/telemetry-write.ts, pg-write.ts).
 */
import { chatBody } from './bodies.js';
import { newRequestId } from '../../src/telemetry/trace.js';
import { redactHeaders } from '../../src/telemetry/capture.js';
import type { Capture, RequestRecord } from '../../src/telemetry/record.js';

const REQUEST_BODY = chatBody(1024);
const ANSWER = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-bench',
  choices: [{ index: 0, message: { role: 'assistant', content: 'the gateway forwards each request '.repeat(26) }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 250, completion_tokens: 230, total_tokens: 480 },
});

/** item builds one record and capture as RequestTrace.submit does. */
export function item(): { record: RequestRecord; capture: Capture } {
  const id = newRequestId();
  const startedAt = Date.now();
  const record: RequestRecord = {
    id, startedAt, durationMs: 1.234, ttfbMs: 0.9, login: 'local-owner', nodeId: '', tags: [], userAgent: '', client: 'api',
    format: 'openai_chat', providerFormat: 'openai_chat', path: '/v1/chat/completions', requestedModel: 'gpt-bench', provider: 'mock', upstreamModel: 'gpt-bench',
    status: 200, errorCode: null, errorClass: null, stream: false,
    usage: { inputTokens: 250, outputTokens: 230, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0, webSearchCount: 0 },
    toolCalls: [], stopReason: 'stop', sessionId: `fp_${(startedAt % 997).toString(16)}`, credentialSource: 'provider', credentialFingerprint: null,
    pricing: { basis: 'openai', model: 'gpt-bench', adjustment: 1 }, quotas: [],
  };
  const capture: Capture = {
    requestId: id,
    requestHeaders: redactHeaders({ host: '127.0.0.1:40000', 'content-type': 'application/json', 'content-length': String(REQUEST_BODY.length), authorization: 'Bearer sk-test-bench' }),
    requestBody: REQUEST_BODY,
    requestTruncated: false,
    responseHeaders: redactHeaders({ 'content-type': 'application/json', 'content-length': String(ANSWER.length), date: new Date(startedAt).toUTCString(), 'x-request-id': id, 'keep-alive': 'timeout=5' }),
    responseBody: ANSWER,
    responseTruncated: false,
    upstreamRequestBody: null,
    upstreamResponseBody: null,
  };
  return { record, capture };
}

