/**
 * Bedrock's pieces on their own: the event-stream parser at every read boundary, the
 * InvokeModel and Converse readers, model-ID paths, `aws::` keys and their validation,
 * error envelopes and the stream's exception frame.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { bedrockRegion, parseAwsKey } from '../src/config/aws-key.js';
import { validateConfigText } from '../src/config/validate.js';
import { isBedrockModelId } from '../src/formats/bedrock-common.js';
import { bedrockConverse } from '../src/formats/bedrock-converse.js';
import { bedrockInvoke } from '../src/formats/bedrock-invoke.js';
import { formatForPath, matchRoute } from '../src/formats/registry.js';
import { EventStreamParser } from '../src/telemetry/eventstream-parser.js';
import { pricingFor } from '../src/telemetry/pricing.js';

const codec = new EventStreamCodec(toUtf8, fromUtf8);

function frame(event: string, payload: unknown, messageType = 'event'): Buffer {
  const headers: Record<string, { type: 'string'; value: string }> = { ':message-type': { type: 'string', value: messageType } };
  if (messageType === 'event') headers[':event-type'] = { type: 'string', value: event };
  else headers[':exception-type'] = { type: 'string', value: event };
  headers[':content-type'] = { type: 'string', value: 'application/json' };
  return Buffer.from(codec.encode({ headers, body: fromUtf8(JSON.stringify(payload)) }));
}

function chunk(event: unknown): Buffer {
  return frame('chunk', { bytes: Buffer.from(JSON.stringify(event)).toString('base64'), p: 'abc' });
}

function parseAll(bytes: Buffer, cuts: number[]): Array<[string | undefined, string]> {
  const out: Array<[string | undefined, string]> = [];
  const parser = new EventStreamParser((e, d) => out.push([e, d]));
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    parser.push(bytes.subarray(at, c));
    at = c;
  }
  parser.end();
  return out;
}

const CONVERSE_TOOL_STREAM = Buffer.concat([
  frame('messageStart', { role: 'assistant', p: 'a' }),
  frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Let me check. ' } }),
  frame('contentBlockStop', { contentBlockIndex: 0 }),
  frame('contentBlockStart', { contentBlockIndex: 1, start: { toolUse: { toolUseId: 'tooluse_1', name: 'get_weather' } } }),
  frame('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '{"loca' } } }),
  frame('contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: 'tion":"Paris"}' } } }),
  frame('contentBlockStop', { contentBlockIndex: 1 }),
  frame('messageStop', { stopReason: 'tool_use' }),
  frame('metadata', { usage: { inputTokens: 20, outputTokens: 9, totalTokens: 129, cacheReadInputTokens: 100 }, metrics: { latencyMs: 5 } }),
]);

describe('event-stream parser', () => {
  test('the same events whatever the read boundaries: every single cut, and byte by byte', () => {
    const whole = parseAll(CONVERSE_TOOL_STREAM, []);
    assert.equal(whole.length, 9);
    assert.deepEqual(whole[0], ['messageStart', '{"role":"assistant","p":"a"}']);
    for (let cut = 1; cut < CONVERSE_TOOL_STREAM.length; cut++) {
      assert.deepEqual(parseAll(CONVERSE_TOOL_STREAM, [cut]), whole, `cut at ${cut}`);
    }
    const bytes = Array.from({ length: CONVERSE_TOOL_STREAM.length - 1 }, (_, i) => i + 1);
    assert.deepEqual(parseAll(CONVERSE_TOOL_STREAM, bytes), whole);
  });

  test('exceptions and error messages are events too; a corrupted checksum stops reading', () => {
    const exception = frame('throttlingException', { message: 'slow down' }, 'exception');
    const error = Buffer.from(codec.encode({
      headers: { ':message-type': { type: 'string', value: 'error' }, ':error-code': { type: 'string', value: 'InternalFailure' }, ':error-message': { type: 'string', value: 'boom' } },
      body: new Uint8Array(0),
    }));
    assert.deepEqual(parseAll(Buffer.concat([exception, error]), [3]), [
      ['throttlingException', '{"message":"slow down"}'],
      ['error', '{"code":"InternalFailure","message":"boom"}'],
    ]);
    const corrupt = Buffer.from(CONVERSE_TOOL_STREAM);
    const second = corrupt.readUInt32BE(0);
    corrupt[second + 20] ^= 0xff; // inside the second message
    assert.equal(parseAll(corrupt, []).length, 1, 'the first message only');
    assert.deepEqual(parseAll(Buffer.from([0, 0, 0, 3, 1, 2, 3, 4]), []), [], 'an impossible length is not framed');
  });

  test('a message cut by the end of the stream is dropped', () => {
    assert.equal(parseAll(CONVERSE_TOOL_STREAM.subarray(0, CONVERSE_TOOL_STREAM.length - 5), []).length, 8);
  });
});

function readStream(format: typeof bedrockInvoke, bytes: Buffer, headers: Record<string, string> = {}) {
  const reader = format.createResponseReader();
  reader.responseHeaders?.(headers);
  const parser = new EventStreamParser((e, d) => reader.sseEvent(e, d));
  parser.push(bytes);
  parser.end();
  return reader.finish();
}

describe('Bedrock readers', () => {
  test('converse-stream: text, streamed tool arguments, stop reason, usage with cache reads counted as input', () => {
    const s = readStream(bedrockConverse, CONVERSE_TOOL_STREAM);
    assert.deepEqual(s.toolCalls, [{ name: 'get_weather', arguments: '{"location":"Paris"}' }]);
    assert.equal(s.stopReason, 'tool_use');
    assert.equal(s.usage?.inputTokens, 120);
    assert.equal(s.usage?.cacheReadTokens, 100);
    assert.equal(s.usage?.outputTokens, 9);
    assert.deepEqual(s.reassembled, {
      output: { message: { role: 'assistant', content: [{ text: 'Let me check. ' }, { toolUse: { toolUseId: 'tooluse_1', name: 'get_weather', input: { location: 'Paris' } } }] } },
      stopReason: 'tool_use',
      usage: { inputTokens: 20, outputTokens: 9, totalTokens: 129, cacheReadInputTokens: 100 },
      metrics: { latencyMs: 5 },
    });
  });

  test('converse JSON: tool calls, usage, cache writes', () => {
    const reader = bedrockConverse.createResponseReader();
    reader.json({
      output: { message: { role: 'assistant', content: [{ toolUse: { toolUseId: 't', name: 'Bash', input: { command: 'ls' } } }] } },
      stopReason: 'tool_use',
      usage: { inputTokens: 3, outputTokens: 4, totalTokens: 57, cacheWriteInputTokens: 50 },
    });
    const s = reader.finish();
    assert.deepEqual(s.toolCalls, [{ name: 'Bash', arguments: '{"command":"ls"}' }]);
    assert.deepEqual([s.usage?.inputTokens, s.usage?.cacheWrite5mTokens, s.usage?.outputTokens, s.stopReason], [53, 50, 4, 'tool_use']);
  });

  test('invoke-with-response-stream: the Anthropic events inside the chunks, tool use included', () => {
    const bytes = Buffer.concat([
      chunk({ type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content: [], usage: { input_tokens: 11, output_tokens: 1, cache_read_input_tokens: 4 } } }),
      chunk({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: {} } }),
      chunk({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"command":' } }),
      chunk({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '"echo hi"}' } }),
      chunk({ type: 'content_block_stop', index: 0 }),
      chunk({ type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 7 } }),
      chunk({ type: 'message_stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 11, outputTokenCount: 7, invocationLatency: 9, firstByteLatency: 3 } }),
    ]);
    const s = readStream(bedrockInvoke, bytes);
    assert.deepEqual(s.toolCalls, [{ name: 'Bash', arguments: '{"command":"echo hi"}' }]);
    assert.equal(s.stopReason, 'tool_use');
    assert.equal(s.model, 'claude-sonnet-4-5-20250929');
    assert.deepEqual([s.usage?.inputTokens, s.usage?.cacheReadTokens, s.usage?.outputTokens], [15, 4, 7]);
  });

  test('invoke with another model family: usage from the invocation metrics, or from the token-count headers', () => {
    const llama = Buffer.concat([
      chunk({ generation: 'Hello', prompt_token_count: 5, generation_token_count: 1, stop_reason: null }),
      chunk({ generation: '!', generation_token_count: 2, stop_reason: 'stop', 'amazon-bedrock-invocationMetrics': { inputTokenCount: 5, outputTokenCount: 2, invocationLatency: 9, firstByteLatency: 3 } }),
    ]);
    assert.deepEqual([readStream(bedrockInvoke, llama).usage?.inputTokens, readStream(bedrockInvoke, llama).usage?.outputTokens], [5, 2]);
    const reader = bedrockInvoke.createResponseReader();
    reader.responseHeaders?.({ 'x-amzn-bedrock-input-token-count': '12', 'x-amzn-bedrock-output-token-count': '30' });
    reader.json({ generation: 'Hello', stop_reason: 'stop' });
    assert.deepEqual([reader.finish().usage?.inputTokens, reader.finish().usage?.outputTokens], [12, 30]);
  });

  test('conversation adapters: stream text, answers and error messages in both APIs', () => {
    const inv = bedrockInvoke.conversation;
    const text = chunk({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } });
    let seen = '';
    new EventStreamParser((e, d) => (seen += inv.streamText(e, d))).push(text);
    assert.equal(seen, 'Hi');
    assert.equal(bedrockConverse.conversation.streamText('contentBlockDelta', '{"contentBlockIndex":0,"delta":{"text":"Yo"}}'), 'Yo');
    assert.equal(bedrockConverse.conversation.answerText({ output: { message: { content: [{ text: 'A' }, { text: 'B' }] } } }), 'AB');
    assert.equal(inv.errorMessage({ message: 'The security token included in the request is invalid.' }), 'The security token included in the request is invalid.');
    assert.equal(inv.streamError?.('throttlingException', '{"message":"Too many requests"}'), 'Too many requests');
    assert.equal(inv.streamError?.('chunk', '{}'), undefined);
    const req = bedrockConverse.conversation.request('us.anthropic.claude-haiku-4-5-20251001-v1:0', [{ role: 'user', content: 'hi' }], { system: 'be brief', stream: true, maxTokens: 9 });
    assert.equal(req.path, '/bedrock/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/converse-stream');
    assert.deepEqual(req.body, { messages: [{ role: 'user', content: [{ text: 'hi' }] }], system: [{ text: 'be brief' }], inferenceConfig: { maxTokens: 9 } });
    assert.equal(inv.request('m', [], { stream: false, maxTokens: 1 }).path, '/bedrock/model/m/invoke');
  });
});

describe('Bedrock paths and errors', () => {
  const PROFILE = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
  const ARN = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6';

  const cases: Array<{ name: string; path: string; flag?: string; model?: string; upstream?: string; streams?: boolean }> = [
    { name: 'raw colon (Claude Code, Anthropic SDK)', path: `/bedrock/model/${PROFILE}/invoke`, flag: 'bedrock_model_invoke', model: PROFILE, upstream: '/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke', streams: false },
    { name: '%3A (AWS SDK)', path: '/bedrock/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream', flag: 'bedrock_model_invoke', model: PROFILE, upstream: '/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream', streams: true },
    { name: 'converse', path: `/bedrock/model/${PROFILE}/converse`, flag: 'bedrock_converse', model: PROFILE, streams: false },
    { name: 'converse-stream', path: `/bedrock/model/${PROFILE}/converse-stream`, flag: 'bedrock_converse', model: PROFILE, streams: true },
    { name: 'ARN, slash encoded', path: `/bedrock/model/${encodeURIComponent(ARN)}/converse`, flag: 'bedrock_converse', model: ARN, upstream: `/model/${encodeURIComponent(ARN)}/converse` },
    { name: 'ARN, slash raw', path: `/bedrock/model/${ARN}/converse`, flag: 'bedrock_converse', model: ARN, upstream: `/model/${encodeURIComponent(ARN)}/converse` },
    { name: 'a path trying to leave its segment', path: '/bedrock/model/..%2F..%2Fadmin/invoke', flag: 'bedrock_model_invoke', model: '' },
    { name: 'provider/model', path: `/bedrock/model/bedrock/${PROFILE}/invoke`, flag: 'bedrock_model_invoke', model: `bedrock/${PROFILE}` },
    { name: 'provider/ARN', path: `/bedrock/model/bedrock%2F${encodeURIComponent(ARN)}/invoke`, flag: 'bedrock_model_invoke', model: `bedrock/${ARN}` },
    { name: 'two slashes outside an ARN', path: '/bedrock/model/a/b/c/invoke', flag: 'bedrock_model_invoke', model: '' },
    { name: 'bad percent escape', path: '/bedrock/model/%E0%A4%A/invoke', flag: 'bedrock_model_invoke', model: '' },
    { name: 'unknown action', path: `/bedrock/model/${PROFILE}/generate` },
    { name: 'no model', path: '/bedrock/model//invoke' },
  ];
  for (const c of cases) {
    test(`path: ${c.name}`, () => {
      const m = matchRoute(c.path);
      if (c.flag === undefined) return assert.equal(m, undefined);
      assert.ok(m);
      assert.equal(m.format.flag, c.flag);
      assert.equal(m.urlModel, c.model);
      if (c.upstream) assert.equal(m.upstreamPath, c.upstream);
      if (c.streams !== undefined) assert.equal(m.urlStreams, c.streams);
      // A provider prefix removed or not, the model stays one encoded segment.
      if (c.model) assert.equal(m.withModel?.('x/y:z'), `/model/x%2Fy%3Az/${c.path.slice(c.path.lastIndexOf('/') + 1)}`);
    });
  }

  test('model IDs', () => {
    for (const ok of ['anthropic.claude-3-haiku-20240307-v1:0', 'global.anthropic.claude-sonnet-4-5-20250929-v1:0', 'meta.llama3-70b-instruct-v1:0', ARN, 'arn:aws:bedrock:eu-west-1:123456789012:inference-profile/eu.anthropic.claude-haiku-4-5-20251001-v1:0']) {
      assert.ok(isBedrockModelId(ok), ok);
    }
    for (const bad of ['', '.hidden', 'a b', 'a/b/c', '../b', 'p/../x', 'arn:aws:bedrock:us-east-1:1:x/../../y', 'x'.repeat(300), 'model\n']) assert.ok(!isBedrockModelId(bad), bad);
  });

  test('errors: {"message"} with the type in x-amzn-ErrorType; a stream ends with an exception frame', () => {
    assert.equal(bedrockInvoke.renderError(404, 'unknown_model', 'model "x" is not available'), '{"message":"model \\"x\\" is not available"}');
    assert.deepEqual(bedrockConverse.errorHeaders?.(403, 'no_role'), { 'x-amzn-errortype': 'AccessDeniedException' });
    assert.deepEqual(bedrockConverse.errorHeaders?.(429, 'x'), { 'x-amzn-errortype': 'ThrottlingException' });
    assert.deepEqual(bedrockConverse.errorHeaders?.(502, 'x'), { 'x-amzn-errortype': 'InternalServerException' });
    const bytes = bedrockConverse.renderStreamError(502, 'upstream_failed', 'upstream provider connection failed');
    assert.ok(bytes instanceof Uint8Array);
    const decoded = codec.decode(bytes);
    assert.equal(decoded.headers[':message-type']?.value, 'exception');
    assert.equal(decoded.headers[':exception-type']?.value, 'internalServerException');
    assert.equal(toUtf8(decoded.body), '{"message":"upstream provider connection failed"}');
    assert.equal(formatForPath('/bedrock/model/x/converse').flag, 'bedrock_converse');
    assert.equal(formatForPath('/bedrock/inference-profiles').flag, 'bedrock_model_invoke');
  });
});

describe('aws:: keys', () => {
  test('parsing: with and without a session token; problems never repeat the secret', () => {
    assert.deepEqual(parseAwsKey('aws::FAKETESTKEY000000001:test/Secret+Key=:test-session/token='), { accessKeyId: 'FAKETESTKEY000000001', secretAccessKey: 'test/Secret+Key=', sessionToken: 'test-session/token=' });
    assert.deepEqual(parseAwsKey('aws::FAKETESTKEY000000001:test-secret'), { accessKeyId: 'FAKETESTKEY000000001', secretAccessKey: 'test-secret', sessionToken: undefined });
    for (const bad of ['aws::FAKETESTKEY000000001', 'aws::short:test-secret-1', 'aws::FAKETESTKEY000000001::', 'aws::FAKETESTKEY000000001:test secret 2', 'aws::FAKETESTKEY000000001:test-secret-3:tok en', 'aws::a:test-secret-4:c:d']) {
      const r = parseAwsKey(bad);
      assert.ok('problem' in r, bad);
      assert.doesNotMatch(r.problem, /test[- ]secret|tok en|AKIA/, r.problem);
    }
  });

  test('the signing region comes from the endpoint host', () => {
    assert.equal(bedrockRegion('bedrock-runtime.eu-west-3.amazonaws.com'), 'eu-west-3');
    assert.equal(bedrockRegion('bedrock-runtime-fips.us-gov-west-1.amazonaws.com'), 'us-gov-west-1');
    assert.equal(bedrockRegion('vpce-0abc-1xyz.bedrock-runtime.ap-southeast-2.vpce.amazonaws.com'), 'ap-southeast-2');
    assert.equal(bedrockRegion('127.0.0.1'), undefined);
  });

  test('validation: a malformed key is an error naming the provider, without the secret', () => {
    const text = JSON.stringify({
      providers: {
        good: { baseurl: 'https://bedrock-runtime.us-east-1.amazonaws.com', apikey: 'aws::FAKETESTKEY000000001:test-good-secret', models: ['m'], compatibility: { bedrock_converse: true } },
        bad: { baseurl: 'https://bedrock-runtime.us-east-1.amazonaws.com', apikey: 'aws::FAKETESTKEY000000001:test bad secret', models: ['m'], compatibility: { bedrock_converse: true } },
        odd: { baseurl: 'https://api.example.com', apikey: 'aws::FAKETESTKEY000000001:test-odd-secret', models: ['m'] },
      },
    });
    const { problems } = validateConfigText(text);
    const bad = problems.find((p) => p.path === 'providers.bad.apikey');
    // One verdict: a key keyway cannot sign with refuses the whole document.
    assert.equal(bad?.severity, 'error');
    assert.match(bad!.message, /provider bad: an "aws::" apikey has an empty or malformed secret access key/);
    assert.ok(!JSON.stringify(problems).includes('test bad secret') && !JSON.stringify(problems).includes('test-good-secret'));
    assert.equal(problems.find((p) => p.path === 'providers.odd.apikey')?.severity, 'info');
    assert.ok(!problems.some((p) => p.path === 'providers.good.apikey'));
    assert.deepEqual(problems.filter((p) => p.severity === 'error').map((p) => p.path), ['providers.bad.apikey']);
  });

  test('pricing: Bedrock formats are priced from AWS\'s list, also without a cost_basis', () => {
    const spec = validateConfigText(JSON.stringify({ providers: { b: { baseurl: 'https://x.example', models: ['m'], compatibility: { bedrock_converse: true } } } })).config!.providers[0]!;
    assert.deepEqual(pricingFor(spec, 'bedrock_converse', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', true), { basis: 'bedrock', model: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0', adjustment: 1 });
    assert.equal(pricingFor(spec, 'bedrock_converse', 'm', false), null);
  });
});
