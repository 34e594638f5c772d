/**
 * Records cross to the telemetry worker as bytes and a string table (src/telemetry/db/wire.ts):
 * a round trip must give back every field, so a field added to RequestRecord and forgotten
 * in the wire format fails here rather than being silently lost.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captureFields, decodeCapture, encodeCapture, requestHeadersText } from '../src/telemetry/capture-bytes.js';
import { fromWire, packBatch, unpackBatch, type WireBatch } from '../src/telemetry/db/wire.js';
import type { Capture, RequestRecord } from '../src/telemetry/record.js';

/** What the store's postMessage does to a batch: clone the records, move the captures' buffer. */
const send = (items: Array<{ record: RequestRecord; capture: Capture | null }>): WireBatch => {
  const { batch, transfer } = packBatch(items);
  return structuredClone(batch, { transfer });
};

const full: RequestRecord = {
  id: 'req_0123456789abcdef0123',
  startedAt: 1_795_737_802_158,
  durationMs: 12.5,
  ttfbMs: 3.25,
  login: 'alice@example.com',
  nodeId: 'nTEST',
  tags: ['tag:ci', 'tag:dev'],
  userAgent: 'claude-cli/2.0',
  client: 'api',
  format: 'anthropic_messages',
  // A translated call: Claude Code's request, served by an OpenAI chat provider.
  providerFormat: 'openai_chat',
  path: '/v1/messages?beta=true',
  requestedModel: 'claude-test',
  provider: 'anthropic',
  upstreamModel: 'claude-test-1',
  status: 200,
  errorCode: null,
  errorClass: null,
  stream: true,
  usage: { inputTokens: 10, outputTokens: 20, cacheReadTokens: 3, cacheWrite5mTokens: 4, cacheWrite1hTokens: 5, reasoningTokens: 6, webSearchCount: 7 },
  toolCalls: [{ name: 'read_file', arguments: '{"path":"a"}' }, { name: 'no_args' }],
  stopReason: 'tool_use',
  sessionId: 'sess-test',
  credentialSource: 'client',
  credentialFingerprint: 'kf_0123456789abcdef',
  pricing: { basis: 'anthropic', model: 'claude-test-1', adjustment: 0.9 },
  quotas: [
    { bucket: 'daily:alice@example.com', quota: 'daily:<user>', nanos: 1_234_567, outcome: 'charged' },
    { bucket: 'team', quota: 'team', nanos: 0, outcome: 'unpriced' },
  ],
  hooks: [
    { hook: 'guard', event: 'pre_request', verdict: 'failed_open', ms: 5001.5, detail: 'timeout: no answer within 5000 ms' },
    { hook: 'pii', event: 'pre_request', verdict: 'modify', ms: 1.25 },
    { hook: 'audit', event: 'entire_request', verdict: 'queued', ms: null },
  ],
};

const capture: Capture = {
  requestId: full.id,
  requestHeaders: { 'content-type': 'application/json', 'x-api-key': '[redacted]' },
  requestBody: '{"model":"claude-test"}',
  requestTruncated: false,
  responseHeaders: { 'content-type': 'text/event-stream' },
  responseBody: '{"id":"msg_1"}',
  responseTruncated: true,
  upstreamRequestBody: '{"model":"gpt-test","messages":[]}',
  upstreamResponseBody: '{"id":"chatcmpl-1"}',
};

test('a record and its capture survive the trip to the worker', () => {
  // Every field must be set in the fixture, or the round trip could not notice a lost one.
  for (const [k, v] of Object.entries(full)) assert.notEqual(v, undefined, k);
  assert.deepEqual(fromWire(send([{ record: full, capture }])), [{ record: full, capture }]);
});

