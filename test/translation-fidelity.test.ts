/**
 * Translation fidelity against a scripted upstream: exact wire sequences in, exact wire
 * sequences out. Thinking, text before tool calls, parallel calls with streamed arguments,
 * cached usage, mid-stream errors and cut streams, multi-turn tool results, images, stop
 * sequences, reasoning settings, the fields that are refused or dropped, and the pinned
 * mapping decisions of docs/translation.md.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { configText, postJson, startStack, type Stack } from './helpers.js';
import { data, sse, startScriptedUpstream, type ScriptedUpstream } from './scripted-upstream.js';

type Json = Record<string, any>;

/** The SSE events of a response body, parsed. */
function events(text: string): Array<{ event: string | undefined; data: any }> {
  const out: Array<{ event: string | undefined; data: any }> = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    let event: string | undefined;
    const lines: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) lines.push(line.slice(6));
    }
    if (lines.length === 0) continue;
    const raw = lines.join('\n');
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // [DONE]
    }
    out.push({ event, data: value });
  }
  return out;
}

const chatChunk = (delta: Json, finish: string | null = null, extra: Json = {}) => data({ id: 'chatcmpl-s1', object: 'chat.completion.chunk', created: 1, model: 'up-model', choices: [{ index: 0, delta, finish_reason: finish }], ...extra });

/** An OpenAI chat stream: reasoning, text, two parallel tool calls with streamed arguments, cached usage. */
const CHAT_TOOL_STREAM = [
  chatChunk({ role: 'assistant', content: '' }),
  chatChunk({ reasoning_content: 'thinking about ' }),
  chatChunk({ reasoning_content: 'the weather' }),
  chatChunk({ content: 'Let me ' }),
  chatChunk({ content: 'check.' }),
  chatChunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
  chatChunk({ tool_calls: [{ index: 0, function: { arguments: '{"location":' } }] }),
  chatChunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
  chatChunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Rome"}' } }] }),
  chatChunk({}, 'tool_calls'),
  data({ id: 'chatcmpl-s1', object: 'chat.completion.chunk', created: 1, model: 'up-model', choices: [], usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120, prompt_tokens_details: { cached_tokens: 40 }, completion_tokens_details: { reasoning_tokens: 5 } } }),
  data('[DONE]'),
];

/** An Anthropic stream: thinking with a signature, text, a tool call, cache reads and writes. */
const ANTHROPIC_TOOL_STREAM = [
  sse('message_start', { type: 'message_start', message: { id: 'msg_s1', type: 'message', role: 'assistant', model: 'up-model', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, cache_read_input_tokens: 30, cache_creation_input_tokens: 5, output_tokens: 1 } } }),
  sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }),
  sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }),
  sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig123' } }),
  sse('content_block_stop', { type: 'content_block_stop', index: 0 }),
  sse('content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }),
  sse('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Checking.' } }),
  sse('content_block_stop', { type: 'content_block_stop', index: 1 }),
  sse('content_block_start', { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} } }),
  sse('ping', { type: 'ping' }),
  sse('content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"loc' } }),
  sse('content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: 'ation":"Oslo"}' } }),
  sse('content_block_stop', { type: 'content_block_stop', index: 2 }),
  sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 25 } }),
  sse('message_stop', { type: 'message_stop' }),
];

