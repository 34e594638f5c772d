/**
 * The three official SDKs (@anthropic-ai/sdk, openai, @google/genai) through keyway:
 * streaming and non-streaming calls, token counting, tool use, model listing, every auth
 * mode, provider-prefixed models and the error paths. They run in this process, pointed
 * at the tap in front of keyway, so each test sees what the SDK sent and what the
 * upstream received.
 */
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI, Type } from '@google/genai';
import OpenAI from 'openai';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  CREDENTIAL_HEADERS,
  KEYS,
  clientPosts,
  credentials,
  headerDiff,
  startStack,
  upstreamPosts,
  upstreamSaw,
  type E2EStack,
} from './harness.js';

let stack: E2EStack;
before(async () => {
  stack = await startStack();
});
after(() => stack?.close());
beforeEach(() => stack.reset());

const TIMEOUT = { timeout: 30_000 };

/** Everything that happened, for assertion messages. */
function records(): string {
  return [
    '--- client → keyway',
    ...stack.tap.exchanges.map((e) => `${e.method} ${e.path}${e.query} → ${e.status}`),
    '--- keyway → upstream',
    ...stack.upstream.requests.map((q) => `${q.method} ${q.path}${q.query}`),
  ].join('\n');
}

/** One upstream request at `path`, whose non-credential headers are exactly what the SDK sent. */
function onlyUpstream(path: string, ignoreHeaders: string[] = []) {
  const posts = upstreamPosts(stack);
  assert.equal(posts.length, 1, `exactly one upstream request\n${records()}`);
  const up = posts[0]!;
  assert.equal(up.path, path, records());
  const sent = clientPosts(stack)[0]!;
  assert.deepEqual(headerDiff(sent.headers, up.headers, ignoreHeaders), []);
  return { up, sent };
}

function isStreaming(body: unknown): boolean {
  return (body as { stream?: unknown }).stream === true;
}

const COMMAND_TOOL_SCHEMA = {
  type: 'object' as const,
  properties: { command: { type: 'string' as const, description: 'shell command' } },
  required: ['command'],
};

// ====================================================================== Anthropic

