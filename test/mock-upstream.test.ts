// Tests of the mock upstream, driven directly with the official SDKs (so the mock is proven to
// be "faithful enough" for real clients) and with raw HTTP for the failure scenarios.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSign } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseKeyfile } from '../src/upstream/credentials/keyfile.js';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createGunzip } from 'node:zlib';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { GoogleGenAI } from '@google/genai';
import { parseMockUpstreamArgs, parseScenario, startMockUpstream, type MockUpstream, type MockUpstreamOptions } from '../src/mock-upstream/index.js';

async function withMock(opts: MockUpstreamOptions, fn: (mock: MockUpstream) => Promise<void>): Promise<void> {
  const mock = await startMockUpstream(opts);
  try {
    await fn(mock);
  } finally {
    await mock.close();
  }
}

const anthropicClient = (m: MockUpstream, headers?: Record<string, string>) =>
  new Anthropic({ apiKey: 'sk-ant-dummy', baseURL: m.url, maxRetries: 0, defaultHeaders: headers });
const openaiClient = (m: MockUpstream, headers?: Record<string, string>) =>
  new OpenAI({ apiKey: 'sk-dummy', baseURL: `${m.url}/v1`, maxRetries: 0, defaultHeaders: headers });
const geminiClient = (m: MockUpstream) => new GoogleGenAI({ apiKey: 'AIza-test-dummy-key', httpOptions: { baseUrl: m.url } });

function post(m: MockUpstream, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(m.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Raw HTTP GET/POST that exposes the undecoded body stream (fetch hides content-encoding). */
function rawRequest(m: MockUpstream, method: string, path: string, headers: Record<string, string>, body?: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(m.url + path, { method, headers }, resolve);
    req.on('error', reject);
    req.end(body);
  });
}

const BASH_TOOL = {
  name: 'Bash',
  description: 'Run a shell command',
  input_schema: { type: 'object' as const, properties: { command: { type: 'string' } }, required: ['command'] },
};

// ---------------------------------------------------------------- Anthropic

