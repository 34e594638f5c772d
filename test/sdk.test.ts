/**
 * The official SDKs, unmodified, pointed at keyway: streaming and non-streaming calls
 * reach the mock upstream through the gateway with the caller's own credential.
 */
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FAKE, configText, startStack, type Stack } from './helpers.js';

describe('official SDKs through keyway (passthrough)', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) =>
      configText({
        anthropic: { baseurl: u, authorization: 'x-api-key', auth_mode: 'passthrough', models: ['claude-opus-4-8'], compatibility: { anthropic_messages: true } },
        openai: { baseurl: u, auth_mode: 'passthrough', models: ['gpt-5'], compatibility: { openai_chat: true, openai_responses: true } },
        gemini: { baseurl: u, authorization: 'x-goog-api-key', auth_mode: 'passthrough', models: ['gemini-2.5-flash'], compatibility: { gemini_generate_content: true } },
      }),
    );
  });
  after(() => stack.close());

  test('@anthropic-ai/sdk: stream, non-stream and count_tokens', async () => {
    const client = new Anthropic({ baseURL: stack.url, apiKey: FAKE.anthropicKey, maxRetries: 0 });
    stack.upstream.reset();
    const stream = client.messages.stream({ model: 'anthropic/claude-opus-4-8', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    let deltas = 0;
    stream.on('text', () => deltas++);
    const final = await stream.finalMessage();
    assert.equal(final.content[0]?.type === 'text' && final.content[0].text, 'MOCK_OK (anthropic claude-opus-4-8)');
    assert.ok(deltas >= 2, `text arrived in ${deltas} deltas`);
    assert.ok(final.usage.output_tokens > 0);
    const upstream = stack.upstream.requests[0]!;
    assert.equal((upstream.json as { stream: boolean }).stream, true);
    // This SDK version sends its key as a bearer token; passthrough forwards it unchanged.
    const sent = upstream.headers['x-api-key'] ?? upstream.headers.authorization;
    assert.ok(sent?.endsWith(FAKE.anthropicKey));

    const plain = await client.messages.create({ model: 'claude-opus-4-8', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(plain.content[0]?.type === 'text' && plain.content[0].text, 'MOCK_OK (anthropic claude-opus-4-8)');
    const count = await client.messages.countTokens({ model: 'claude-opus-4-8', messages: [{ role: 'user', content: 'hi' }] });
    assert.ok(count.input_tokens > 0);
  });

  test('@anthropic-ai/sdk: streamed tool use (input_json_delta) survives the relay', async () => {
    const client = new Anthropic({ baseURL: stack.url, apiKey: FAKE.anthropicKey, maxRetries: 0 });
    const final = await client.messages
      .stream({
        model: 'claude-opus-4-8',
        max_tokens: 64,
        tools: [{ name: 'get_weather', description: 'weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } }],
        messages: [{ role: 'user', content: 'weather? MOCK:tool' }],
      })
      .finalMessage();
    const tool = final.content.find((b) => b.type === 'tool_use');
    assert.ok(tool && tool.type === 'tool_use');
    assert.equal(tool.name, 'get_weather');
    assert.deepEqual(tool.input, { location: 'Paris' });
    assert.equal(final.stop_reason, 'tool_use');
  });

  test('openai: chat stream with usage, responses stream, models.list', async () => {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: FAKE.openaiKey, maxRetries: 0 });
    stack.upstream.reset();
    const chunks = await client.chat.completions.create({ model: 'gpt-5', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
    let text = '';
    let usage: unknown;
    for await (const chunk of chunks) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, 'MOCK_OK (openai-chat gpt-5)');
    assert.ok(usage);
    assert.equal(stack.upstream.requests[0]!.headers.authorization, `Bearer ${FAKE.openaiKey}`);

    const events = await client.responses.create({ model: 'openai/gpt-5', input: 'hi', stream: true });
    let out = '';
    let completed = false;
    for await (const e of events) {
      if (e.type === 'response.output_text.delta') out += e.delta;
      if (e.type === 'response.completed') completed = true;
    }
    assert.equal(out, 'MOCK_OK (openai-responses gpt-5)');
    assert.ok(completed);
    const plain = await client.responses.create({ model: 'gpt-5', input: 'hi' });
    assert.equal(plain.output_text, 'MOCK_OK (openai-responses gpt-5)');

    const models = [];
    for await (const m of client.models.list()) models.push(m.id);
    assert.deepEqual(models.sort(), ['claude-opus-4-8', 'gemini-2.5-flash', 'gpt-5']);
  });

  test('openai: an unknown model is a readable NotFoundError', async () => {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: FAKE.openaiKey, maxRetries: 0 });
    await assert.rejects(client.chat.completions.create({ model: 'gpt-nope', messages: [] }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.match((err as Error).message, /gpt-nope/);
      return true;
    });
  });

  test('@google/genai: generateContentStream (alt=sse), generateContent, countTokens', async () => {
    const ai = new GoogleGenAI({ apiKey: FAKE.googleKey, httpOptions: { baseUrl: stack.url } });
    stack.upstream.reset();
    let text = '';
    for await (const chunk of await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' })) text += chunk.text ?? '';
    assert.equal(text, 'MOCK_OK (gemini gemini-2.5-flash)');
    const req = stack.upstream.requests[0]!;
    assert.equal(req.path, '/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    assert.equal(req.query, '?alt=sse');
    assert.equal(req.headers['x-goog-api-key'], FAKE.googleKey);
    const plain = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' });
    assert.equal(plain.text, 'MOCK_OK (gemini gemini-2.5-flash)');
    const count = await ai.models.countTokens({ model: 'gemini-2.5-flash', contents: 'hi' });
    assert.ok((count.totalTokens ?? 0) > 0);
    const names: string[] = [];
    for await (const m of await ai.models.list()) names.push(m.name ?? '');
    assert.deepEqual(names, ['models/claude-opus-4-8', 'models/gemini-2.5-flash', 'models/gpt-5'], 'in the Gemini shape: Gemini-format models and those reached by translation');
  });
});
