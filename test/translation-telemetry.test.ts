/**
 * Telemetry for translated calls: the record names the client's format and the
 * provider's, usage comes from the provider's answer, cost from the provider's model and
 * cost basis, and the capture keeps both sides (the client's request and answer, the
 * bodies keyway exchanged with the provider). Passthrough credentials are re-sent in the
 * provider's header style and never stored.
 */
import Anthropic from '@anthropic-ai/sdk';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { configText, startStack, type Stack } from './helpers.js';

const CLIENT_KEY = 'sk-ant-test-translated-client-0001';

describe('telemetry of translated calls', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) =>
      configText({ openai: { baseurl: u, auth_mode: 'passthrough', models: ['gpt-4o'], compatibility: { openai_chat: true } } }),
    );
  });
  after(() => stack.close());

  async function stored(): Promise<any[]> {
    await stack.keyway.telemetry!.recorder.flush();
    return ((await (await fetch(`${stack.url}/api/requests?from=0`)).json()) as { requests: any[] }).requests;
  }

  test('Claude Code\'s kind of call on a GPT model: both formats, usage, cost, both sides captured, the key re-styled and never kept', async () => {
    stack.upstream.reset();
    const client = new Anthropic({ baseURL: stack.url, apiKey: CLIENT_KEY, maxRetries: 0 });
    const msg = await client.messages
      .stream({ model: 'gpt-4o', max_tokens: 300, system: 'sys', tools: [{ name: 'Bash', input_schema: { type: 'object', properties: { command: { type: 'string' } } } }], messages: [{ role: 'user', content: 'run it MOCK:tool' }] })
      .finalMessage();
    const tool = msg.content.find((b) => b.type === 'tool_use');
    assert.ok(tool && tool.type === 'tool_use');
    assert.deepEqual(tool.input, { command: 'echo TOOL_RAN_42' });
    // The SDK sends its key as a bearer here; either way the provider gets its own style.
    const sent = stack.upstream.requests[0]!;
    assert.equal(sent.headers.authorization, `Bearer ${CLIENT_KEY}`);
    assert.equal(sent.headers['x-api-key'], undefined);

    const [row] = await stored();
    assert.equal(row.format, 'anthropic_messages');
    assert.equal(row.providerFormat, 'openai_chat');
    assert.equal(row.provider, 'openai');
    assert.equal(row.upstreamModel, 'gpt-4o');
    assert.equal(row.stream, true);
    assert.equal(row.status, 200);
    assert.ok(row.usage.inputTokens > 0 && row.usage.outputTokens > 0, JSON.stringify(row.usage));
    assert.equal(row.stopReason, 'tool_calls', "the provider's own stop reason");
    assert.equal(row.costBasis, 'openai/gpt-4o', 'the OpenAI cost basis, the provider\'s model');
    assert.ok(row.costUsd > 0, 'priced as the provider\'s model');
    assert.equal(row.credentialSource, 'client');
    assert.match(row.credentialFingerprint, /^kf_/);

    const detail = (await (await fetch(`${stack.url}/api/requests/${row.id}`)).json()) as any;
    assert.deepEqual(detail.toolCalls.map((t: any) => t.name), ['Bash']);
    const c = detail.capture;
    assert.equal(JSON.parse(c.requestBody).max_tokens, 300, 'the client\'s request as sent');
    const upstreamRequest = JSON.parse(c.upstreamRequestBody);
    assert.deepEqual(upstreamRequest.messages[0], { role: 'system', content: 'sys' });
    assert.equal(upstreamRequest.stream, true);
    assert.equal(JSON.parse(c.responseBody).type, 'message', 'the answer as the client got it (Anthropic)');
    assert.equal(JSON.parse(c.responseBody).stop_reason, 'tool_use');
    assert.equal(JSON.parse(c.upstreamResponseBody).object, 'chat.completion', 'the provider\'s answer in its API, reassembled');
    const everything = JSON.stringify(detail);
    assert.ok(!everything.includes(CLIENT_KEY), 'no credential in records or captures');
  });

  test('a translated count_tokens is recorded as answered by keyway for that provider', async () => {
    const client = new Anthropic({ baseURL: stack.url, apiKey: CLIENT_KEY, maxRetries: 0 });
    const before = stack.upstream.requests.length;
    const count = await client.messages.countTokens({ model: 'gpt-4o', messages: [{ role: 'user', content: 'count me please' }] });
    assert.ok(count.input_tokens > 0);
    assert.equal(stack.upstream.requests.length, before, 'no upstream call');
    const row = (await stored()).find((r) => r.path.startsWith('/v1/messages/count_tokens'));
    assert.equal(row.status, 200);
    assert.equal(row.provider, 'openai');
    assert.equal(row.providerFormat, 'openai_chat');
  });

  test('native calls record their own format as the provider format and keep no upstream bodies', async () => {
    const res = await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test-native-0001' }, body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-keyway-translation'), null);
    const row = (await stored()).find((r) => r.format === 'openai_chat');
    assert.equal(row.providerFormat, 'openai_chat');
    const detail = (await (await fetch(`${stack.url}/api/requests/${row.id}`)).json()) as any;
    assert.equal(detail.capture.upstreamRequestBody, null);
    assert.equal(detail.capture.upstreamResponseBody, null);
  });
});