test('anthropic SDK: non-streaming messages.create', async () => {
  await withMock({}, async (mock) => {
    const msg = await anthropicClient(mock).messages.create({
      model: 'claude-mock-1',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(msg.content[0]?.type, 'text');
    assert.equal(msg.content[0]?.type === 'text' && msg.content[0].text, 'MOCK_OK (anthropic claude-mock-1)');
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(msg.usage.output_tokens, 3);
    assert.equal(msg.usage.cache_read_input_tokens, 0);
    assert.equal(msg.usage.cache_creation_input_tokens, 0);
    const rec = mock.requests[0]!;
    assert.equal(rec.path, '/v1/messages');
    assert.equal(msg.usage.input_tokens, Math.ceil(Buffer.byteLength(rec.body) / 4));
    assert.equal(rec.headers.authorization, 'Bearer sk-ant-dummy');
    assert.equal((rec.json as { model: string }).model, 'claude-mock-1');
    assert.equal(rec.aborted, false);
  });
});

test('anthropic SDK: streaming, event order and text/usage accumulation', async () => {
  await withMock({}, async (mock) => {
    const client = anthropicClient(mock);
    const stream = await client.messages.create({
      model: 'claude-mock-1',
      max_tokens: 100,
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const types: string[] = [];
    let text = '';
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') text += ev.delta.text;
    }
    assert.deepEqual(types, [
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    assert.equal(text, 'MOCK_OK (anthropic claude-mock-1)');

    // The MessageStream helper, with a per-request chunk count from the header.
    const helper = client.messages.stream(
      { model: 'claude-mock-1', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-mock-scenario': 'chunks=7,cache-read=11' } },
    );
    let deltas = 0;
    helper.on('text', () => deltas++);
    const final = await helper.finalMessage();
    assert.equal(deltas, 7);
    assert.equal(final.content[0]?.type === 'text' && final.content[0].text, 'MOCK_OK (anthropic claude-mock-1)');
    assert.equal(final.usage.output_tokens, 7);
    assert.equal(final.usage.cache_read_input_tokens, 11);
    assert.equal(mock.requests[1]?.headers['x-stainless-helper-method'], 'stream');
  });
});

test('anthropic: raw SSE has event: lines, ping and content_block_stop; prefixes and ?beta=true kept', async () => {
  await withMock({}, async (mock) => {
    const res = await post(mock, '/gw/v1/messages?beta=true', { model: 'm', stream: true, messages: [] }, { 'x-api-key': 'sk-ant-test-k' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const body = await res.text();
    assert.match(body, /^event: message_start\ndata: /);
    assert.ok(body.includes('event: ping\n'));
    assert.ok(body.includes('event: content_block_stop\n'));
    assert.ok(body.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n'));
    assert.equal(mock.requests[0]!.path, '/gw/v1/messages');
    assert.equal(mock.requests[0]!.query, '?beta=true');
  });
});

test('anthropic SDK: countTokens', async () => {
  await withMock({}, async (mock) => {
    const r = await anthropicClient(mock).messages.countTokens({
      model: 'claude-mock-1',
      messages: [{ role: 'user', content: 'count me please' }],
    });
    assert.equal(r.input_tokens, Math.ceil(Buffer.byteLength(mock.requests[0]!.body) / 4));
    assert.equal(mock.requests[0]!.path, '/v1/messages/count_tokens');
  });
});

test('anthropic SDK: tool_use stream picks the command tool, then a tool_result ends the round trip', async () => {
  await withMock({}, async (mock) => {
    const client = anthropicClient(mock, { 'x-mock-scenario': 'tool' });
    const tools = [
      { name: 'Agent', input_schema: { type: 'object' as const, properties: { prompt: { type: 'string' } } } },
      BASH_TOOL,
    ];
    const first = [{ role: 'user' as const, content: 'run something' }];
    const stream = client.messages.stream({ model: 'claude-mock-1', max_tokens: 100, tools, messages: first });
    let jsonDeltas = 0;
    stream.on('inputJson', () => jsonDeltas++);
    const msg = await stream.finalMessage();
    assert.equal(jsonDeltas, 3);
    assert.equal(msg.stop_reason, 'tool_use');
    const block = msg.content[0];
    if (block?.type !== 'tool_use') return assert.fail('expected a tool_use block');
    assert.equal(block.name, 'Bash');
    assert.deepEqual(block.input, { command: 'echo TOOL_RAN_42' });

    const second = await client.messages.create({
      model: 'claude-mock-1',
      max_tokens: 100,
      tools,
      messages: [
        ...first,
        { role: 'assistant', content: msg.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: block.id, content: 'TOOL_RAN_42' }] },
      ],
    });
    assert.equal(second.content[0]?.type === 'text' && second.content[0].text, 'TOOL_RESULT_SEEN: TOOL_RAN_42');
    assert.equal(second.stop_reason, 'end_turn');
  });
});

// ---------------------------------------------------------------- OpenAI chat

test('openai SDK: chat.completions non-stream and stream with include_usage', async () => {
  await withMock({}, async (mock) => {
    const client = openaiClient(mock);
    const messages = [{ role: 'user' as const, content: 'hi' }];
    const done = await client.chat.completions.create({ model: 'gpt-mock', messages });
    assert.equal(done.choices[0]?.message.content, 'MOCK_OK (openai-chat gpt-mock)');
    assert.equal(done.choices[0]?.finish_reason, 'stop');
    assert.equal(done.usage?.completion_tokens, 3);
    assert.ok((done.usage?.prompt_tokens ?? 0) > 0);

    const stream = await client.chat.completions.create({
      model: 'gpt-mock',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | undefined | null;
    let count = 0;
    for await (const chunk of stream) {
      count++;
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, 'MOCK_OK (openai-chat gpt-mock)');
    assert.equal(finish, 'stop');
    assert.equal(count, 6); // role chunk + 3 deltas + finish chunk + usage chunk
    assert.equal(usage?.completion_tokens, 3);
    assert.equal(usage?.total_tokens, (usage?.prompt_tokens ?? 0) + 3);
  });
});

test('openai SDK: chat tool_calls stream and role:tool round trip', async () => {
  await withMock({}, async (mock) => {
    const client = openaiClient(mock, { 'x-mock-scenario': 'tool,chunks=4' });
    const tools = [
      { type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } },
    ];
    const stream = client.chat.completions.stream({ model: 'gpt-mock', messages: [{ role: 'user', content: 'x' }], tools });
    const final = await stream.finalChatCompletion();
    const choice = final.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    const call = choice.message.tool_calls?.[0];
    if (call?.type !== 'function') return assert.fail('expected a function tool call');
    assert.equal(call.function.name, 'lookup'); // no command property: first tool, default args
    assert.deepEqual(JSON.parse(call.function.arguments), { location: 'Paris' });

    const after = await client.chat.completions.create({
      model: 'gpt-mock',
      tools,
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: 'sunny, 21C' },
      ],
    });
    assert.equal(after.choices[0]?.message.content, 'TOOL_RESULT_SEEN: sunny, 21C');
  });
});

// ---------------------------------------------------------------- OpenAI responses

test('openai SDK: responses non-stream and stream (full event sequence)', async () => {
  await withMock({}, async (mock) => {
    const client = openaiClient(mock);
    const r = await client.responses.create({ model: 'gpt-5', input: 'hi' });
    assert.equal(r.output_text, 'MOCK_OK (openai-responses gpt-5)');
    assert.equal(r.status, 'completed');
    assert.equal(r.usage?.output_tokens, 3);

    const stream = client.responses.stream({ model: 'gpt-5', input: 'hi' });
    const types: string[] = [];
    const seqs: number[] = [];
    for await (const ev of stream) {
      types.push(ev.type);
      seqs.push(ev.sequence_number);
    }
    const final = await stream.finalResponse();
    assert.equal(final.output_text, 'MOCK_OK (openai-responses gpt-5)');
    assert.equal(final.usage?.output_tokens, 3);
    assert.deepEqual(types, [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    assert.deepEqual(seqs, types.map((_, i) => i));
  });
});

test('openai SDK: responses function_call stream and function_call_output round trip (codex shape)', async () => {
  await withMock({}, async (mock) => {
    const client = openaiClient(mock);
    const tools = [
      { type: 'web_search' as const },
      {
        type: 'function' as const,
        name: 'exec_command',
        strict: false,
        parameters: { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'] },
      },
    ];
    const stream = client.responses.stream({ model: 'gpt-5', input: 'go MOCK:tool', tools });
    let argDeltas = 0;
    stream.on('response.function_call_arguments.delta', () => argDeltas++);
    const final = await stream.finalResponse();
    const item = final.output[0];
    if (item?.type !== 'function_call') return assert.fail('expected a function_call item');
    assert.equal(argDeltas, 3);
    assert.equal(item.name, 'exec_command');
    assert.deepEqual(JSON.parse(item.arguments), { cmd: 'echo TOOL_RAN_42' });

    const output = 'Chunk ID: 1a2b3c\nWall time: 0.0012 seconds\nProcess exited with code 0\nOutput:\nTOOL_RAN_42\n';
    const after = await client.responses.create({
      model: 'gpt-5',
      tools,
      input: [
        { role: 'user', content: 'go MOCK:tool' },
        { type: 'function_call', call_id: item.call_id, name: item.name, arguments: item.arguments },
        { type: 'function_call_output', call_id: item.call_id, output },
      ],
    });
    assert.ok(after.output_text.startsWith(`TOOL_RESULT_SEEN: ${output.slice(0, 60)}`));
    assert.ok(after.output_text.includes('TOOL_RAN_42'), after.output_text);
  });
});

// ---------------------------------------------------------------- models

test('GET /models satisfies both the OpenAI and the Anthropic SDK', async () => {
  await withMock({}, async (mock) => {
    const oa: string[] = [];
    for await (const m of openaiClient(mock).models.list()) oa.push(m.id);
    const an: string[] = [];
    for await (const m of anthropicClient(mock).models.list()) an.push(m.id);
    assert.ok(oa.includes('gpt-5') && oa.includes('claude-sonnet-4-6'));
    assert.deepEqual(an, oa);
    const one = await anthropicClient(mock).models.retrieve('claude-x');
    assert.equal(one.id, 'claude-x');
    assert.equal(one.type, 'model');
  });
});

// ---------------------------------------------------------------- Gemini

test('genai SDK: generateContent, generateContentStream, countTokens', async () => {
  await withMock({}, async (mock) => {
    const ai = geminiClient(mock);
    const r = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' });
    assert.equal(r.text, 'MOCK_OK (gemini gemini-2.5-flash)');
    assert.equal(r.candidates?.[0]?.finishReason, 'STOP');
    assert.equal(r.usageMetadata?.candidatesTokenCount, 3);

    let text = '';
    let last: string | undefined;
    let n = 0;
    for await (const chunk of await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'hi' })) {
      n++;
      text += chunk.text ?? '';
      last = chunk.candidates?.[0]?.finishReason ?? last;
    }
    assert.equal(n, 3);
    assert.equal(text, 'MOCK_OK (gemini gemini-2.5-flash)');
    assert.equal(last, 'STOP');

    const c = await ai.models.countTokens({ model: 'gemini-2.5-flash', contents: 'count these tokens' });
    assert.ok((c.totalTokens ?? 0) > 0);

    const [gen, streamed, count] = mock.requests;
    assert.equal(gen!.path, '/v1beta/models/gemini-2.5-flash:generateContent');
    assert.equal(streamed!.path, '/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    assert.equal(streamed!.query, '?alt=sse');
    assert.equal(count!.path, '/v1beta/models/gemini-2.5-flash:countTokens');
    assert.equal(gen!.headers['x-goog-api-key'], 'AIza-test-dummy-key');
  });
});

test('genai SDK: functionCall then functionResponse round trip', async () => {
  await withMock({}, async (mock) => {
    const ai = geminiClient(mock);
    const tools = [
      {
        functionDeclarations: [
          { name: 'list_directory', parametersJsonSchema: { type: 'object', properties: { dir_path: { type: 'string' } } } },
          { name: 'run_shell_command', parametersJsonSchema: { type: 'object', properties: { command: { type: 'string' } } } },
        ],
      },
    ];
    const config = { tools, httpOptions: { headers: { 'x-mock-scenario': 'tool' } } };
    const r = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'go', config });
    const call = r.functionCalls?.[0];
    assert.equal(call?.name, 'run_shell_command');
    assert.deepEqual(call?.args, { command: 'echo TOOL_RAN_42' });

    const after = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      config,
      contents: [
        { role: 'user', parts: [{ text: 'go' }] },
        { role: 'model', parts: [{ functionCall: { name: call!.name, args: call!.args } }] },
        { role: 'user', parts: [{ functionResponse: { name: call!.name, response: { output: 'TOOL_RAN_42' } } }] },
      ],
    });
    assert.equal(after.text, 'TOOL_RESULT_SEEN: TOOL_RAN_42');
  });
});

test('gemini: streamGenerateContent without alt=sse is a JSON array; JSON mode honours the schema', async () => {
  await withMock({}, async (mock) => {
    const res = await post(mock, '/v1beta/models/gemini-2.5-flash:streamGenerateContent', { contents: [] });
    assert.equal(res.headers.get('content-type'), 'application/json');
    const arr = (await res.json()) as Array<{ candidates: Array<{ content: { parts: Array<{ text: string }> } }> }>;
    assert.equal(arr.map((c) => c.candidates[0]!.content.parts[0]!.text).join(''), 'MOCK_OK (gemini gemini-2.5-flash)');

    // The model comes from the URL, %-decoded, exactly as received (prefix stripping is visible).
    const prefixed = await post(mock, '/gw/gemini/v1beta/models/tuned%2Fmodel-1:generateContent', { contents: [] });
    const one = (await prefixed.json()) as { candidates: Array<{ content: { parts: Array<{ text: string }> } }> };
    assert.equal(one.candidates[0]!.content.parts[0]!.text, 'MOCK_OK (gemini tuned/model-1)');

    const schema = {
      type: 'object',
      properties: { complexity_reasoning: { type: 'string' }, complexity_score: { type: 'integer', minimum: 1, maximum: 100 } },
    };
    const r = await geminiClient(mock).models.generateContent({
      model: 'gemini-router',
      contents: 'classify',
      config: { responseMimeType: 'application/json', responseJsonSchema: schema },
    });
    const parsed = JSON.parse(r.text ?? '') as { complexity_reasoning: string; complexity_score: number };
    assert.equal(parsed.complexity_reasoning, 'MOCK_OK (gemini gemini-router)');
    assert.ok(parsed.complexity_score >= 1 && parsed.complexity_score <= 100);
  });
});

// ---------------------------------------------------------------- auth and errors

test('a credential containing "invalid" gets 401 in each format\'s own envelope', async () => {
  await withMock({}, async (mock) => {
    const a = await post(mock, '/v1/messages', { model: 'm', messages: [] }, { 'x-api-key': 'sk-invalid-1' });
    assert.equal(a.status, 401);
    assert.deepEqual(await a.json(), { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });

    const o = await post(mock, '/v1/chat/completions', { model: 'm', messages: [] }, { authorization: 'Bearer invalid' });
    assert.equal(o.status, 401);
    const oe = ((await o.json()) as { error: Record<string, unknown> }).error;
    assert.equal(oe.message, 'Incorrect API key provided');
    assert.equal(oe.type, 'invalid_request_error');
    assert.equal(oe.code, 'invalid_api_key');

    const rs = await post(mock, '/v1/responses', { model: 'm', input: 'x' }, { authorization: 'Bearer invalid' });
    assert.equal(rs.status, 401);
    assert.equal(((await rs.json()) as { error: { code: string } }).error.code, 'invalid_api_key');

    for (const [path, headers] of [
      ['/v1beta/models/g:generateContent', { 'x-goog-api-key': 'invalid' }],
      ['/v1beta/models/g:generateContent?key=my-invalid-key', {}],
    ] as const) {
      const g = await post(mock, path, { contents: [] }, headers);
      assert.equal(g.status, 401);
      assert.deepEqual(await g.json(), { error: { code: 401, message: 'API key not valid', status: 'UNAUTHENTICATED' } });
    }
  });
});

test('keys without their provider\'s prefix get that provider\'s 401; well-formed keys, and none, are served', async () => {
  const anthropicBody = { model: 'm', messages: [] };
  const chatBody = { model: 'm', messages: [] };
  const gemini = '/v1beta/models/g:generateContent';
  const cases: Array<{ name: string; path: string; body: unknown; headers: Record<string, string>; status: number }> = [
    { name: 'anthropic x-api-key', path: '/v1/messages', body: anthropicBody, headers: { 'x-api-key': 'sk-ant-test-1' }, status: 200 },
    { name: 'anthropic OAuth bearer', path: '/v1/messages', body: anthropicBody, headers: { authorization: 'Bearer sk-ant-test-oauth-1' }, status: 200 },
    { name: 'anthropic count_tokens', path: '/v1/messages/count_tokens', body: anthropicBody, headers: { 'x-api-key': 'sk-ant-test-1' }, status: 200 },
    { name: 'OpenAI key at Anthropic', path: '/v1/messages', body: anthropicBody, headers: { 'x-api-key': 'sk-test-openai' }, status: 401 },
    { name: 'bare word at Anthropic', path: '/v1/messages', body: anthropicBody, headers: { 'x-api-key': 'hello' }, status: 401 },
    { name: 'non-Anthropic bearer', path: '/v1/messages', body: anthropicBody, headers: { authorization: 'Bearer test-token' }, status: 401 },
    { name: 'openai chat', path: '/v1/chat/completions', body: chatBody, headers: { authorization: 'Bearer sk-test-1' }, status: 200 },
    { name: 'openai project key', path: '/v1/chat/completions', body: chatBody, headers: { authorization: 'Bearer sk-proj-test-1' }, status: 200 },
    { name: 'Google key at OpenAI', path: '/v1/chat/completions', body: chatBody, headers: { authorization: 'Bearer AIza-test' }, status: 401 },
    { name: 'responses without sk-', path: '/v1/responses', body: { model: 'm', input: 'x' }, headers: { authorization: 'Bearer test-1' }, status: 401 },
    { name: 'ChatGPT backend token', path: '/backend-api/codex/responses', body: { model: 'm', input: 'x' }, headers: { authorization: 'Bearer eyJ-test-jwt' }, status: 200 },
    { name: 'gemini header', path: gemini, body: { contents: [] }, headers: { 'x-goog-api-key': 'AIza-test-1' }, status: 200 },
    { name: 'gemini OAuth bearer', path: gemini, body: { contents: [] }, headers: { authorization: 'Bearer ya29.test' }, status: 200 },
    { name: 'OpenAI key at Google', path: gemini, body: { contents: [] }, headers: { 'x-goog-api-key': 'sk-test-1' }, status: 401 },
    { name: 'gemini ?key= without AIza', path: `${gemini}?key=test-1`, body: { contents: [] }, headers: {}, status: 401 },
    { name: 'gemini ?key=', path: `${gemini}?alt=sse&key=AIza-test-1`, body: { contents: [] }, headers: {}, status: 200 },
    { name: '"wrong" in a well-formed key', path: '/v1/messages', body: anthropicBody, headers: { 'x-api-key': 'sk-ant-WRONG-key' }, status: 401 },
    { name: 'no credential (self-hosted)', path: '/v1/chat/completions', body: chatBody, headers: {}, status: 200 },
  ];
  await withMock({}, async (mock) => {
    for (const c of cases) {
      const res = await post(mock, c.path, c.body, c.headers);
      assert.equal(res.status, c.status, c.name);
      const body = (await res.json()) as { type?: string; error: { type?: string; code?: string | number; status?: string } };
      if (c.status !== 401) continue;
      // Each provider's own 401 envelope, as its SDKs parse it.
      if (c.path.includes('/v1/messages')) assert.deepEqual(body, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }, c.name);
      else if (c.path.startsWith('/v1beta/')) assert.deepEqual(body.error, { code: 401, message: 'API key not valid', status: 'UNAUTHENTICATED' }, c.name);
      else assert.equal(body.error.code, 'invalid_api_key', c.name);
    }
    // GET /models guesses the API from the headers, and checks the key the same way.
    assert.equal((await fetch(`${mock.url}/v1/models`, { headers: { 'x-api-key': 'sk-ant-test-1', 'anthropic-version': '2023-06-01' } })).status, 200);
    assert.equal((await fetch(`${mock.url}/v1/models`, { headers: { 'x-api-key': 'nope', 'anthropic-version': '2023-06-01' } })).status, 401);
    assert.equal((await fetch(`${mock.url}/v1/models`, { headers: { authorization: 'Bearer nope' } })).status, 401);
  });
  // acceptAnyKey turns the prefix check off; marked keys are still refused.
  await withMock({ acceptAnyKey: true }, async (mock) => {
    assert.equal((await post(mock, '/v1/messages', anthropicBody, { 'x-api-key': 'hello' })).status, 200);
    assert.equal((await post(mock, gemini, { contents: [] }, { 'x-goog-api-key': 'sk-test-1' })).status, 200);
    assert.equal((await post(mock, '/v1/messages', anthropicBody, { 'x-api-key': 'sk-ant-test-invalid' })).status, 401);
  });
});

test('error=<status> scenario: envelopes per format, retry-after on 429', async () => {
  await withMock({}, async (mock) => {
    const a = await post(mock, '/v1/messages', { model: 'm', messages: [] }, { 'x-mock-scenario': 'error=429' });
    assert.equal(a.status, 429);
    assert.equal(a.headers.get('retry-after'), '1');
    assert.equal(((await a.json()) as { error: { type: string } }).error.type, 'rate_limit_error');

    const o = await post(mock, '/v1/messages', { model: 'm', messages: [{ role: 'user', content: 'MOCK:error=529' }] });
    assert.equal(o.status, 529);
    assert.equal(((await o.json()) as { error: { type: string } }).error.type, 'overloaded_error');

    const c = await post(mock, '/v1/chat/completions', { model: 'm', messages: [] }, { 'x-mock-scenario': 'error=429' });
    assert.equal(c.status, 429);
    assert.equal(c.headers.get('retry-after'), '1');
    assert.equal(((await c.json()) as { error: { code: string } }).error.code, 'rate_limit_exceeded');

    const g = await post(mock, '/v1beta/models/g:generateContent', { contents: [] }, { 'x-mock-scenario': 'error=503' });
    assert.equal(g.status, 503);
    assert.equal(((await g.json()) as { error: { status: string } }).error.status, 'UNAVAILABLE');

    // The SDKs turn the envelope into their typed errors.
    await assert.rejects(
      anthropicClient(mock, { 'x-mock-scenario': 'error=400' }).messages.create({ model: 'm', max_tokens: 1, messages: [] }),
      (err: unknown) => err instanceof Anthropic.BadRequestError && err.status === 400,
    );
  });
});

test('malformed JSON gets a 400 in the route\'s envelope', async () => {
  await withMock({}, async (mock) => {
    const a = await post(mock, '/v1/messages', '{"model":');
    assert.equal(a.status, 400);
    assert.equal(((await a.json()) as { type: string; error: { type: string } }).error.type, 'invalid_request_error');
    const o = await post(mock, '/v1/chat/completions', 'not json');
    assert.equal(o.status, 400);
    assert.equal(((await o.json()) as { error: { type: string } }).error.type, 'invalid_request_error');
    const g = await post(mock, '/v1beta/models/g:streamGenerateContent?alt=sse', '[1,2]');
    assert.equal(g.status, 400);
    assert.equal(((await g.json()) as { error: { status: string } }).error.status, 'INVALID_ARGUMENT');
    const empty = await fetch(`${mock.url}/v1/responses`, { method: 'POST' });
    assert.equal(empty.status, 400);
    assert.equal(mock.requests.length, 4);
    assert.equal(mock.requests[0]!.json, undefined);
  });
});

test('unknown route is a JSON 404; GET /responses with upgrade: websocket is a 426', async () => {
  await withMock({}, async (mock) => {
    const nf = await fetch(`${mock.url}/nope`);
    assert.equal(nf.status, 404);
    assert.equal(nf.headers.get('content-type'), 'application/json');
    assert.equal(((await nf.json()) as { error: { type: string } }).error.type, 'not_found_error');

    const res = await rawRequest(mock, 'GET', '/backend-api/codex/responses', {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    });
    res.resume();
    assert.equal(res.statusCode, 426);
    assert.equal(mock.requests[1]!.path, '/backend-api/codex/responses');
    assert.equal(mock.requests[1]!.headers.upgrade, 'websocket');
  });
});

// ---------------------------------------------------------------- failure modes

test('die-midstream: the client sees a truncated stream and an error', async () => {
  await withMock({}, async (mock) => {
    const res = await post(mock, '/v1/messages', { model: 'm', stream: true, messages: [] }, { 'x-mock-scenario': 'die-midstream' });
    assert.equal(res.status, 200);
    let got = '';
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    await assert.rejects(async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        got += dec.decode(value, { stream: true });
      }
    });
    assert.ok(got.includes('event: message_start'));
    assert.ok(!got.includes('message_stop'));

    // Through the SDK, and for a non-streaming JSON reply.
    const sdk = anthropicClient(mock, { 'x-mock-scenario': 'die-midstream' });
    await assert.rejects(sdk.messages.stream({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }).finalMessage());
    const json = await post(mock, '/v1/chat/completions', { model: 'm', messages: [] }, { 'x-mock-scenario': 'die-midstream' });
    await assert.rejects(json.text());
    // The mock hung up, not the client.
    assert.ok(mock.requests.every((r) => !r.aborted));
  });
});

test('hang: the request is recorded, a client abort marks it aborted, close() still returns', async () => {
  await withMock({}, async (mock) => {
    // One hung request via the body directive (left for close() to tear down)...
    const pending = post(mock, '/v1/messages', { model: 'm', messages: [{ role: 'user', content: 'wait MOCK:hang' }] }).catch(
      (e: unknown) => e,
    );
    // ...and one via the header that the client aborts.
    const ac = new AbortController();
    const aborted = fetch(`${mock.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'm', messages: [] }),
      headers: { 'x-mock-scenario': 'hang' },
      signal: ac.signal,
    }).catch((e: unknown) => e);
    await mock.waitForRequests(2);
    assert.equal(mock.requests.filter((r) => r.aborted).length, 0);
    ac.abort();
    const rec = await mock.waitForAbort(2000);
    assert.equal(rec.path, '/v1/chat/completions');
    assert.equal(rec.aborted, true);
    assert.ok((await aborted) instanceof Error);
    const other = mock.requests.find((r) => r.path === '/v1/messages')!;
    assert.equal(other.aborted, false);
    await mock.close(); // destroys the other hung socket; that is not a client abort
    assert.ok((await pending) instanceof Error);
    assert.equal(other.aborted, false);
  });
});

test('slow=<ms> delays the headers; latencyMs is the default delay', async () => {
  await withMock({ latencyMs: 30 }, async (mock) => {
    let t = Date.now();
    await (await post(mock, '/v1/messages', { model: 'm', messages: [] })).text();
    assert.ok(Date.now() - t >= 25);
    t = Date.now();
    await (await post(mock, '/v1/messages', { model: 'm', messages: [] }, { 'x-mock-scenario': 'slow=150' })).text();
    assert.ok(Date.now() - t >= 140);
  });
});

test('gzip: JSON and SSE are gzip-encoded, and SSE events still arrive incrementally', async () => {
  await withMock({}, async (mock) => {
    const j = await post(mock, '/v1/messages', { model: 'm', messages: [] }, { 'x-mock-scenario': 'gzip' });
    assert.equal(j.headers.get('content-encoding'), 'gzip');
    assert.equal(((await j.json()) as { content: Array<{ text: string }> }).content[0]!.text, 'MOCK_OK (anthropic m)');

    const body = JSON.stringify({ model: 'm', stream: true, messages: [] });
    const res = await rawRequest(mock, 'POST', '/v1/messages', { 'x-mock-scenario': 'gzip,interval=60', 'content-type': 'application/json' }, body);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
    const start = Date.now();
    let firstEventAt = 0;
    let text = '';
    await new Promise<void>((resolve, reject) => {
      const gunzip = res.pipe(createGunzip());
      gunzip.on('data', (c: Buffer) => {
        if (!firstEventAt) firstEventAt = Date.now();
        text += c.toString();
      });
      gunzip.on('end', resolve);
      gunzip.on('error', reject);
    });
    const total = Date.now() - start;
    assert.ok(text.includes('event: message_stop'));
    // 9 events 60 ms apart: the first must decode long before the stream ends.
    assert.ok(total - (firstEventAt - start) >= 300, `first=${firstEventAt - start} total=${total}`);

    const sdk = await openaiClient(mock, { 'x-mock-scenario': 'gzip' }).chat.completions.create({
      model: 'gpt-mock',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    let s = '';
    for await (const chunk of sdk) s += chunk.choices[0]?.delta.content ?? '';
    assert.equal(s, 'MOCK_OK (openai-chat gpt-mock)');
  });
});

// ---------------------------------------------------------------- scenarios, recording, options

test('body directive MOCK:<...> is honoured and the header wins on conflicts', async () => {
  await withMock({}, async (mock) => {
    const count = async (headers: Record<string, string>, prompt: string) => {
      const res = await post(mock, '/v1/chat/completions', { model: 'm', stream: true, messages: [{ role: 'user', content: prompt }] }, headers);
      return (await res.text()).split('"content":"').length - 2; // minus role chunk
    };
    assert.equal(await count({}, 'hello MOCK:chunks=5 there'), 5);
    assert.equal(await count({ 'x-mock-scenario': 'chunks=2' }, 'hello MOCK:chunks=5'), 2);
    assert.equal(await count({}, 'old MOCK:chunks=9 ... newer MOCK:chunks=4.'), 4);

    const sc = parseScenario('slow=50,chunks=20', 'x MOCK:tool=Bash,gzip y');
    assert.deepEqual([sc.slowMs, sc.chunks, sc.tool, sc.toolName, sc.gzip, sc.hang], [50, 20, true, 'Bash', true, false]);
  });
});

test('echo-headers replies with the received headers; repeated headers are joined', async () => {
  await withMock({}, async (mock) => {
    const res = await rawRequest(
      mock,
      'POST',
      '/v1/messages',
      { 'x-mock-scenario': 'echo-headers', 'content-type': 'application/json', 'x-multi': ['a', 'b'] as unknown as string },
      JSON.stringify({ model: 'm', messages: [] }),
    );
    let raw = '';
    for await (const c of res) raw += String(c);
    const echoed = JSON.parse((JSON.parse(raw) as { content: Array<{ text: string }> }).content[0]!.text) as Record<string, string>;
    assert.equal(echoed['x-mock-scenario'], 'echo-headers');
    assert.equal(echoed['x-multi'], 'a, b');
    assert.equal(mock.requests[0]!.headers['x-multi'], 'a, b');
  });
});

test('record:false keeps nothing; responseBytes pads the reply; reset() clears', async () => {
  await withMock({ record: false, responseBytes: 4096 }, async (mock) => {
    const res = await post(mock, '/v1/chat/completions', { model: 'm', messages: [] });
    const text = await res.text();
    assert.ok(Math.abs(Buffer.byteLength(text) - 4096) < 16, `size ${text.length}`);
    assert.ok((JSON.parse(text) as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content.startsWith('MOCK_OK (openai-chat m) xxx'));
    assert.equal(mock.requests.length, 0);
    await assert.rejects(mock.waitForRequests(1, 50));
  });
  await withMock({}, async (mock) => {
    await (await post(mock, '/v1/messages', { model: 'm', messages: [] })).text();
    const held = mock.requests;
    assert.equal(held.length, 1);
    mock.reset();
    assert.equal(held.length, 0);
    await assert.rejects(mock.waitForRequests(1, 50), /timed out/);
  });
});

test('CLI: prints the listening line, serves, and exits on SIGTERM', async () => {
  const cli = new URL('../src/mock-upstream/cli.js', import.meta.url);
  const child = spawn(process.execPath, [cli.pathname, '--port', '0', '--quiet', '--chunks=2'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /mock upstream listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`cli exited early with ${code}`)));
    });
    const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', stream: true, messages: [] }) });
    assert.equal((await res.text()).split('"content":"').length - 2, 2);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

describe('Google token endpoint (Vertex keyfiles)', () => {
  let mock: MockUpstream;
  before(async () => {
    mock = await startMockUpstream();
  });
  after(() => mock.close());

  const exchange = (form: Record<string, string>, contentType = 'application/x-www-form-urlencoded') =>
    fetch(`${mock.url}/token`, { method: 'POST', headers: { 'content-type': contentType }, body: new URLSearchParams(form).toString() });

  function assertion(key: ReturnType<MockUpstream['oauth']['issueKeyfile']>, claims: Record<string, unknown> = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const unsigned = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: key.clientEmail, aud: key.json.token_uri, scope: 'https://www.googleapis.com/auth/cloud-platform', iat: now, exp: now + 3600, ...claims })}`;
    return `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(key.json.private_key!).toString('base64url')}`;
  }

  test('issues a token for a correctly signed assertion, and Vertex paths accept only live tokens it issued', async () => {
    const key = mock.oauth.issueKeyfile();
    assert.equal(key.json.token_uri, `${mock.url}/token`);
    const res = await exchange({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: assertion(key) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { access_token: string; expires_in: number; token_type: string };
    assert.match(body.access_token, /^ya29\.test-mock-/);
    assert.equal(body.expires_in, 3599);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(mock.requests.length, 0, 'token requests are not in the request log');
    const path = '/v1/projects/p/locations/global/publishers/google/models/gemini-2.5-flash:generateContent';
    const ok = await post(mock, path, { contents: [] }, { authorization: `Bearer ${body.access_token}` });
    assert.equal(ok.status, 200);
    const forged = await post(mock, path, { contents: [] }, { authorization: 'Bearer ya29.test-mock-forged' });
    assert.equal(forged.status, 401);
    assert.equal(((await forged.json()) as { error: { status: string } }).error.status, 'UNAUTHENTICATED');
  });

  test('refuses what Google refuses: wrong grant, form, signature, audience, scope or lifetime', async () => {
    const key = mock.oauth.issueKeyfile();
    const other = mock.oauth.issueKeyfile();
    const grant = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
    const cases: Array<[Promise<Response>, RegExp]> = [
      [exchange({ grant_type: 'client_credentials', assertion: assertion(key) }), /unsupported_grant_type/],
      [exchange({ grant_type: grant, assertion: assertion(key) }, 'application/json'), /invalid_request/],
      [exchange({ grant_type: grant, assertion: assertion({ ...key, json: { ...key.json, private_key: other.json.private_key! } }) }), /Invalid JWT Signature/],
      [exchange({ grant_type: grant, assertion: assertion(key, { aud: 'https://oauth2.googleapis.com/token' }) }), /aud/],
      [exchange({ grant_type: grant, assertion: assertion(key, { scope: 'email' }) }), /invalid_scope/],
      [exchange({ grant_type: grant, assertion: assertion(key, { exp: Math.floor(Date.now() / 1000) + 7200 }) }), /short-lived/],
      [exchange({ grant_type: grant, assertion: assertion(key, { iss: 'nobody@example.com' }) }), /account not found/],
    ];
    for (const [pending, want] of cases) {
      const res = await pending;
      assert.equal(res.status, 400);
      assert.match(JSON.stringify(await res.json()), want);
    }
  });

  test('CLI --vertex-keyfile writes a keyfile:: apikey whose token_uri is the running mock', async () => {
    assert.equal(parseMockUpstreamArgs(['--vertex-keyfile', '/tmp/k']).vertexKeyfile, '/tmp/k');
    const file = join(tmpdir(), `keyway-test-keyfile-${process.pid}`);
    const cli = new URL('../src/mock-upstream/cli.js', import.meta.url);
    const child = spawn(process.execPath, [cli.pathname, '--port', '0', '--quiet', '--vertex-keyfile', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /mock upstream listening on (http:\/\/\S+)[\s\S]*apikey written/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`cli exited early with ${code}`)));
      });
      const read = parseKeyfile(await readFile(file, 'utf8'));
      assert.ok('keyfile' in read);
      assert.equal(read.keyfile.tokenUri, `${url}/token`);
    } finally {
      child.kill('SIGKILL');
      await rm(file, { force: true });
    }
  });
});