describe('@anthropic-ai/sdk through keyway', TIMEOUT, () => {
  const client = (opts: { apiKey?: string; authToken?: string; defaultHeaders?: Record<string, string> }) =>
    new Anthropic({ baseURL: stack.url, maxRetries: 0, timeout: 20_000, apiKey: opts.apiKey ?? null, authToken: opts.authToken ?? null, defaultHeaders: opts.defaultHeaders });
  const user = (text: string) => [{ role: 'user' as const, content: text }];

  test('messages.create (non-streaming), own key through passthrough: the credential and headers arrive unchanged', async () => {
    const msg = await client({ apiKey: KEYS.anthropicClient }).messages.create({ model: 'claude-opus-4-8', max_tokens: 64, messages: user('Say hi.') });
    assert.equal(msg.content[0]?.type === 'text' ? msg.content[0].text : '', 'MOCK_OK (anthropic claude-opus-4-8)');
    const { up, sent } = onlyUpstream('/anthropic-passthrough/v1/messages');
    assert.equal(isStreaming(up.json), false);
    // The credential arrives exactly as the SDK sent it.
    const creds = credentials(up.headers);
    assert.deepEqual(creds, credentials(sent.headers));
    assert.deepEqual(creds, { authorization: `Bearer ${KEYS.anthropicClient}` }, 'SDK 1.14 sends its apiKey as a bearer');
    assert.equal(upstreamSaw(stack, KEYS.anthropicFallback), false);
    assert.ok(up.headers['anthropic-version'], 'anthropic-version kept');
    assert.match(up.headers['user-agent'] ?? '', /^Anthropic\/JS /);
  });

  test('messages.stream: SSE relayed event by event, text accumulated', async () => {
    const stream = client({ apiKey: KEYS.anthropicClient }).messages.stream({ model: 'claude-opus-4-8', max_tokens: 64, messages: user('Say hi.') });
    const deltas: string[] = [];
    stream.on('text', (t) => deltas.push(t));
    const final = await stream.finalMessage();
    assert.equal(deltas.join(''), 'MOCK_OK (anthropic claude-opus-4-8)');
    assert.ok(deltas.length >= 2, `several deltas (${deltas.length})`);
    assert.equal(final.stop_reason, 'end_turn');
    assert.ok(final.usage.output_tokens > 0, 'usage from message_delta');
    const { up } = onlyUpstream('/anthropic-passthrough/v1/messages');
    assert.equal(isStreaming(up.json), true);
    assert.equal(up.headers['x-stainless-helper-method'], 'stream');
  });

  test('messages.countTokens: /v1/messages/count_tokens', async () => {
    const count = await client({ apiKey: KEYS.anthropicClient }).messages.countTokens({ model: 'claude-opus-4-8', messages: user('Count me.') });
    assert.ok(count.input_tokens > 0);
    const { up } = onlyUpstream('/anthropic-passthrough/v1/messages/count_tokens');
    assert.deepEqual(credentials(up.headers), credentials(clientPosts(stack)[0]!.headers));
  });

  test('tool use: a tool_use block (JSON and streamed input_json_delta), then the tool_result turn', async () => {
    const c = client({ apiKey: KEYS.anthropicClient });
    const tools = [{ name: 'run_command', description: 'Run a shell command', input_schema: COMMAND_TOOL_SCHEMA }];
    const msg = await c.messages.create({ model: 'claude-opus-4-8', max_tokens: 256, tools, messages: user('Use the tool. MOCK:tool') });
    assert.equal(msg.stop_reason, 'tool_use');
    const use = msg.content.find((b) => b.type === 'tool_use');
    assert.ok(use && use.type === 'tool_use');
    assert.deepEqual(use.input, { command: 'echo TOOL_RAN_42' });

    const stream = c.messages.stream({ model: 'claude-opus-4-8', max_tokens: 256, tools, messages: user('Use the tool. MOCK:tool') });
    const partials: string[] = [];
    stream.on('inputJson', (partial) => partials.push(partial));
    const streamed = await stream.finalMessage();
    const streamedUse = streamed.content.find((b) => b.type === 'tool_use');
    assert.ok(streamedUse && streamedUse.type === 'tool_use');
    assert.deepEqual(streamedUse.input, { command: 'echo TOOL_RAN_42' });
    assert.ok(partials.length >= 2, `input_json_delta arrived in pieces (${partials.length})`);

    const reply = await c.messages.create({
      model: 'claude-opus-4-8',
      max_tokens: 256,
      tools,
      messages: [
        { role: 'user', content: 'Use the tool. MOCK:tool' },
        { role: 'assistant', content: [use] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'TOOL_RAN_42' }] },
      ],
    });
    assert.equal(reply.content[0]?.type === 'text' ? reply.content[0].text : '', 'TOOL_RESULT_SEEN: TOOL_RAN_42');
    assert.equal(upstreamPosts(stack).length, 3, records());
  });

  test('models.list() is answered by keyway\'s /v1/models with the granted models', async () => {
    const ids: string[] = [];
    for await (const m of client({ apiKey: KEYS.anthropicClient }).models.list()) ids.push(m.id);
    for (const id of ['claude-opus-4-8', 'claude-sonnet-4-5', 'claude-haiku-4-5', 'claude-local-1']) assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
    assert.ok(!ids.some((id) => id.includes('*')), 'no wildcard ids');
    assert.equal(stack.tap.exchanges[0]!.path, '/v1/models');
    assert.equal(stack.upstream.requests.length, 0, 'keyway answers itself');
  });

  test('OAuth-style bearer (authToken + oauth beta) through passthrough with a fallback key: unchanged, no x-api-key added', async () => {
    const c = client({ authToken: KEYS.anthropicOauth, defaultHeaders: { 'anthropic-beta': 'oauth-2025-04-20' } });
    await c.messages.create({ model: 'claude-opus-4-8', max_tokens: 16, messages: user('Say hi.') });
    const { up } = onlyUpstream('/anthropic-passthrough/v1/messages');
    assert.deepEqual(credentials(up.headers), { authorization: `Bearer ${KEYS.anthropicOauth}` });
    assert.equal(up.headers['anthropic-beta'], 'oauth-2025-04-20');
  });

  test('override: a placeholder key is replaced by the provider key; none: no credential', async () => {
    await client({ apiKey: KEYS.placeholder }).messages.create({ model: 'claude-haiku-4-5', max_tokens: 16, messages: user('Say hi.') });
    const { up } = onlyUpstream('/anthropic/v1/messages', [...CREDENTIAL_HEADERS]);
    assert.deepEqual(credentials(up.headers), { 'x-api-key': KEYS.anthropicProvider });
    assert.equal(upstreamSaw(stack, KEYS.placeholder), false);

    stack.reset();
    await client({ apiKey: KEYS.anthropicClient }).messages.create({ model: 'claude-local-1', max_tokens: 16, messages: user('Say hi.') });
    assert.deepEqual(credentials(upstreamPosts(stack)[0]!.headers), {});
    assert.equal(upstreamPosts(stack)[0]!.path, '/anthropic-none/v1/messages');
  });

  test('provider-prefixed model anthropic-passthrough/claude-sonnet-4-5: that provider, prefix stripped', async () => {
    const msg = await client({ apiKey: KEYS.anthropicClient }).messages.create({ model: 'anthropic-passthrough/claude-sonnet-4-5', max_tokens: 16, messages: user('Say hi.') });
    assert.equal(msg.content[0]?.type === 'text' ? msg.content[0].text : '', 'MOCK_OK (anthropic claude-sonnet-4-5)');
    const { up } = onlyUpstream('/anthropic-passthrough/v1/messages');
    assert.equal((up.json as { model: string }).model, 'claude-sonnet-4-5');
  });

  test('errors: invalid key → the upstream\'s 401; unknown model → keyway\'s 404; upstream dies mid-stream → the stream rejects', async () => {
    const e401 = await client({ apiKey: KEYS.invalid }).messages.create({ model: 'claude-opus-4-8', max_tokens: 16, messages: user('hi') }).catch((e: unknown) => e);
    assert.ok(e401 instanceof Anthropic.AuthenticationError, String(e401));
    assert.equal(e401.status, 401);
    assert.match(e401.message, /invalid x-api-key/);

    const e404 = await client({ apiKey: KEYS.anthropicClient }).messages.create({ model: 'claude-nope-9', max_tokens: 16, messages: user('hi') }).catch((e: unknown) => e);
    assert.ok(e404 instanceof Anthropic.NotFoundError, String(e404));
    // The SDK's message embeds the JSON body, so the quotes arrive escaped.
    assert.match(e404.message, /model \\?"claude-nope-9\\?" is not available for \/v1\/messages/);

    const t0 = performance.now();
    const broken = await client({ apiKey: KEYS.anthropicClient }).messages.stream({ model: 'claude-opus-4-8', max_tokens: 16, messages: user('hi MOCK:die-midstream') }).finalMessage().catch((e: unknown) => e);
    assert.ok(broken instanceof Anthropic.APIError, String(broken));
    assert.match(broken.message, /upstream provider connection failed/);
    assert.ok(performance.now() - t0 < 10_000);
  });
});

