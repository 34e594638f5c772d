/**
 * Amazon Bedrock through keyway, end to end against the mock upstream: paths and model
 * IDs, bodies as sent, credentials in each auth mode (a Bedrock API key, SigV4 with IAM
 * keys checked by the mock's verifier, the client's own signature in passthrough), event
 * streams relayed byte for byte whatever the read boundaries, telemetry, errors in
 * Bedrock's shape, /v1/models, /bedrock/inference-profiles, cleartext HTTP/2, and the
 * dashboard's Test button and chat.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type ClientHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { LOCAL_OWNER, type Identity, type IdentitySource } from '../src/identity/identity.js';
import { MOCK_AWS_CREDENTIALS } from '../src/mock-upstream/index.js';
import { EventStreamParser } from '../src/telemetry/eventstream-parser.js';
import { configText, postJson, startStack, type Stack } from './helpers.js';

const CAP = 'tailscale.com/cap/aperture';
const PROFILE = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const PROFILE_ENCODED = 'us.anthropic.claude-sonnet-4-5-20250929-v1%3A0';
const ARN = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/test0profile1';
const HAIKU = 'anthropic.claude-3-haiku-20240307-v1:0';
const IAM_MODEL = 'eu.anthropic.claude-haiku-4-5-20251001-v1:0';
const BEDROCK_KEY = 'test-bedrock-api-key-0001';
const SESSION_TOKEN = 'test-session-token/0001+abc=';
const IAM_KEY = `aws::${MOCK_AWS_CREDENTIALS.accessKeyId}:${MOCK_AWS_CREDENTIALS.secretAccessKey}`;
const CLIENT_SIGV4 = {
  authorization: 'AWS4-HMAC-SHA256 Credential=FAKETESTCLIENT000001/20261201/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123456789abcdef',
  'x-amz-date': '20261201T101559Z',
  'x-amz-security-token': 'test-client-session-token',
  'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
};

const people: Record<string, Identity> = {
  admin: { ...LOCAL_OWNER, login: 'admin@example.com', loopback: false },
  nobody: { ...LOCAL_OWNER, login: 'nobody@example.com', loopback: false },
};
const identity: IdentitySource = { name: 'test', identify: (req: IncomingMessage) => people[String(req.headers['x-as'] ?? 'admin')] };
const GRANTS = [{ src: ['admin@example.com'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } }];

const codec = new EventStreamCodec(toUtf8, fromUtf8);
function frame(event: string, payload: unknown): Buffer {
  return Buffer.from(codec.encode({
    headers: { ':event-type': { type: 'string', value: event }, ':content-type': { type: 'string', value: 'application/json' }, ':message-type': { type: 'string', value: 'event' } },
    body: fromUtf8(JSON.stringify(payload)),
  }));
}

/** A converse-stream answer with a tool call, as fixed bytes. */
const RAW_STREAM = Buffer.concat([
  frame('messageStart', { role: 'assistant', p: 'ab' }),
  frame('contentBlockStart', { contentBlockIndex: 0, start: { toolUse: { toolUseId: 'tooluse_raw', name: 'Bash' } }, p: 'abc' }),
  ...['{"comm', 'and":"ec', 'ho TOOL_RAN_42"}'].map((input) => frame('contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input } }, p: 'abcd' })),
  frame('contentBlockStop', { contentBlockIndex: 0, p: 'a' }),
  frame('messageStop', { stopReason: 'tool_use', p: 'abcdef' }),
  frame('metadata', { usage: { inputTokens: 31, outputTokens: 17, totalTokens: 48 }, metrics: { latencyMs: 12 }, p: 'ab' }),
]);

/** An upstream that sends RAW_STREAM in uneven pieces (1 to 37 bytes), each its own write. */
async function startRawUpstream(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'raw-1' });
      let at = 0;
      let size = 1;
      const next = () => {
        if (at >= RAW_STREAM.length) return void res.end();
        const piece = RAW_STREAM.subarray(at, at + size);
        at += piece.length;
        size = (size * 7 + 3) % 37 + 1;
        res.write(piece, () => setImmediate(next));
      };
      next();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function events(bytes: Buffer): Array<[string | undefined, any]> {
  const out: Array<[string | undefined, any]> = [];
  const parser = new EventStreamParser((e, d) => out.push([e, JSON.parse(d)]));
  parser.push(bytes);
  parser.end();
  return out;
}

async function post(stack: Stack, path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(stack.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

const INVOKE_BODY = { anthropic_version: 'bedrock-2023-05-31', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] };
const CONVERSE_BODY = { messages: [{ role: 'user', content: [{ text: 'hi' }] }], inferenceConfig: { maxTokens: 32 } };

describe('Amazon Bedrock', () => {
  let stack: Stack;
  let raw: { url: string; server: Server };
  before(async () => {
    raw = await startRawUpstream();
    stack = await startStack(
      (u) =>
        configText(
          {
            bedrock: { baseurl: `${u}/gw/`, apikey: BEDROCK_KEY, models: [PROFILE, ARN, 'meta.llama3-70b-instruct-v1:0'], compatibility: { bedrock_model_invoke: true, bedrock_converse: true } },
            'bedrock-pass': { baseurl: u, auth_mode: 'passthrough', apikey: IAM_KEY, models: [HAIKU], compatibility: { bedrock_model_invoke: true, bedrock_converse: true } },
            'bedrock-iam': { baseurl: u, apikey: `${IAM_KEY}:${SESSION_TOKEN}`, models: [IAM_MODEL], compatibility: { bedrock_converse: true } },
            'bedrock-invoke': { baseurl: u, apikey: IAM_KEY, models: ['us.anthropic.claude-opus-4-1-20250805-v1:0'], compatibility: { bedrock_model_invoke: true } },
            'bedrock-wrong': { baseurl: u, apikey: `aws::${MOCK_AWS_CREDENTIALS.accessKeyId}:test-WRONG-secret`, models: ['amazon.nova-pro-v1:0'], compatibility: { bedrock_converse: true } },
            raw: { baseurl: raw.url, apikey: BEDROCK_KEY, models: ['raw.model-v1:0'], compatibility: { bedrock_converse: true } },
          },
          GRANTS,
        ),
      { identity },
    );
  });
  after(async () => {
    await stack.close();
    raw.server.close();
  });

  test('paths: a raw ":" or %3A, and ARNs, reach {baseurl}/model/{id}/… as one encoded segment', async () => {
    const cases: Array<[string, unknown, string]> = [
      [`/bedrock/model/${PROFILE}/invoke`, INVOKE_BODY, `/gw/model/${PROFILE_ENCODED}/invoke`],
      [`/bedrock/model/${PROFILE_ENCODED}/invoke-with-response-stream`, INVOKE_BODY, `/gw/model/${PROFILE_ENCODED}/invoke-with-response-stream`],
      [`/bedrock/model/${PROFILE}/converse`, CONVERSE_BODY, `/gw/model/${PROFILE_ENCODED}/converse`],
      [`/bedrock/model/${PROFILE_ENCODED}/converse-stream`, CONVERSE_BODY, `/gw/model/${PROFILE_ENCODED}/converse-stream`],
      [`/bedrock/model/${ARN}/converse`, CONVERSE_BODY, `/gw/model/${encodeURIComponent(ARN)}/converse`],
      [`/bedrock/model/bedrock/${encodeURIComponent(PROFILE)}/converse`, CONVERSE_BODY, `/gw/model/${PROFILE_ENCODED}/converse`],
    ];
    for (const [path, body, upstream] of cases) {
      stack.upstream.reset();
      const r = await post(stack, path, body);
      assert.equal(r.status, 200, `${path}: ${r.bytes.toString()}`);
      assert.equal(stack.upstream.requests[0]!.path, upstream, path);
    }
  });

  test('an invoke body goes upstream byte for byte: no model, no stream added', async () => {
    const text = '{ "anthropic_version":"bedrock-2023-05-31",\n  "max_tokens": 16, "big": 12345678901234567890, "messages":[{"role":"user","content":"hi"}] }';
    for (const action of ['invoke', 'invoke-with-response-stream']) {
      stack.upstream.reset();
      const r = await post(stack, `/bedrock/model/${PROFILE}/${action}`, text);
      assert.equal(r.status, 200);
      assert.equal(stack.upstream.requests[0]!.body, text);
    }
  });

  test('override with a Bedrock API key: the bearer key only; the client\'s SigV4, x-amz-date and token are gone', async () => {
    stack.upstream.reset();
    const r = await post(stack, `/bedrock/model/${PROFILE}/converse`, CONVERSE_BODY, { ...CLIENT_SIGV4, 'x-api-key': 'sk-test-client', 'x-amz-user-agent': 'aws-sdk-js/3', 'amz-sdk-invocation-id': 'abc' });
    assert.equal(r.status, 200);
    const h = stack.upstream.requests[0]!.headers;
    assert.equal(h.authorization, `Bearer ${BEDROCK_KEY}`);
    for (const gone of ['x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256', 'x-api-key']) assert.equal(h[gone], undefined, gone);
    assert.equal(h['x-amz-user-agent'], 'aws-sdk-js/3');
    assert.equal(h['amz-sdk-invocation-id'], 'abc');
  });

  test('passthrough: the client\'s Authorization, x-amz-date and x-amz-security-token exactly; else the fallback IAM key signs', async () => {
    stack.upstream.reset();
    const mine = await post(stack, `/bedrock/model/${HAIKU}/invoke`, INVOKE_BODY, CLIENT_SIGV4);
    const h = stack.upstream.requests[0]!.headers;
    for (const [name, value] of Object.entries(CLIENT_SIGV4)) assert.equal(h[name], value, name);
    // The mock, like AWS, does not know that key: its 403 comes back as it was sent.
    assert.equal(mine.status, 403);
    assert.match(mine.headers.get('x-amzn-errortype') ?? '', /^UnrecognizedClientException/);
    assert.deepEqual(JSON.parse(mine.bytes.toString()), { message: 'The security token included in the request is invalid.' });

    const bearer = await post(stack, `/bedrock/model/${HAIKU}/invoke`, INVOKE_BODY, { authorization: 'Bearer test-client-bedrock-key' });
    assert.equal(bearer.status, 200);
    assert.equal(stack.upstream.requests[1]!.headers.authorization, 'Bearer test-client-bedrock-key');

    const none = await post(stack, `/bedrock/model/${HAIKU}/converse`, CONVERSE_BODY, { 'x-amz-date': '20200101T000000Z' });
    assert.equal(none.status, 200, none.bytes.toString());
    const signed = stack.upstream.requests[2]!;
    assert.equal(signed.sigv4, 'valid');
    assert.notEqual(signed.headers['x-amz-date'], '20200101T000000Z', 'a client x-amz-date never rides along with keyway\'s signature');
  });

  test('SigV4 with IAM keys: signatures the verifier accepts (session token, streams, the Test button); a wrong secret gets AWS\'s 403', async () => {
    stack.upstream.reset();
    const plain = await post(stack, `/bedrock/model/${IAM_MODEL}/converse`, CONVERSE_BODY, CLIENT_SIGV4);
    assert.equal(plain.status, 200, plain.bytes.toString());
    const streamed = await post(stack, `/bedrock/model/${IAM_MODEL}/converse-stream`, CONVERSE_BODY);
    assert.equal(streamed.status, 200);
    const [a, b] = stack.upstream.requests;
    for (const req of [a!, b!]) {
      assert.equal(req.sigv4, 'valid');
      assert.match(req.headers.authorization!, new RegExp(`^AWS4-HMAC-SHA256 Credential=${MOCK_AWS_CREDENTIALS.accessKeyId}/\\d{8}/us-east-1/bedrock/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$`));
      assert.equal(req.headers['x-amz-security-token'], SESSION_TOKEN);
    }
    const wrong = await post(stack, '/bedrock/model/amazon.nova-pro-v1:0/converse', CONVERSE_BODY);
    assert.equal(wrong.status, 403);
    assert.match(wrong.headers.get('x-amzn-errortype') ?? '', /^InvalidSignatureException/);
    assert.equal(stack.upstream.requests[2]!.sigv4, 'invalid');
  });

  test('a presigned request\'s X-Amz-* query credential is removed upstream (override) and never recorded; no key of any kind in records or captures', async () => {
    stack.upstream.reset();
    const query = '?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=FAKETESTPRESIGN00001%2F20261201%2Fus-east-1%2Fbedrock%2Faws4_request&X-Amz-Security-Token=test-presigned-token&X-Amz-Signature=test-presigned-sig&trace=1';
    const r = await post(stack, `/bedrock/model/${PROFILE}/converse${query}`, CONVERSE_BODY, CLIENT_SIGV4);
    assert.equal(r.status, 200);
    assert.equal(stack.upstream.requests[0]!.query, '?trace=1');
    await post(stack, `/bedrock/model/${IAM_MODEL}/converse-stream`, CONVERSE_BODY, CLIENT_SIGV4);
    await stack.keyway.telemetry!.recorder.flush();
    const rows = ((await (await fetch(`${stack.url}/api/requests?limit=500`)).json()) as any).requests;
    const details = await Promise.all(rows.map(async (row: any) => (await fetch(`${stack.url}/api/requests/${row.id}`)).text()));
    const everything = JSON.stringify(rows) + details.join('');
    for (const secret of [BEDROCK_KEY, MOCK_AWS_CREDENTIALS.secretAccessKey, SESSION_TOKEN, 'test-presigned-token', 'test-presigned-sig', CLIENT_SIGV4['x-amz-security-token'], 'Signature=0123456789abcdef']) {
      assert.ok(!everything.includes(secret), `${secret} recorded`);
    }
    assert.ok(rows.some((row: any) => row.path.includes('X-Amz-Signature=[redacted]')), 'the path is kept, its signature redacted');
    // Admin reads of the configuration mask IAM keys like any apikey.
    const config = await (await fetch(`${stack.url}/api/config`)).text();
    assert.ok(!config.includes(MOCK_AWS_CREDENTIALS.secretAccessKey) && !config.includes(SESSION_TOKEN) && !config.includes(BEDROCK_KEY));
  });

  test('event streams: the bytes arrive exactly as the upstream wrote them, whatever its write boundaries; the tap still reads usage and tool calls', async () => {
    const r = await post(stack, '/bedrock/model/raw.model-v1:0/converse-stream', CONVERSE_BODY);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/vnd.amazon.eventstream');
    assert.ok(r.bytes.equals(RAW_STREAM), 'byte-identical');
    const id = r.headers.get('x-keyway-request-id')!;
    await stack.keyway.telemetry!.recorder.flush();
    const detail = (await (await fetch(`${stack.url}/api/requests/${id}`)).json()) as any;
    assert.deepEqual(detail.toolCalls, [{ name: 'Bash', arguments: '{"command":"echo TOOL_RAN_42"}' }]);
    assert.deepEqual([detail.request.usage.inputTokens, detail.request.usage.outputTokens, detail.request.stopReason, detail.request.stream], [31, 17, 'tool_use', true]);
    assert.equal(JSON.parse(detail.capture.responseBody).output.message.content[0].toolUse.input.command, 'echo TOOL_RAN_42');
  });

  test('the mock\'s streams decode as Bedrock\'s: converse-stream events and invoke chunks', async () => {
    const conv = await post(stack, `/bedrock/model/${PROFILE}/converse-stream`, CONVERSE_BODY, { 'x-mock-scenario': 'chunks=4' });
    const ev = events(conv.bytes);
    assert.deepEqual(ev.map(([e]) => e), ['messageStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata']);
    assert.equal(ev.filter(([e]) => e === 'contentBlockDelta').map(([, d]) => d.delta.text).join(''), `MOCK_OK (bedrock-converse ${PROFILE})`);
    const inv = await post(stack, `/bedrock/model/${PROFILE}/invoke-with-response-stream`, INVOKE_BODY);
    assert.equal(inv.headers.get('x-amzn-bedrock-content-type'), 'application/json');
    const inner = events(inv.bytes).map(([, d]) => JSON.parse(Buffer.from(d.bytes, 'base64').toString()));
    assert.deepEqual(inner.map((e) => e.type), ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    assert.ok(inner.at(-1)['amazon-bedrock-invocationMetrics'].outputTokenCount > 0);
  });

  test('telemetry: each API, streamed and not: usage, stop reason, tool calls, cost priced as bedrock', async () => {
    const calls: Array<[string, unknown, string]> = [
      [`/bedrock/model/${PROFILE}/invoke`, INVOKE_BODY, 'cache-read=5'],
      [`/bedrock/model/${PROFILE}/invoke-with-response-stream`, { ...INVOKE_BODY, tools: [{ name: 'get_weather', input_schema: { type: 'object' } }] }, 'tool'],
      [`/bedrock/model/${PROFILE}/converse`, CONVERSE_BODY, 'chunks=2'],
      [`/bedrock/model/${PROFILE}/converse-stream`, CONVERSE_BODY, 'tool,cache-write=3'],
    ];
    const ids: string[] = [];
    for (const [path, body, scenario] of calls) {
      const r = await post(stack, path, body, { 'x-mock-scenario': scenario });
      assert.equal(r.status, 200, path);
      ids.push(r.headers.get('x-keyway-request-id')!);
    }
    await stack.keyway.telemetry!.recorder.flush();
    const rows = ((await (await fetch(`${stack.url}/api/requests?limit=500`)).json()) as any).requests;
    const [a, b, c, d] = ids.map((id) => rows.find((row: any) => row.id === id));
    assert.deepEqual([a.format, a.stream, a.stopReason, a.usage.cacheReadTokens, a.costBasis], ['bedrock_model_invoke', false, 'end_turn', 5, 'bedrock/regional.anthropic.claude-sonnet-4-5-20250929-v1:0']);
    assert.ok(a.usage.inputTokens > 5 && a.costUsd > 0);
    assert.deepEqual([b.stream, b.stopReason, b.toolCallCount], [true, 'tool_use', 1]);
    assert.deepEqual([c.format, c.usage.outputTokens, c.stopReason], ['bedrock_converse', 2, 'end_turn']);
    assert.deepEqual([d.stream, d.stopReason, d.toolCallCount, d.usage.cacheWrite5mTokens], [true, 'tool_use', 1, 3]);
    assert.ok(d.costUsd > 0);
  });

  test('errors in Bedrock\'s shape: {"message"} and x-amzn-ErrorType, from keyway and from the upstream', async () => {
    const check = async (r: { status: number; headers: Headers; bytes: Buffer }, status: number, type: string, message: RegExp) => {
      assert.equal(r.status, status);
      assert.match(r.headers.get('x-amzn-errortype') ?? '', new RegExp(`^${type}`));
      const body = JSON.parse(r.bytes.toString());
      assert.deepEqual(Object.keys(body), ['message']);
      assert.match(body.message, message);
    };
    await check(await post(stack, '/bedrock/model/anthropic.claude-nope-v1:0/converse', CONVERSE_BODY), 404, 'ResourceNotFoundException', /model "anthropic\.claude-nope-v1:0" is not available/);
    await check(await post(stack, '/bedrock/model/a%2F..%2Fb/invoke', INVOKE_BODY), 400, 'ValidationException', /model in the URL is not a valid model name/);
    await check(await post(stack, `/bedrock/model/${PROFILE}/converse`, 'not json'), 400, 'ValidationException', /not valid JSON/);
    await check(await post(stack, `/bedrock/model/${PROFILE}/converse`, CONVERSE_BODY, { 'x-as': 'nobody' }), 403, 'AccessDeniedException', /no role granted/);
    const get = await fetch(`${stack.url}/bedrock/model/${PROFILE}/converse`);
    await check({ status: get.status, headers: get.headers, bytes: Buffer.from(await get.arrayBuffer()) }, 405, 'UnknownOperationException', /use POST/);
    await check(await post(stack, '/bedrock/model/x/unknown-action', {}), 404, 'ResourceNotFoundException', /no such endpoint/);
    // An upstream error is relayed as it came.
    await check(await post(stack, `/bedrock/model/${PROFILE}/converse`, CONVERSE_BODY, { 'x-mock-scenario': 'error=429' }), 429, 'ThrottlingException', /mock ThrottlingException/);
  });

  test('a stream that breaks after it began ends with an exception message the SDKs raise', async () => {
    const r = await post(stack, `/bedrock/model/${PROFILE}/converse-stream`, CONVERSE_BODY, { 'x-mock-scenario': 'chunks=6,die-midstream' });
    assert.equal(r.status, 200);
    const ev = events(r.bytes);
    assert.equal(ev[0]![0], 'messageStart');
    assert.deepEqual(ev.at(-1), ['internalServerException', { message: 'upstream provider connection failed' }]);
  });

  test('/v1/models: supported_endpoints and upstream bedrock-runtime; GET /bedrock/inference-profiles lists the granted models', async () => {
    const models = ((await (await fetch(`${stack.url}/v1/models`)).json()) as any).data;
    const row = models.find((m: any) => m.id === PROFILE);
    assert.deepEqual(row.supported_endpoints, ['/bedrock/model/{model}/invoke', '/bedrock/model/{model}/converse']);
    assert.equal(row.metadata.provider.upstream, 'bedrock-runtime');
    assert.ok(Number(row.pricing.input) > 0);
    assert.deepEqual(models.find((m: any) => m.id === IAM_MODEL).supported_endpoints, ['/bedrock/model/{model}/converse']);

    const res = await fetch(`${stack.url}/bedrock/inference-profiles?type=SYSTEM_DEFINED&maxResults=1000`);
    assert.equal(res.status, 200);
    const profiles = ((await res.json()) as any).inferenceProfileSummaries;
    const sonnet = profiles.find((p: any) => p.inferenceProfileId === PROFILE);
    assert.deepEqual(sonnet.models, [{ modelArn: 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0' }]);
    assert.equal(sonnet.status, 'ACTIVE');
    assert.ok(!profiles.some((p: any) => p.inferenceProfileId === ARN), 'an application profile is not SYSTEM_DEFINED');
    const apps = ((await (await fetch(`${stack.url}/bedrock/inference-profiles?type=APPLICATION`)).json()) as any).inferenceProfileSummaries;
    assert.deepEqual(apps.map((p: any) => [p.inferenceProfileId, p.inferenceProfileArn]), [[ARN, ARN]]);
    const refused = await fetch(`${stack.url}/bedrock/inference-profiles`, { headers: { 'x-as': 'nobody' } });
    assert.equal(refused.status, 403);
    assert.match(refused.headers.get('x-amzn-errortype') ?? '', /^AccessDeniedException/);
  });

  test('cleartext HTTP/2 with prior knowledge on the same port, next to HTTP/1.1', async () => {
    const session: ClientHttp2Session = connect(stack.url);
    try {
      const h2 = (path: string, method: string, body?: string) =>
        new Promise<{ status: number; headers: Record<string, unknown>; bytes: Buffer }>((resolve, reject) => {
          const s = session.request({ ':method': method, ':path': path, 'content-type': 'application/json' });
          const chunks: Buffer[] = [];
          let headers: Record<string, unknown> = {};
          s.on('response', (h) => (headers = h));
          s.on('data', (c: Buffer) => chunks.push(c));
          s.on('end', () => resolve({ status: Number(headers[':status']), headers, bytes: Buffer.concat(chunks) }));
          s.on('error', reject);
          s.end(body);
        });
      stack.upstream.reset();
      const plain = await h2(`/bedrock/model/${PROFILE_ENCODED}/converse`, 'POST', JSON.stringify(CONVERSE_BODY));
      assert.equal(plain.status, 200, plain.bytes.toString());
      assert.equal(JSON.parse(plain.bytes.toString()).output.message.content[0].text, `MOCK_OK (bedrock-converse ${PROFILE})`);
      // No HTTP/2 pseudo-header travels upstream.
      assert.ok(Object.keys(stack.upstream.requests[0]!.headers).every((h) => !h.startsWith(':')));
      const streamed = await h2(`/bedrock/model/${PROFILE_ENCODED}/converse-stream`, 'POST', JSON.stringify(CONVERSE_BODY));
      assert.equal(streamed.headers['content-type'], 'application/vnd.amazon.eventstream');
      assert.equal(events(streamed.bytes).at(-1)![0], 'metadata');
      const models = await h2('/v1/models', 'GET');
      assert.equal(models.status, 200);
      const missing = await h2('/bedrock/model/anthropic.claude-nope-v1:0/converse', 'POST', '{}');
      assert.equal(missing.status, 404);
      assert.match(String(missing.headers['x-amzn-errortype']), /^ResourceNotFoundException/);
    } finally {
      session.close();
    }
    const h1 = await postJson(`${stack.url}/bedrock/model/${PROFILE}/converse`, CONVERSE_BODY);
    assert.equal(h1.status, 200);
  });

  test('the dashboard\'s Test button and chat talk Bedrock: Converse where served, else Claude\'s invoke body', async () => {
    const api = async (path: string, body: unknown) => {
      const res = await fetch(stack.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, text: await res.text() };
    };
    stack.upstream.reset();
    const converse = JSON.parse((await api('/api/models/test', { provider: 'bedrock-iam', model: IAM_MODEL })).text);
    assert.deepEqual([converse.ok, converse.format, converse.text], [true, 'bedrock_converse', `MOCK_OK (bedrock-converse ${IAM_MODEL})`]);
    assert.equal(stack.upstream.requests[0]!.sigv4, 'valid');
    assert.equal(stack.upstream.requests[0]!.path, `/model/${encodeURIComponent(IAM_MODEL)}/converse`);
    const invoke = JSON.parse((await api('/api/models/test', { provider: 'bedrock-invoke', model: 'us.anthropic.claude-opus-4-1-20250805-v1:0' })).text);
    assert.deepEqual([invoke.ok, invoke.format, invoke.text], [true, 'bedrock_model_invoke', 'MOCK_OK (bedrock-invoke us.anthropic.claude-opus-4-1-20250805-v1:0)']);
    assert.equal((stack.upstream.requests[1]!.json as any).anthropic_version, 'bedrock-2023-05-31');
    const wrong = JSON.parse((await api('/api/models/test', { provider: 'bedrock-wrong', model: 'amazon.nova-pro-v1:0' })).text);
    assert.deepEqual([wrong.ok, wrong.status, wrong.error], [false, 403, 'The request signature we calculated does not match the signature you provided.']);

    const conv = JSON.parse((await api('/api/chat/conversations', {})).text);
    for (const model of [`bedrock-iam/${IAM_MODEL}`, 'bedrock-invoke/us.anthropic.claude-opus-4-1-20250805-v1:0']) {
      const res = await fetch(`${stack.url}/api/chat/conversations/${conv.id}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content: 'hello MOCK:chunks=3', model }) });
      const sse = await res.text();
      const deltas = sse.split('\n\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6))).filter((e) => e.type === 'delta');
      assert.equal(deltas.length, 3, model);
      assert.match(deltas.map((d) => d.text).join(''), /^MOCK_OK \(bedrock-(converse|invoke) /);
      assert.match(sse, /"type":"done"/);
    }
  });
});
