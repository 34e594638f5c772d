/**
 * The Bedrock SDKs, unmodified, pointed at keyway's `/bedrock`: the AWS SDK's Bedrock
 * Runtime client (Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream;
 * SigV4-signed by the SDK, over its default HTTP/2 handler and over HTTP/1.1) and the
 * Anthropic Bedrock SDK. Both sides are asserted: what the mock upstream received (path,
 * credential, signature check) and what the SDK returned.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import AnthropicBedrock from '@anthropic-ai/bedrock-sdk';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
  ResourceNotFoundException,
  type BedrockRuntimeClientConfig,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { MOCK_AWS_CREDENTIALS } from '../src/mock-upstream/index.js';
import { configText, startStack, type Stack } from './helpers.js';

// The SDK warns once per process that its 2027 releases will need Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const HAIKU = 'global.anthropic.claude-haiku-4-5-20251001-v1:0';
const CLIENT_CREDENTIALS = { accessKeyId: 'FAKETESTSDKCLIENT001', secretAccessKey: 'test-sdk-client-secret' };
const WEATHER_TOOL = { toolSpec: { name: 'get_weather', description: 'weather', inputSchema: { json: { type: 'object', properties: { location: { type: 'string' } } } } } };

describe('Bedrock SDKs through keyway', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) =>
      configText({
        // keyway signs with its own IAM key, whatever the SDK signed with.
        bedrock: { baseurl: u, apikey: `aws::${MOCK_AWS_CREDENTIALS.accessKeyId}:${MOCK_AWS_CREDENTIALS.secretAccessKey}`, models: [SONNET], compatibility: { bedrock_model_invoke: true, bedrock_converse: true } },
        // The caller's own Bedrock API key goes through.
        'bedrock-keys': { baseurl: u, auth_mode: 'passthrough', models: [HAIKU], compatibility: { bedrock_model_invoke: true, bedrock_converse: true } },
      }),
    );
  });
  after(() => stack.close());

  const aws = (extra: Partial<BedrockRuntimeClientConfig> = {}) =>
    new BedrockRuntimeClient({ region: 'us-east-1', endpoint: `${stack.url}/bedrock`, credentials: CLIENT_CREDENTIALS, maxAttempts: 1, ...extra });

  test('@aws-sdk/client-bedrock-runtime over its default HTTP/2: Converse and ConverseStream, signed by the SDK, re-signed by keyway', async () => {
    const client = aws();
    stack.upstream.reset();
    const out = await client.send(new ConverseCommand({ modelId: SONNET, messages: [{ role: 'user', content: [{ text: 'hi' }] }], inferenceConfig: { maxTokens: 32 } }));
    assert.equal(out.output?.message?.content?.[0]?.text, `MOCK_OK (bedrock-converse ${SONNET})`);
    assert.equal(out.stopReason, 'end_turn');
    assert.ok((out.usage?.inputTokens ?? 0) > 0);
    const req = stack.upstream.requests[0]!;
    assert.equal(req.path, '/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse');
    assert.equal(req.sigv4, 'valid', 'the verifier accepts keyway\'s signature');
    assert.match(req.headers.authorization!, new RegExp(`Credential=${MOCK_AWS_CREDENTIALS.accessKeyId}/`));
    assert.ok(!JSON.stringify(req.headers).includes(CLIENT_CREDENTIALS.accessKeyId), 'the SDK\'s own signature stays at keyway');

    const stream = await client.send(new ConverseStreamCommand({ modelId: SONNET, messages: [{ role: 'user', content: [{ text: 'weather? MOCK:tool' }] }], toolConfig: { tools: [WEATHER_TOOL] } }));
    let input = '';
    let name: string | undefined;
    let stop: string | undefined;
    let usage: unknown;
    for await (const event of stream.stream!) {
      name ??= event.contentBlockStart?.start?.toolUse?.name;
      input += event.contentBlockDelta?.delta?.toolUse?.input ?? '';
      stop ??= event.messageStop?.stopReason;
      usage ??= event.metadata?.usage;
    }
    assert.deepEqual([name, JSON.parse(input), stop], ['get_weather', { location: 'Paris' }, 'tool_use']);
    assert.ok(usage);
    assert.equal(stack.upstream.requests[1]!.path, '/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream');
    assert.equal(stack.upstream.requests[1]!.sigv4, 'valid');
    client.destroy();
  });

  test('@aws-sdk/client-bedrock-runtime: InvokeModel and InvokeModelWithResponseStream with Claude\'s body, unchanged upstream', async () => {
    const client = aws();
    stack.upstream.reset();
    const body = JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] });
    const out = await client.send(new InvokeModelCommand({ modelId: SONNET, body, contentType: 'application/json', accept: 'application/json' }));
    const answer = JSON.parse(Buffer.from(out.body).toString());
    assert.equal(answer.content[0].text, `MOCK_OK (bedrock-invoke ${SONNET})`);
    assert.equal(stack.upstream.requests[0]!.body, body);

    const stream = await client.send(new InvokeModelWithResponseStreamCommand({ modelId: SONNET, body, contentType: 'application/json' }));
    let text = '';
    let metrics: any;
    for await (const event of stream.body!) {
      const inner = JSON.parse(Buffer.from(event.chunk!.bytes!).toString());
      if (inner.type === 'content_block_delta') text += inner.delta.text;
      metrics ??= inner['amazon-bedrock-invocationMetrics'];
    }
    assert.equal(text, `MOCK_OK (bedrock-invoke ${SONNET})`);
    assert.ok(metrics.outputTokenCount > 0);
    assert.equal(stack.upstream.requests[1]!.body, body);
    client.destroy();
  });

  test('@aws-sdk/client-bedrock-runtime over HTTP/1.1 (NodeHttpHandler), a bearer API key in passthrough, and errors as modeled exceptions', async () => {
    const h1 = aws({ requestHandler: new NodeHttpHandler() });
    const out = await h1.send(new ConverseCommand({ modelId: SONNET, messages: [{ role: 'user', content: [{ text: 'hi' }] }] }));
    assert.equal(out.output?.message?.content?.[0]?.text, `MOCK_OK (bedrock-converse ${SONNET})`);
    await assert.rejects(h1.send(new ConverseCommand({ modelId: 'anthropic.claude-nope-v1:0', messages: [] })), (err: unknown) => {
      assert.ok(err instanceof ResourceNotFoundException);
      assert.match(err.message, /anthropic\.claude-nope-v1:0/);
      return true;
    });
    h1.destroy();

    const keyed = aws({ token: { token: 'test-caller-bedrock-api-key' }, authSchemePreference: ['httpBearerAuth'] });
    stack.upstream.reset();
    const mine = await keyed.send(new ConverseCommand({ modelId: HAIKU, messages: [{ role: 'user', content: [{ text: 'hi' }] }] }));
    assert.equal(mine.output?.message?.content?.[0]?.text, `MOCK_OK (bedrock-converse ${HAIKU})`);
    assert.equal(stack.upstream.requests[0]!.headers.authorization, 'Bearer test-caller-bedrock-api-key');

    // A stream that fails after it began: the SDK raises the exception keyway appends.
    const stream = await keyed.send(new ConverseStreamCommand({ modelId: HAIKU, messages: [{ role: 'user', content: [{ text: 'MOCK:chunks=8,die-midstream' }] }] }));
    await assert.rejects(
      (async () => {
        for await (const _ of stream.stream!) {
          // reading until the exception
        }
      })(),
      (err: Error) => {
        assert.equal(err.name, 'InternalServerException');
        assert.equal(err.message, 'upstream provider connection failed');
        return true;
      },
    );
    keyed.destroy();
  });

  test('@anthropic-ai/bedrock-sdk: create, stream and a streamed tool call (raw ":" in the path; SigV4 from the SDK or skipAuth)', async () => {
    const signed = new AnthropicBedrock({ baseURL: `${stack.url}/bedrock`, awsRegion: 'us-east-1', awsAccessKey: CLIENT_CREDENTIALS.accessKeyId, awsSecretKey: CLIENT_CREDENTIALS.secretAccessKey, maxRetries: 0 });
    stack.upstream.reset();
    const msg = await signed.messages.create({ model: SONNET, max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(msg.content[0]?.type === 'text' && msg.content[0].text, `MOCK_OK (bedrock-invoke ${SONNET})`);
    const req = stack.upstream.requests[0]!;
    assert.equal(req.path, `/model/${encodeURIComponent(SONNET)}/invoke`);
    assert.equal(req.sigv4, 'valid');
    const sent = req.json as Record<string, unknown>;
    assert.ok(!('model' in sent) && !('stream' in sent), 'Bedrock rejects model and stream in the body');

    const skip = new AnthropicBedrock({ baseURL: `${stack.url}/bedrock`, awsRegion: 'us-east-1', skipAuth: true, maxRetries: 0 });
    const stream = skip.messages.stream({ model: SONNET, max_tokens: 32, messages: [{ role: 'user', content: 'hi MOCK:chunks=4' }] });
    let deltas = 0;
    stream.on('text', () => deltas++);
    const final = await stream.finalMessage();
    assert.equal(final.content[0]?.type === 'text' && final.content[0].text, `MOCK_OK (bedrock-invoke ${SONNET})`);
    assert.equal(deltas, 4);
    assert.equal(stack.upstream.requests[1]!.path, `/model/${encodeURIComponent(SONNET)}/invoke-with-response-stream`);

    const tool = await skip.messages
      .stream({
        model: SONNET,
        max_tokens: 64,
        tools: [{ name: 'get_weather', description: 'weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } }],
        messages: [{ role: 'user', content: 'weather? MOCK:tool' }],
      })
      .finalMessage();
    const use = tool.content.find((b) => b.type === 'tool_use');
    assert.ok(use && use.type === 'tool_use');
    assert.deepEqual([use.name, use.input, tool.stop_reason], ['get_weather', { location: 'Paris' }, 'tool_use']);
  });
});