// ====================================================================== OpenAI

describe('openai SDK through keyway', TIMEOUT, () => {
  const client = (apiKey: string) => new OpenAI({ baseURL: `${stack.url}/v1`, apiKey, maxRetries: 0, timeout: 20_000 });

  test('chat.completions.create (non-streaming), own key through passthrough', async () => {
    const res = await client(KEYS.openaiClient).chat.completions.create({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Say hi.' }] });
    assert.equal(res.choices[0]?.message.content, 'MOCK_OK (openai-chat gpt-5-codex)');
    const { up } = onlyUpstream('/openai-passthrough/v1/chat/completions');
    assert.deepEqual(credentials(up.headers), { authorization: `Bearer ${KEYS.openaiClient}` });
    assert.match(up.headers['user-agent'] ?? '', /^OpenAI\/JS 6\./);
  });

  test('chat.completions streaming with include_usage', async () => {
    const stream = await client(KEYS.openaiClient).chat.completions.create({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'Say hi.' }], stream: true, stream_options: { include_usage: true } });
    let text = '';
    let chunks = 0;
    let usage: unknown;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, 'MOCK_OK (openai-chat gpt-5-codex)');
    assert.ok(chunks >= 3, `several chunks (${chunks})`);
    assert.ok(usage, 'the usage chunk arrived');
    const { up, sent } = onlyUpstream('/openai-passthrough/v1/chat/completions');
    assert.equal(isStreaming(up.json), true);
    assert.match(sent.responseBody, /data: \[DONE\]/);
  });

  test('responses.create (non-streaming) and responses.stream', async () => {
    const res = await client(KEYS.openaiClient).responses.create({ model: 'gpt-5-codex', input: 'Say hi.' });
    assert.equal(res.output_text, 'MOCK_OK (openai-responses gpt-5-codex)');
    onlyUpstream('/openai-passthrough/v1/responses');

    stack.reset();
    const stream = client(KEYS.openaiClient).responses.stream({ model: 'gpt-5-codex', input: 'Say hi.' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    assert.equal(final.output_text, 'MOCK_OK (openai-responses gpt-5-codex)');
    assert.equal(deltas.join(''), final.output_text);
    const { up } = onlyUpstream('/openai-passthrough/v1/responses');
    assert.equal(isStreaming(up.json), true);
  });

  test('tool use: chat tool_calls (JSON and streamed) and a Responses function_call', async () => {
    const c = client(KEYS.openaiClient);
    const tools = [{ type: 'function' as const, function: { name: 'run_command', description: 'Run a shell command', parameters: COMMAND_TOOL_SCHEMA } }];
    const res = await c.chat.completions.create({ model: 'gpt-5-codex', tools, messages: [{ role: 'user', content: 'Use the tool. MOCK:tool' }] });
    const call = res.choices[0]?.message.tool_calls?.[0];
    assert.ok(call && call.type === 'function', JSON.stringify(res.choices[0]));
    assert.equal(call.function.name, 'run_command');
    assert.deepEqual(JSON.parse(call.function.arguments), { command: 'echo TOOL_RAN_42' });

    const stream = c.chat.completions.stream({ model: 'gpt-5-codex', tools, messages: [{ role: 'user', content: 'Use the tool. MOCK:tool' }] });
    const final = await stream.finalChatCompletion();
    const streamedCall = final.choices[0]?.message.tool_calls?.[0];
    assert.ok(streamedCall && streamedCall.type === 'function');
    assert.deepEqual(JSON.parse(streamedCall.function.arguments), { command: 'echo TOOL_RAN_42' });

    const reply = await c.chat.completions.create({
      model: 'gpt-5-codex',
      tools,
      messages: [
        { role: 'user', content: 'Use the tool. MOCK:tool' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: 'TOOL_RAN_42' },
      ],
    });
    assert.equal(reply.choices[0]?.message.content, 'TOOL_RESULT_SEEN: TOOL_RAN_42');

    const rtools = [{ type: 'function' as const, name: 'run_command', description: 'Run a shell command', parameters: COMMAND_TOOL_SCHEMA, strict: false }];
    const r = await c.responses.create({ model: 'gpt-5-codex', tools: rtools, input: 'Use the tool. MOCK:tool' });
    const fc = r.output.find((o) => o.type === 'function_call');
    assert.ok(fc && fc.type === 'function_call', JSON.stringify(r.output));
    assert.deepEqual(JSON.parse(fc.arguments), { command: 'echo TOOL_RAN_42' });
    assert.equal(upstreamPosts(stack).length, 4, records());
  });

  test('models.list() is answered by keyway\'s /v1/models', async () => {
    const ids: string[] = [];
    for await (const m of client(KEYS.openaiClient).models.list()) ids.push(m.id);
    for (const id of ['gpt-5', 'gpt-5-mini', 'gpt-5-codex', 'gpt-5.5', 'local-coder']) assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
    assert.equal(stack.upstream.requests.length, 0);
  });

  test('override: a placeholder key is replaced by the provider key; none: no credential', async () => {
    await client(KEYS.placeholder).chat.completions.create({ model: 'gpt-5-mini', messages: [{ role: 'user', content: 'hi' }] });
    const { up } = onlyUpstream('/openai/v1/chat/completions', ['authorization']);
    assert.deepEqual(credentials(up.headers), { authorization: `Bearer ${KEYS.openaiProvider}` });
    assert.equal(upstreamSaw(stack, KEYS.placeholder), false);

    stack.reset();
    await client(KEYS.openaiClient).responses.create({ model: 'local-coder', input: 'hi' });
    assert.equal(upstreamPosts(stack)[0]!.path, '/openai-none/v1/responses');
    assert.deepEqual(credentials(upstreamPosts(stack)[0]!.headers), {});
  });

  test('provider-prefixed models: openai-passthrough/gpt-5 and openai/gpt-5 reach those providers, prefix stripped', async () => {
    const a = await client(KEYS.openaiClient).chat.completions.create({ model: 'openai-passthrough/gpt-5', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(a.choices[0]?.message.content, 'MOCK_OK (openai-chat gpt-5)');
    const { up } = onlyUpstream('/openai-passthrough/v1/chat/completions');
    assert.equal((up.json as { model: string }).model, 'gpt-5');
    assert.deepEqual(credentials(up.headers), { authorization: `Bearer ${KEYS.openaiClient}` });

    stack.reset();
    await client(KEYS.openaiClient).responses.create({ model: 'openai/gpt-5', input: 'hi' });
    const up2 = upstreamPosts(stack)[0]!;
    assert.equal(up2.path, '/openai/v1/responses');
    assert.equal((up2.json as { model: string }).model, 'gpt-5');
    assert.deepEqual(credentials(up2.headers), { authorization: `Bearer ${KEYS.openaiProvider}` });
  });

  test('errors: invalid key → the upstream\'s 401; unknown model → keyway\'s 404; upstream dies mid-stream → chat and responses streams reject', async () => {
    const e401 = await client(KEYS.invalid).chat.completions.create({ model: 'gpt-5-codex', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    assert.ok(e401 instanceof OpenAI.AuthenticationError, String(e401));
    assert.match(e401.message, /Incorrect API key provided/);

    const e404 = await client(KEYS.openaiClient).responses.create({ model: 'gpt-nope', input: 'hi' }).catch((e: unknown) => e);
    assert.ok(e404 instanceof OpenAI.NotFoundError, String(e404));
    assert.match(e404.message, /model "gpt-nope" is not available/);

    const chat = await (async () => {
      const s = await client(KEYS.openaiClient).chat.completions.create({ model: 'gpt-5-codex', stream: true, messages: [{ role: 'user', content: 'hi MOCK:die-midstream' }] });
      for await (const _ of s) {
        // drain
      }
    })().catch((e: unknown) => e);
    assert.ok(chat instanceof OpenAI.APIError, `chat stream: ${String(chat)}`);
    assert.match(chat.message, /upstream provider connection failed/);

    const resp = await client(KEYS.openaiClient).responses.stream({ model: 'gpt-5-codex', input: 'hi MOCK:die-midstream' }).finalResponse().catch((e: unknown) => e);
    assert.ok(resp instanceof Error, `responses stream: ${String(resp)}`);
    assert.match(resp.message, /upstream provider connection failed/);
  });
});

// ====================================================================== Google GenAI

describe('@google/genai through keyway', TIMEOUT, () => {
  const client = (apiKey: string) => new GoogleGenAI({ apiKey, httpOptions: { baseUrl: stack.url, timeout: 20_000, retryOptions: { attempts: 1 } } });

  test('generateContent (non-streaming), own key through passthrough', async () => {
    const res = await client(KEYS.googleClient).models.generateContent({ model: 'gemini-2.5-flash', contents: 'Say hi.' });
    assert.equal(res.text, 'MOCK_OK (gemini gemini-2.5-flash)');
    const { up } = onlyUpstream('/gemini-passthrough/v1beta/models/gemini-2.5-flash:generateContent');
    assert.deepEqual(credentials(up.headers), { 'x-goog-api-key': KEYS.googleClient });
    assert.match(up.headers['x-goog-api-client'] ?? '', /google-genai-sdk\/2\./);
  });

  test('generateContentStream: ?alt=sse, text accumulated, finishReason on the last chunk', async () => {
    let text = '';
    let finish: string | undefined;
    let chunks = 0;
    for await (const chunk of await client(KEYS.googleClient).models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Say hi.' })) {
      chunks++;
      text += chunk.text ?? '';
      finish = chunk.candidates?.[0]?.finishReason ?? finish;
    }
    assert.equal(text, 'MOCK_OK (gemini gemini-2.5-flash)');
    assert.ok(chunks >= 2, `several chunks (${chunks})`);
    assert.equal(finish, 'STOP');
    const { up } = onlyUpstream('/gemini-passthrough/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    assert.equal(up.query, '?alt=sse');
  });

  test('countTokens', async () => {
    const res = await client(KEYS.googleClient).models.countTokens({ model: 'gemini-2.5-flash', contents: 'Count me.' });
    assert.ok((res.totalTokens ?? 0) > 0);
    onlyUpstream('/gemini-passthrough/v1beta/models/gemini-2.5-flash:countTokens');
  });

  test('tool use: a functionCall, then the functionResponse turn', async () => {
    const c = client(KEYS.googleClient);
    const tools = [{ functionDeclarations: [{ name: 'run_command', description: 'Run a shell command', parameters: { type: Type.OBJECT, properties: { command: { type: Type.STRING } }, required: ['command'] } }] }];
    const res = await c.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Use the tool. MOCK:tool', config: { tools } });
    const call = res.functionCalls?.[0];
    assert.equal(call?.name, 'run_command');
    assert.deepEqual(call?.args, { command: 'echo TOOL_RAN_42' });
    const reply = await c.models.generateContent({
      model: 'gemini-2.5-flash',
      config: { tools },
      contents: [
        { role: 'user', parts: [{ text: 'Use the tool. MOCK:tool' }] },
        { role: 'model', parts: [{ functionCall: call }] },
        { role: 'user', parts: [{ functionResponse: { name: 'run_command', response: { output: 'TOOL_RAN_42' } } }] },
      ],
    });
    assert.match(reply.text ?? '', /^TOOL_RESULT_SEEN: .*TOOL_RAN_42/);
  });

  test('override: a placeholder key is replaced by the provider key; none: no credential', async () => {
    await client(KEYS.placeholder).models.generateContent({ model: 'gemini-2.5-pro', contents: 'hi' });
    const { up } = onlyUpstream('/gemini/v1beta/models/gemini-2.5-pro:generateContent', ['x-goog-api-key']);
    assert.deepEqual(credentials(up.headers), { 'x-goog-api-key': KEYS.googleProvider });
    assert.equal(upstreamSaw(stack, KEYS.placeholder), false);

    stack.reset();
    await client(KEYS.googleClient).models.generateContent({ model: 'gemma-local-1', contents: 'hi' });
    assert.equal(upstreamPosts(stack)[0]!.path, '/gemini-none/v1beta/models/gemma-local-1:generateContent');
    assert.deepEqual(credentials(upstreamPosts(stack)[0]!.headers), {});
  });

  test('provider-prefixed model gemini/gemini-2.5-flash: that provider, prefix stripped from the URL', async () => {
    const res = await client(KEYS.placeholder).models.generateContent({ model: 'gemini/gemini-2.5-flash', contents: 'hi' });
    assert.equal(res.text, 'MOCK_OK (gemini gemini-2.5-flash)');
    const { up } = onlyUpstream('/gemini/v1beta/models/gemini-2.5-flash:generateContent', ['x-goog-api-key']);
    assert.equal(clientPosts(stack)[0]!.path, '/v1beta/models/gemini/gemini-2.5-flash:generateContent');
    assert.deepEqual(credentials(up.headers), { 'x-goog-api-key': KEYS.googleProvider });
  });

  test('errors: invalid key → the upstream\'s 401; unknown model → keyway\'s 404; upstream dies mid-stream → the stream rejects', async () => {
    const e401 = await client(KEYS.invalid).models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }).catch((e: unknown) => e);
    assert.ok(e401 instanceof ApiError, String(e401));
    assert.equal(e401.status, 401);
    assert.match(e401.message, /API key not valid/);

    const e404 = await client(KEYS.googleClient).models.generateContent({ model: 'gemini-nope', contents: 'hi' }).catch((e: unknown) => e);
    assert.ok(e404 instanceof ApiError, String(e404));
    assert.equal(e404.status, 404);
    assert.match(e404.message, /model \\?"gemini-nope\\?" is not available/);

    const broken = await (async () => {
      for await (const _ of await client(KEYS.googleClient).models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi MOCK:die-midstream' })) {
        // drain
      }
    })().catch((e: unknown) => e);
    assert.ok(broken instanceof ApiError, `stream: ${String(broken)}`);
    assert.match(broken.message, /upstream provider connection failed/);
  });

  test('models.list() (GET /v1beta/models, in the Gemini shape)', async () => {
    const names: string[] = [];
    for await (const m of await client(KEYS.googleClient).models.list()) names.push(m.name ?? '');
    assert.ok(names.some((n) => n.endsWith('gemini-2.5-flash')), names.join(', '));
  });
});