describe('translation fidelity (scripted upstream)', () => {
  let up: ScriptedUpstream;
  let stack: Stack;
  before(async () => {
    up = await startScriptedUpstream();
    stack = await startStack(() =>
      configText({
        // Passthrough with fallback keys: a caller's own key is re-sent in the provider's style; without one, the fallback goes.
        chat: { baseurl: up.url, auth_mode: 'passthrough', apikey: 'sk-test-fallback-chat', models: ['up-chat'], compatibility: { openai_chat: true } },
        anthropic: { baseurl: up.url, auth_mode: 'passthrough', apikey: 'sk-ant-test-fallback', authorization: 'x-api-key', models: ['up-claude'], compatibility: { openai_chat: false, anthropic_messages: true } },
        responses: { baseurl: up.url, auth_mode: 'passthrough', apikey: 'sk-test-fallback-resp', models: ['up-resp'], compatibility: { openai_chat: false, openai_responses: true } },
        gemini: { baseurl: up.url, auth_mode: 'passthrough', apikey: 'AIza-test-fallback', authorization: 'x-goog-api-key', models: ['up-gemini'], compatibility: { openai_chat: false, gemini_generate_content: true } },
      }),
    );
  });
  after(async () => {
    await stack.close();
    await up.close();
  });
  beforeEach(() => {
    up.requests.length = 0;
  });

  test('Anthropic client ← chat stream: thinking, text before two parallel tool calls, streamed arguments, cached usage', async () => {
    up.reply({ frames: CHAT_TOOL_STREAM });
    const res = await postJson(`${stack.url}/v1/messages`, { model: 'up-chat', max_tokens: 500, stream: true, messages: [{ role: 'user', content: 'weather?' }] }, { 'x-api-key': 'sk-ant-test-client-0001' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const evs = events(res.text);
    assert.deepEqual(evs.map((e) => e.event), [
      'message_start',
      'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop',
      'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop',
      'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop',
      'content_block_start', 'content_block_delta', 'content_block_stop',
      'message_delta', 'message_stop',
    ]);
    assert.deepEqual(evs.filter((e) => e.event === 'content_block_start').map((e) => [e.data.index, e.data.content_block.type, e.data.content_block.id]), [[0, 'thinking', undefined], [1, 'text', undefined], [2, 'tool_use', 'call_a'], [3, 'tool_use', 'call_b']]);
    assert.deepEqual(evs.filter((e) => e.data?.delta?.type === 'input_json_delta' && e.data.index === 2).map((e) => e.data.delta.partial_json), ['{"location":', '"Paris"}'], 'arguments stream as they arrive');
    const delta = evs.find((e) => e.event === 'message_delta')!.data;
    assert.equal(delta.delta.stop_reason, 'tool_use');
    assert.deepEqual(delta.usage, { input_tokens: 60, cache_creation_input_tokens: 0, cache_read_input_tokens: 40, output_tokens: 20 });
    // Claude Code's own client: the SDK reads the same stream into one message.
    const msg = await new Anthropic({ baseURL: stack.url, apiKey: 'sk-ant-test-client-0001', maxRetries: 0 }).messages.stream({ model: 'up-chat', max_tokens: 500, messages: [{ role: 'user', content: 'weather?' }] }).finalMessage();
    assert.deepEqual(msg.content.map((b) => b.type), ['thinking', 'text', 'tool_use', 'tool_use']);
    assert.deepEqual(msg.content.filter((b) => b.type === 'tool_use').map((b) => b.type === 'tool_use' && [b.id, b.input]), [['call_a', { location: 'Paris' }], ['call_b', { location: 'Rome' }]]);
    assert.equal(msg.content[1]!.type === 'text' && msg.content[1].text, 'Let me check.');
  });

  test('the stream is translated as it arrives: the first text reaches the client before the upstream has finished', async () => {
    up.reply({ frames: CHAT_TOOL_STREAM, intervalMs: 150 });
    const res = await fetch(`${stack.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-test-client-0001' }, body: JSON.stringify({ model: 'up-chat', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] }) });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('thinking_delta')) {
      const chunk = await reader.read();
      assert.ok(!chunk.done, `the stream ended before a thinking delta: ${seen}`);
      seen += new TextDecoder().decode(chunk.value);
    }
    assert.ok(up.requests.length === 1);
    // By now the upstream has written at most a few of its 12 frames.
    const last = CHAT_TOOL_STREAM.length - 1;
    let finished = false;
    void up.written(last).then(() => (finished = true));
    assert.equal(finished, false, 'the client had the thinking delta before the upstream wrote its last frame');
    await reader.cancel();
  });

  test('chat client ← Anthropic stream: reasoning_content, content, tool_calls deltas with the id, usage with cache read and write', async () => {
    up.reply({ frames: ANTHROPIC_TOOL_STREAM });
    const res = await postJson(`${stack.url}/v1/chat/completions`, { model: 'up-claude', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'weather?' }] }, { authorization: 'Bearer sk-ant-test-client-0001' });
    assert.equal(res.status, 200);
    const chunks = events(res.text).map((e) => e.data);
    assert.equal(chunks.at(-1), '[DONE]');
    const deltas = chunks.filter((c) => typeof c === 'object' && c.choices.length > 0).map((c) => c.choices[0].delta);
    assert.deepEqual(deltas.filter((d) => d.reasoning_content).map((d) => d.reasoning_content), ['hmm']);
    assert.deepEqual(deltas.filter((d) => d.content).map((d) => d.content), ['Checking.']);
    const calls = deltas.filter((d) => d.tool_calls).map((d) => d.tool_calls[0]);
    assert.deepEqual(calls[0], { index: 0, id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '' } });
    assert.deepEqual(calls.slice(1).map((c) => c.function.arguments), ['{"loc', 'ation":"Oslo"}']);
    const finish = chunks.find((c) => typeof c === 'object' && c.choices[0]?.finish_reason);
    assert.equal(finish.choices[0].finish_reason, 'tool_calls');
    const usage = chunks.find((c) => typeof c === 'object' && c.usage)?.usage;
    assert.deepEqual(usage, { prompt_tokens: 45, completion_tokens: 25, total_tokens: 70, prompt_tokens_details: { cached_tokens: 30 }, completion_tokens_details: { reasoning_tokens: 0 } });
    // The upstream got an Anthropic body, the client's key in x-api-key (the provider's style).
    const sent = up.requests[0]!;
    assert.equal(sent.path, '/v1/messages');
    assert.equal(sent.headers['x-api-key'], 'sk-ant-test-client-0001');
    assert.equal(sent.headers.authorization, undefined);
    assert.equal(sent.headers['anthropic-version'], '2023-06-01');
    assert.equal(sent.json.max_tokens, 4096, 'the documented default when the client gave none');
  });

  test('a chat client that did not ask for usage gets no usage chunk; the upstream is still asked for it', async () => {
    up.reply({ frames: ANTHROPIC_TOOL_STREAM });
    const ok = await postJson(`${stack.url}/v1/chat/completions`, { model: 'up-claude', stream: true, messages: [{ role: 'user', content: 'x' }] });
    assert.ok(!events(ok.text).some((e) => typeof e.data === 'object' && e.data.usage));
    up.reply({ frames: CHAT_TOOL_STREAM });
    await postJson(`${stack.url}/v1/messages`, { model: 'up-chat', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] });
    assert.deepEqual(up.requests.at(-1)!.json.stream_options, { include_usage: true });
  });

  test('an error event inside the upstream stream becomes the client\'s stream error event', async () => {
    up.reply({ frames: [chatChunk({ role: 'assistant', content: '' }), chatChunk({ content: 'par' }), data({ error: { message: 'upstream overloaded', type: 'server_error', code: null } })] });
    const res = await postJson(`${stack.url}/v1/messages`, { model: 'up-chat', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] });
    const last = events(res.text).at(-1)!;
    assert.equal(last.event, 'error');
    assert.deepEqual(last.data, { type: 'error', error: { type: 'api_error', message: 'upstream overloaded' } });
    up.reply({ frames: [ANTHROPIC_TOOL_STREAM[0]!, sse('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })] });
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'sk-test-client-0001', maxRetries: 0 });
    await assert.rejects(
      (async () => {
        for await (const _ of await client.chat.completions.create({ model: 'up-claude', stream: true, messages: [{ role: 'user', content: 'x' }] })) void _;
      })(),
      (err: unknown) => err instanceof OpenAI.APIError && /Overloaded/.test((err as Error).message),
    );
  });

  test('a stream the upstream cuts (or ends early) ends with the client\'s stream error, not a clean end', async () => {
    up.reply({ frames: CHAT_TOOL_STREAM.slice(0, 5), cut: true });
    const client = new Anthropic({ baseURL: stack.url, apiKey: 'sk-ant-test-client-0001', maxRetries: 0 });
    await assert.rejects(client.messages.stream({ model: 'up-chat', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).finalMessage());
    up.reply({ frames: CHAT_TOOL_STREAM.slice(0, 5) });
    const res = await postJson(`${stack.url}/v1/messages`, { model: 'up-chat', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] });
    const last = events(res.text).at(-1)!;
    assert.equal(last.event, 'error');
    assert.match(last.data.error.message, /ended its stream before the answer was complete/);
  });

  test('multi-turn: tool results with their ids, text after them, a mid-conversation system message (Anthropic client → chat)', async () => {
    up.reply({ json: { id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'Sunny in Paris.' }, finish_reason: 'stop' }], usage: { prompt_tokens: 9, completion_tokens: 3 } } });
    const res = await postJson(`${stack.url}/v1/messages`, {
      model: 'up-chat',
      max_tokens: 100,
      system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: 'weather in Paris?' },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'call the tool', signature: 'sig' }, { type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { location: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: [{ type: 'text', text: 'sunny' }], cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'and?' }] },
        { role: 'system', content: 'Reminder: be terse.' },
      ],
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } }],
      thinking: { type: 'enabled', budget_tokens: 2000 },
      context_management: { edits: [] },
      metadata: { user_id: 'u-1' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.json.content[0].text, 'Sunny in Paris.');
    assert.equal(res.json.stop_reason, 'end_turn');
    const body = up.requests[0]!.json;
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'weather in Paris?' },
      { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'toolu_9', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'toolu_9', content: 'sunny' },
      { role: 'user', content: 'and?' },
      { role: 'system', content: 'Reminder: be terse.' },
    ]);
    assert.equal(body.reasoning_effort, 'low', 'a 2000-token thinking budget is low effort');
    assert.equal(body.user, 'u-1');
    for (const key of ['thinking', 'cache_control', 'context_management', 'metadata', 'system', 'stop_sequences']) assert.ok(!(key in body), `${key} is not an OpenAI chat key`);
    assert.ok(!JSON.stringify(body).includes('cache_control'));
  });

  test('multi-turn the other way: chat tool messages become one user turn of tool_result blocks, first (chat client → Anthropic)', async () => {
    up.reply({ json: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'ok' }], stop_reason: 'stop_sequence', stop_sequence: 'END', usage: { input_tokens: 5, output_tokens: 1 } } });
    const res = await postJson(`${stack.url}/v1/chat/completions`, {
      model: 'up-claude',
      max_completion_tokens: 20000,
      stop: 'END',
      reasoning_effort: 'medium',
      temperature: 0.5,
      messages: [
        { role: 'developer', content: 'Be exact.' },
        { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'a', arguments: '{}' } }, { id: 'call_2', type: 'function', function: { name: 'b', arguments: '{"x":1}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'A' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'B' }] },
        { role: 'user', content: 'so?' },
      ],
    });
    assert.equal(res.status, 200);
    assert.equal(res.json.choices[0].finish_reason, 'stop', 'stop_sequence is a plain stop in chat');
    const body = up.requests[0]!.json;
    assert.deepEqual(body.system, [{ type: 'text', text: 'Be exact.' }]);
    assert.deepEqual(body.messages, [
      { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'call_1', name: 'a', input: {} }, { type: 'tool_use', id: 'call_2', name: 'b', input: { x: 1 } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: [{ type: 'text', text: 'A' }] }, { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: 'B' }] }, { type: 'text', text: 'so?' }] },
    ]);
    assert.equal(body.max_tokens, 20000);
    assert.deepEqual(body.stop_sequences, ['END']);
    assert.deepEqual(body.thinking, { type: 'enabled', budget_tokens: 8192 });
    assert.equal(body.temperature, undefined, 'extended thinking takes no temperature');
    for (const key of ['reasoning_effort', 'max_completion_tokens', 'stop', 'n', 'input', 'reasoning', 'store']) assert.ok(!(key in body), `${key} is not an Anthropic key`);
  });

  test('features without a counterpart: refused with a 400 naming the field in the caller\'s envelope, nothing sent upstream', async () => {
    const cases: Array<[string, Json, RegExp, (b: Json) => string]> = [
      ['/v1/chat/completions', { model: 'up-claude', n: 2, messages: [{ role: 'user', content: 'x' }] }, /^n cannot be translated/, (b) => b.error.message],
      ['/v1/chat/completions', { model: 'up-claude', logprobs: true, messages: [{ role: 'user', content: 'x' }] }, /^logprobs/, (b) => b.error.message],
      ['/v1/responses', { model: 'up-claude', previous_response_id: 'resp_1', input: 'x' }, /^previous_response_id/, (b) => b.error.message],
      ['/v1/chat/completions', { model: 'up-resp', stop: ['x'], messages: [{ role: 'user', content: 'x' }] }, /^stop sequences cannot be translated/, (b) => b.error.message],
      ['/v1/messages', { model: 'up-chat', max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', data: 'x', media_type: 'text/plain' } }] }] }, /messages\[0\]\.content\[0\]\.type "document"/, (b) => b.error.message],
      ['/v1beta/models/up-chat:generateContent', { contents: [{ parts: [{ text: 'x' }] }], generationConfig: { candidateCount: 3 } }, /^generationConfig\.candidateCount/, (b) => b.error.message],
    ];
    for (const [path, body, pattern, message] of cases) {
      const res = await postJson(`${stack.url}${path}`, body);
      assert.equal(res.status, 400, `${path} ${JSON.stringify(body)}: ${res.text}`);
      assert.match(message(res.json), pattern);
    }
    assert.equal(up.requests.length, 0);
    const anthropic = await postJson(`${stack.url}/v1/messages`, { model: 'up-chat', max_tokens: 5, mcp_servers: [{ type: 'url', url: 'https://mcp.example', name: 'x' }], messages: [] });
    assert.equal(anthropic.json.type, 'error');
    assert.equal(anthropic.json.error.type, 'invalid_request_error');
  });

  test('output-tuning fields without a counterpart are dropped by rule (seed, penalties, top_k, service_tier, logit_bias)', async () => {
    up.reply({ json: { id: 'msg_1', type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: { input_tokens: 1, output_tokens: 1 } } });
    const res = await postJson(`${stack.url}/v1/chat/completions`, { model: 'up-claude', seed: 7, presence_penalty: 1, frequency_penalty: 1, logit_bias: { '1': 2 }, service_tier: 'auto', store: true, metadata: { a: 'b' }, messages: [{ role: 'user', content: 'x' }] });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(up.requests[0]!.json).sort(), ['max_tokens', 'messages', 'model']);
  });

  test('count_tokens for a translated model: a local estimate, no upstream call (Anthropic SDK and Gemini)', async () => {
    const client = new Anthropic({ baseURL: stack.url, apiKey: 'sk-ant-test-client-0001', maxRetries: 0 });
    const count = await client.messages.countTokens({ model: 'up-chat', messages: [{ role: 'user', content: 'x'.repeat(400) }] });
    assert.equal(count.input_tokens, 100);
    const gemini = await postJson(`${stack.url}/v1beta/models/up-chat:countTokens`, { contents: [{ parts: [{ text: 'y'.repeat(40) }] }] });
    assert.deepEqual(gemini.json, { totalTokens: 10 });
    assert.equal(up.requests.length, 0);
  });

  test('Gemini client, no alt=sse: the translated stream is a JSON array; thinking comes back as thought parts', async () => {
    up.reply({ frames: ANTHROPIC_TOOL_STREAM });
    const res = await postJson(`${stack.url}/v1beta/models/up-claude:streamGenerateContent`, { contents: [{ role: 'user', parts: [{ text: 'weather?' }] }], generationConfig: { thinkingConfig: { thinkingBudget: 3000, includeThoughts: true } } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const chunks = JSON.parse(res.text) as Json[];
    const parts = chunks.flatMap((c) => c.candidates[0].content.parts);
    assert.deepEqual(parts.filter((p) => p.thought), [{ text: 'hmm', thought: true }]);
    assert.deepEqual(parts.filter((p) => p.functionCall).map((p) => p.functionCall), [{ id: 'toolu_1', name: 'get_weather', args: { location: 'Oslo' } }]);
    assert.equal(chunks.at(-1)!.candidates[0].finishReason, 'STOP');
    assert.deepEqual(chunks.at(-1)!.usageMetadata, { promptTokenCount: 45, candidatesTokenCount: 25, totalTokenCount: 70, cachedContentTokenCount: 30 });
    assert.deepEqual(up.requests[0]!.json.thinking, { type: 'enabled', budget_tokens: 3000 });
  });

  test('Gemini client → chat: function results without ids answer the open call of that name; ids go back as functionCall.id', async () => {
    up.reply({ frames: CHAT_TOOL_STREAM });
    const res = await postJson(`${stack.url}/v1beta/models/up-chat:streamGenerateContent?alt=sse`, {
      systemInstruction: { parts: [{ text: 'sys' }] },
      contents: [
        { role: 'user', parts: [{ text: 'weather?' }] },
        { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { location: 'Paris' } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { output: 'sunny' } } }] },
      ],
      tools: [{ functionDeclarations: [{ name: 'get_weather', parameters: { type: 'OBJECT', properties: { location: { type: 'STRING' } } } }] }],
    }, { 'x-goog-api-key': 'AIza-test-client-0001' });
    assert.equal(res.status, 200);
    const body = up.requests[0]!.json;
    assert.deepEqual(body.messages.slice(2), [
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_0', content: 'sunny' },
    ]);
    assert.deepEqual(body.tools[0].function.parameters, { type: 'object', properties: { location: { type: 'string' } } }, "Gemini's schema dialect in standard JSON Schema");
    assert.equal(up.requests[0]!.headers.authorization, 'Bearer AIza-test-client-0001', 'the Gemini key, re-sent in the provider\'s style');
    assert.equal(up.requests[0]!.headers['x-goog-api-key'], undefined);
    const calls = events(res.text).flatMap((e) => e.data.candidates[0].content.parts).filter((p: Json) => p.functionCall);
    assert.deepEqual(calls.map((p: Json) => p.functionCall.id), ['call_a', 'call_b']);
  });

  test('Responses client: custom and namespaced tools as functions upstream, their calls back in Responses shapes', async () => {
    up.reply({ json: { id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_p', type: 'function', function: { name: 'apply_patch', arguments: '{"input":"*** Begin Patch"}' } }, { id: 'call_n', type: 'function', function: { name: 'crm__lookup', arguments: '{"id":3}' } }] }, finish_reason: 'tool_calls' }], usage: { prompt_tokens: 9, completion_tokens: 3 } } });
    const res = await postJson(`${stack.url}/v1/responses`, {
      model: 'up-chat',
      input: [{ type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'dev prompt' }] }, { role: 'user', content: 'go' }],
      tools: [
        { type: 'custom', name: 'apply_patch', description: 'patch files' },
        { type: 'namespace', name: 'crm', description: 'CRM', tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object', properties: { id: { type: 'integer' } } } }] },
        { type: 'web_search' },
      ],
      store: false,
      include: ['reasoning.encrypted_content'],
      reasoning: { effort: 'high', summary: 'auto' },
    });
    assert.equal(res.status, 200, res.text);
    const body = up.requests[0]!.json;
    assert.deepEqual(body.tools.map((t: Json) => t.function.name), ['apply_patch', 'crm__lookup'], 'web_search (run by the provider) is dropped');
    assert.deepEqual(body.tools[0].function.parameters.required, ['input']);
    assert.equal(body.messages[0].content, 'dev prompt');
    assert.equal(body.reasoning_effort, 'high');
    for (const key of ['input', 'include', 'store', 'reasoning', 'instructions']) assert.ok(!(key in body), `${key} is not a chat key`);
    assert.deepEqual(res.json.output.map((i: Json) => [i.type, i.call_id, i.name, i.namespace, i.input ?? i.arguments]), [
      ['custom_tool_call', 'call_p', 'apply_patch', undefined, '*** Begin Patch'],
      ['function_call', 'call_n', 'lookup', 'crm', '{"id":3}'],
    ]);
  });

  test('Responses upstream: reasoning summaries stream into the Anthropic client\'s thinking block; incomplete is max_tokens', async () => {
    const r = (type: string, extra: Json) => sse(type, { type, ...extra });
    up.reply({
      frames: [
        r('response.created', { response: { id: 'resp_1', model: 'up', status: 'in_progress', output: [] } }),
        r('response.output_item.added', { output_index: 0, item: { id: 'rs_1', type: 'reasoning', summary: [] } }),
        r('response.reasoning_summary_part.added', { output_index: 0, summary_index: 0, part: { type: 'summary_text', text: '' } }),
        r('response.reasoning_summary_text.delta', { output_index: 0, summary_index: 0, delta: 'pondering' }),
        r('response.output_item.done', { output_index: 0, item: { id: 'rs_1', type: 'reasoning', summary: [{ type: 'summary_text', text: 'pondering' }] } }),
        r('response.output_item.added', { output_index: 1, item: { id: 'msg_1', type: 'message', role: 'assistant', content: [] } }),
        r('response.output_text.delta', { output_index: 1, content_index: 0, delta: 'Part' }),
        r('response.output_item.done', { output_index: 1, item: { id: 'msg_1', type: 'message', content: [{ type: 'output_text', text: 'Part' }] } }),
        r('response.incomplete', { response: { id: 'resp_1', status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, output: [], usage: { input_tokens: 12, output_tokens: 8, input_tokens_details: { cached_tokens: 2 }, output_tokens_details: { reasoning_tokens: 6 } } } }),
      ],
    });
    const msg = await new Anthropic({ baseURL: stack.url, apiKey: 'sk-ant-test-client-0001', maxRetries: 0 }).messages.stream({ model: 'up-resp', max_tokens: 8, thinking: { type: 'enabled', budget_tokens: 20000 }, messages: [{ role: 'user', content: 'x' }] }).finalMessage();
    assert.deepEqual(msg.content.map((b) => (b.type === 'thinking' ? ['thinking', b.thinking] : b.type === 'text' ? ['text', b.text] : [b.type])), [['thinking', 'pondering'], ['text', 'Part']]);
    assert.equal(msg.stop_reason, 'max_tokens');
    assert.equal(msg.usage.input_tokens, 10);
    assert.equal(msg.usage.cache_read_input_tokens, 2);
    const body = up.requests[0]!.json;
    assert.deepEqual(body.reasoning, { effort: 'high', summary: 'auto' });
    assert.equal(body.max_output_tokens, 8);
    assert.equal(body.store, false);
  });

  test('an upstream that answers a stream request with JSON still gives the client a stream; a non-JSON answer is a 502', async () => {
    up.reply({ json: { id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'whole' }, finish_reason: 'stop' }] } });
    const msg = await new Anthropic({ baseURL: stack.url, apiKey: 'sk-ant-test-client-0001', maxRetries: 0 }).messages.stream({ model: 'up-chat', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }).finalMessage();
    assert.equal(msg.content[0]!.type === 'text' && msg.content[0].text, 'whole');
    up.reply({ text: '<html>gateway timeout</html>' });
    const res = await postJson(`${stack.url}/v1/messages`, { model: 'up-chat', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    assert.equal(res.status, 502);
    assert.equal(res.json.error.type, 'api_error');
    up.reply({ status: 503, text: '<html>unavailable</html>' });
    const down = await postJson(`${stack.url}/v1/chat/completions`, { model: 'up-claude', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(down.status, 503);
    assert.equal(down.json.error.message, '<html>unavailable</html>', 'a non-JSON error body becomes the message, status kept');
  });
});

describe('translation routing', () => {
  let up: ScriptedUpstream;
  before(async () => {
    up = await startScriptedUpstream();
    up.reply({ json: { id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] } });
  });
  after(() => up.close());

  const providers = (u: string) => ({
    // "both" is served natively (Anthropic) and through translation (chat), at equal preference.
    zchat: { baseurl: u, apikey: 'sk-test-p', add_headers: ['X-Served-By: zchat'], models: ['both', 'pref'], preference: 1 },
    native: { baseurl: u, apikey: 'sk-ant-test-p', authorization: 'x-api-key', add_headers: ['X-Served-By: native'], models: ['both', 'pref'], preference: 1, compatibility: { openai_chat: false, anthropic_messages: true } },
    // For "pref" a translating provider with a higher preference wins over the native one.
    high: { baseurl: u, apikey: 'sk-test-p', add_headers: ['X-Served-By: high'], models: ['pref'], preference: 5 },
    multi: { baseurl: u, apikey: 'sk-test-p', add_headers: ['X-Served-By: multi'], models: ['multi-only'], compatibility: { openai_chat: false, openai_responses: true, gemini_generate_content: true } },
  });

  test('native wins at equal preference; a higher preference wins even if it must translate; several targets go by the documented order', async () => {
    const stack = await startStack(() => configText(providers(up.url)));
    try {
      const served = async (model: string) => {
        up.requests.length = 0;
        const res = await postJson(`${stack.url}/v1/messages`, { model, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
        return [res.headers.get('x-keyway-translation'), up.requests[0]?.headers['x-served-by'], up.requests[0]?.path];
      };
      up.reply({ json: { id: 'm1', type: 'message', role: 'assistant', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: { input_tokens: 1, output_tokens: 1 } } });
      assert.deepEqual(await served('both'), [null, 'native', '/v1/messages']);
      up.reply({ json: { id: 'c1', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }] } });
      assert.deepEqual(await served('pref'), ['openai_chat', 'high', '/v1/chat/completions']);
      assert.deepEqual(await served('zchat/both'), ['openai_chat', 'zchat', '/v1/chat/completions']);
      up.reply({ json: { id: 'r1', object: 'response', status: 'completed', model: 'm', output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'ok' }] }] } });
      assert.deepEqual(await served('multi-only'), ['openai_responses', 'multi', '/v1/responses'], 'Responses comes before Gemini');
      const explained = await fetch(`${stack.url}/api/explain?model=pref&format=anthropic_messages`).then((r) => r.json() as Promise<Json>);
      assert.equal(explained.provider, 'high');
      assert.match(explained.summary, /translated from anthropic_messages to openai_chat/);
      const listing = (await fetch(`${stack.url}/v1/models`).then((r) => r.json())) as { data: Json[] };
      const row = listing.data.find((r) => r.id === 'multi-only')!;
      assert.deepEqual(row.supported_endpoints, ['/v1/responses', '/v1beta/models/{model}:generateContent', '/v1/chat/completions', '/v1/messages']);
      assert.deepEqual(row.metadata.translated_endpoints, ['/v1/chat/completions', '/v1/messages']);
    } finally {
      await stack.close();
    }
  });

  test('--translation off: a client must speak the provider\'s API, as in Aperture', async () => {
    const stack = await startStack(() => configText(providers(up.url)), { settings: { translation: false } });
    try {
      const res = await postJson(`${stack.url}/v1/messages`, { model: 'pref', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
      assert.equal(res.status, 200, 'native still served');
      assert.equal(res.headers.get('x-keyway-translation'), null);
      const none = await postJson(`${stack.url}/v1/messages`, { model: 'multi-only', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
      assert.equal(none.status, 404);
      assert.equal(none.json.error.type, 'not_found_error');
      const listing = (await fetch(`${stack.url}/v1/models`).then((r) => r.json())) as { data: Json[] };
      const row = listing.data.find((r) => r.id === 'multi-only')!;
      assert.deepEqual(row.supported_endpoints, ['/v1/responses', '/v1beta/models/{model}:generateContent']);
      assert.deepEqual(row.metadata.translated_endpoints, []);
      const explained = (await fetch(`${stack.url}/api/explain?model=multi-only&format=anthropic_messages`).then((r) => r.json())) as Json;
      assert.equal(explained.served, false);
      assert.match(explained.summary, /translation is off/);
    } finally {
      await stack.close();
    }
  });
});
