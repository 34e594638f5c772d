/**
 * Records and captures for the capture-block tests of both stores (test/capture-blocks.test.ts
 * for SQLite, pgtest/capture-blocks-pg.test.ts for PostgreSQL): a plain chat request by
 * one login, a capture whose request headers carry `x-team` for the header filter.
 */
import type { Capture, RequestRecord } from '../src/telemetry/record.js';

export function record(id: string, startedAt: number): RequestRecord {
  return {
    id, startedAt, durationMs: 5, ttfbMs: 1, login: 'alice@example.com', nodeId: '', tags: [], userAgent: 'test', client: 'api', format: 'openai_chat', providerFormat: 'openai_chat',
    path: '/v1/chat/completions', requestedModel: 'gpt-test', provider: 'openai', upstreamModel: 'gpt-test', status: 200, errorCode: null, errorClass: null, stream: false,
    usage: null, toolCalls: [], stopReason: 'stop', sessionId: 's', credentialSource: 'provider', credentialFingerprint: null, pricing: null, quotas: [],
  };
}

export function capture(id: string, body: string, team = 'platform'): Capture {
  return {
    requestId: id, requestHeaders: { 'content-type': 'application/json', 'x-team': team }, requestBody: body, requestTruncated: false,
    responseHeaders: { 'content-type': 'application/json' }, responseBody: `{"answer":"${body.length}"}`, responseTruncated: body.length > 20,
    upstreamRequestBody: null, upstreamResponseBody: null,
  };
}

export const item = (r: RequestRecord, c: Capture | null) => ({ record: r, cost: null, capture: c });