test('a capture as bytes: every field back, multi-byte text, empty and absent parts apart, one buffer transferred', () => {
  const unicode: Capture = {
    requestId: 'req_u',
    requestHeaders: { 'x-note': 'naïve ☃ 😀', 'content-type': 'application/json' },
    requestBody: '{"content":"Grüße, 世界 😀"}',
    requestTruncated: true,
    responseHeaders: {},
    responseBody: '',
    responseTruncated: false,
    upstreamRequestBody: '',
    upstreamResponseBody: null,
  };
  const a = encodeCapture(capture);
  const b = encodeCapture(unicode);
  assert.deepEqual(decodeCapture(a, capture.requestId), capture);
  assert.deepEqual(decodeCapture(b, 'req_u'), unicode, 'an empty upstream body stays empty, an absent one null');
  // As the store sends a batch: the records, and both captures in one buffer, transferred.
  const noCapture: RequestRecord = { ...full, id: 'req_none' };
  const { batch, transfer } = packBatch([{ record: full, capture: a }, { record: noCapture, capture: null }, { record: { ...full, id: 'req_u' }, capture: unicode }]);
  assert.deepEqual(transfer, [batch.records, batch.captures], 'the record bytes and one capture buffer');
  const sent = structuredClone(batch, { transfer });
  assert.equal(transfer[1]!.byteLength, 0, 'the capture buffer moved instead of being copied');
  const unpacked = unpackBatch(sent);
  assert.equal(unpacked[1]!.capture, null);
  assert.deepEqual(decodeCapture(unpacked[2]!.capture!, 'req_u'), unicode);
  assert.deepEqual(decodeCapture(unpacked[0]!.capture!, capture.requestId), capture);
  const whole = new Uint8Array(sent.captures!);
  assert.deepEqual(decodeCapture(whole, 'req_u', a.byteLength), unicode, 'read at its offset in the whole block');
  assert.equal(captureFields(whole, 0).length, a.byteLength);
  assert.equal(requestHeadersText(whole, a.byteLength), JSON.stringify(unicode.requestHeaders));
});

test("a batch's strings cross once each; records without hooks carry none", () => {
  const { hooks: _hooks, ...without } = full;
  const records = [full, { ...without, id: 'req_2' }, { ...without, id: 'req_3', userAgent: 'codex/1.0' }];
  const { batch, transfer } = packBatch(records.map((record) => ({ record, capture: null })));
  assert.equal(batch.count, 3);
  assert.equal(batch.strings.filter((s) => s === 'alice@example.com').length, 1, 'the login once for three records');
  assert.deepEqual(batch.strings.filter((s) => s.startsWith('req_')), ['req_0123456789abcdef0123', 'req_2', 'req_3']);
  assert.ok(batch.strings.includes('codex/1.0'));
  assert.deepEqual(transfer, [batch.records], 'the record bytes move; there are no captures');
  const back = fromWire(structuredClone(batch, { transfer }));
  assert.deepEqual(back.map((b) => b.record), records);
  assert.equal('hooks' in back[1]!.record, false);
  // The writer keeps its buffer: the next batch starts empty, with a table of its own.
  const next = packBatch([{ record: { ...without, id: 'req_4' }, capture: null }]).batch;
  assert.equal(next.count, 1);
  assert.equal(next.strings.includes('req_3'), false);
  assert.deepEqual(fromWire(next)[0]!.record, { ...without, id: 'req_4' });
});

test("a batch larger than the writer's first buffer, and text outside ASCII, come back whole", () => {
  const { hooks: _hooks, ...without } = full;
  const many = Array.from({ length: 2000 }, (_, i) => ({ record: { ...without, id: `req_${i}`, userAgent: `agent ${i} ☃ 😀`, tags: ['tag:ci', `tag:n${i % 7}`] }, capture: null }));
  const back = fromWire(send(many));
  assert.equal(back.length, 2000);
  assert.deepEqual(back[1999]!.record, many[1999]!.record);
  assert.deepEqual(back.map((b) => b.record.id), many.map((m) => m.record.id));
});

test('empty parts: no usage, no pricing, no capture, no tool calls, no hooks', () => {
  const { hooks: _hooks, ...noHooks } = full;
  const bare: RequestRecord = { ...noHooks, ttfbMs: null, provider: null, upstreamModel: null, usage: null, toolCalls: [], pricing: null, quotas: [], credentialFingerprint: null, errorCode: 'UNKNOWN_MODEL', errorClass: 'gateway', status: 404, providerFormat: null };
  assert.deepEqual(fromWire(send([{ record: bare, capture: null }])), [{ record: bare, capture: null }]);
  assert.equal(packBatch([{ record: bare, capture: null }]).batch.captures, undefined, 'no capture buffer');
});
