// The four response readers (formats/*-usage.ts) fed with real bytes from the mock upstream
// through SseParser, as the telemetry tap does: JSON answers, streams, tool calls, cached
// tokens and streams cut in the middle. Shapes the mock never sends (thinking, web search,
// TTL breakdowns, reasoning tokens…) are covered by hand-written events further down.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicMessages } from '../src/formats/anthropic-messages.js';
import { geminiGenerateContent } from '../src/formats/gemini.js';
import { openaiChat } from '../src/formats/openai-chat.js';
import { openaiResponses } from '../src/formats/openai-responses.js';
import type { ApiFormat } from '../src/formats/types.js';
import { startMockUpstream, type MockUpstream } from '../src/mock-upstream/index.js';
import { SseParser } from '../src/telemetry/sse-parser.js';
import { ZERO_USAGE, type ResponseSummary, type Usage } from '../src/telemetry/usage.js';

let mock: MockUpstream;
before(async () => {
  mock = await startMockUpstream({ record: false });
});
after(() => mock.close());

interface Answer {
  contentType: string;
  chunks: Buffer[];
  /** The body ended early (die-midstream). */
  cut: boolean;
  /** Input tokens the mock charges for this request body (about 4 bytes per token). */
  promptTokens: number;
}

/** call POSTs `body` to the mock and collects the raw answer bytes, however the answer ends. */
async function call(path: string, body: unknown, scenario?: string): Promise<Answer> {
  const text = JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (scenario) headers['x-mock-scenario'] = scenario;
  const res = await fetch(mock.url + path, { method: 'POST', headers, body: text });
  assert.equal(res.status, 200);
  const chunks: Buffer[] = [];
  let cut = false;
  const reader = res.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(Buffer.from(value));
    }
  } catch {
    cut = true;
  }
  return { contentType: res.headers.get('content-type') ?? '', chunks, cut, promptTokens: Math.ceil(Buffer.byteLength(text) / 4) };
}

/** summarize feeds an answer to a fresh reader the way the telemetry tap does. */
function summarize(format: ApiFormat, answer: Answer, chunks: Buffer[] = answer.chunks): ResponseSummary {
  const reader = format.createResponseReader();
  if (answer.contentType.startsWith('text/event-stream')) {
    const sse = new SseParser((event, data) => reader.sseEvent(event, data));
    for (const c of chunks) sse.push(c);
    sse.end();
  } else {
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      body = undefined;
    }
    if (body !== undefined) reader.json(body);
  }
  return reader.finish();
}

function usage(fields: Partial<Usage>): Usage {
  return { ...ZERO_USAGE, ...fields };
}

const SHELL_ARGS = '{"command":"echo TOOL_RAN_42"}';
const COMMAND_SCHEMA = { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] };

interface FormatUnderTest {
  name: string;
  format: ApiFormat;
  model: string;
  /** Path and body of a request, streaming or not. */
  request(stream: boolean): { path: string; body: unknown };
  /** The reply text inside a reassembled answer. */
  textOf(reassembled: unknown): string | undefined;
  /** Expected usage for `promptTokens` input, `output` output tokens, and cache scenario values. */
  usage(promptTokens: number, output: number, cacheRead: number, cacheWrite: number): Usage;
  stop: { text: string; tool: string };
}

// Reassembled answers are plain JSON; tests walk them with `any` for brevity.
const FORMATS: FormatUnderTest[] = [
  {
    name: 'anthropic',
    format: anthropicMessages,
    model: 'claude-test',
    request: (stream) => ({
      path: '/v1/messages',
      body: { model: 'claude-test', max_tokens: 100, stream, messages: [{ role: 'user', content: 'hi' }], tools: [{ name: 'Bash', input_schema: COMMAND_SCHEMA }] },
    }),
    textOf: (r: any) => r?.content?.[0]?.text,
    // Anthropic's input_tokens excludes the cache; keyway's inputTokens includes it.
    usage: (p, out, read, write) => usage({ inputTokens: p + read + write, outputTokens: out, cacheReadTokens: read, cacheWrite5mTokens: write }),
    stop: { text: 'end_turn', tool: 'tool_use' },
  },
  {
    name: 'openai chat',
    format: openaiChat,
    model: 'gpt-test',
    request: (stream) => ({
      path: '/v1/chat/completions',
      body: {
        model: 'gpt-test',
        stream,
        ...(stream ? { stream_options: { include_usage: true } } : {}),
        messages: [{ role: 'user', content: 'hi' }],
        tools: [{ type: 'function', function: { name: 'Bash', parameters: COMMAND_SCHEMA } }],
      },
    }),
    textOf: (r: any) => r?.choices?.[0]?.message?.content,
    // The mock reports no cache writes for OpenAI.
    usage: (p, out, read) => usage({ inputTokens: p, outputTokens: out, cacheReadTokens: read }),
    stop: { text: 'stop', tool: 'tool_calls' },
  },
  {
    name: 'openai responses',
    format: openaiResponses,
    model: 'gpt-test',
    request: (stream) => ({
      path: '/v1/responses',
      body: { model: 'gpt-test', stream, input: 'hi', tools: [{ type: 'function', name: 'Bash', parameters: COMMAND_SCHEMA }] },
    }),
    textOf: (r: any) => r?.output?.[0]?.content?.[0]?.text,
    usage: (p, out, read) => usage({ inputTokens: p, outputTokens: out, cacheReadTokens: read }),
    stop: { text: 'completed', tool: 'completed' },
  },
  {
    name: 'gemini',
    format: geminiGenerateContent,
    model: 'gemini-test',
    request: (stream) => ({
      path: stream ? '/v1beta/models/gemini-test:streamGenerateContent?alt=sse' : '/v1beta/models/gemini-test:generateContent',
      body: {
        contents: [{ role: 'user', parts: [{ text: 'hi' }] }],
        tools: [{ functionDeclarations: [{ name: 'Bash', parameters: COMMAND_SCHEMA }] }],
      },
    }),
    textOf: (r: any) => r?.candidates?.[0]?.content?.parts?.[0]?.text,
    usage: (p, out, read) => usage({ inputTokens: p, outputTokens: out, cacheReadTokens: read }),
    stop: { text: 'STOP', tool: 'STOP' },
  },
];

const textFor = (f: FormatUnderTest): string => `MOCK_OK (${f.format === openaiChat ? 'openai-chat' : f.format === openaiResponses ? 'openai-responses' : f.name} ${f.model})`;

interface Case {
  name: string;
  stream: boolean;
  scenario?: string;
  /** Output tokens the mock reports (the number of deltas, 1 for a Gemini tool call). */
  output: number;
  tool?: boolean;
  cacheRead?: number;
  cacheWrite?: number;
}

const CASES: Case[] = [
  { name: 'JSON answer', stream: false, output: 3 },
  { name: 'JSON tool call', stream: false, scenario: 'tool', output: 3, tool: true },
  { name: 'JSON with cached tokens', stream: false, scenario: 'cache-read=40,cache-write=7', output: 3, cacheRead: 40, cacheWrite: 7 },
  { name: 'stream', stream: true, scenario: 'chunks=5', output: 5 },
  { name: 'stream of one chunk', stream: true, scenario: 'chunks=1', output: 1 },
  { name: 'stream tool call', stream: true, scenario: 'tool,chunks=4', output: 4, tool: true },
  { name: 'stream with cached tokens', stream: true, scenario: 'cache-read=1000,cache-write=200', output: 3, cacheRead: 1000, cacheWrite: 200 },
];

for (const f of FORMATS) {
  for (const c of CASES) {
    test(`${f.name} reader: ${c.name}`, async () => {
      const { path, body } = f.request(c.stream);
      const answer = await call(path, body, c.scenario);
      assert.equal(answer.cut, false);
      assert.equal(answer.contentType.startsWith('text/event-stream'), c.stream);
      const s = summarize(f.format, answer);
      // Gemini never streams a function call: it comes whole in one chunk and counts 1 token.
      const output = c.tool && f.format === geminiGenerateContent ? 1 : c.output;
      assert.deepEqual(s.usage, f.usage(answer.promptTokens, output, c.cacheRead ?? 0, c.cacheWrite ?? 0));
      assert.equal(s.model, f.model);
      if (c.tool) {
        assert.deepEqual(s.toolCalls, [{ name: 'Bash', arguments: SHELL_ARGS }]);
        assert.equal(s.stopReason, f.stop.tool);
      } else {
        assert.deepEqual(s.toolCalls, []);
        assert.equal(s.stopReason, f.stop.text);
        assert.equal(f.textOf(s.reassembled), textFor(f));
      }
      if (!c.stream) assert.deepEqual(s.reassembled, JSON.parse(Buffer.concat(answer.chunks).toString('utf8')));
    });
  }

  test(`${f.name} reader: a reassembled stream matches the JSON answer`, async () => {
    const json = summarize(f.format, await call(f.request(false).path, f.request(false).body, 'tool'));
    const streamed = summarize(f.format, await call(f.request(true).path, f.request(true).body, 'tool,chunks=6'));
    assert.deepEqual(streamed.toolCalls, json.toolCalls);
    const text = (s: ResponseSummary) => f.textOf(s.reassembled);
    const a = summarize(f.format, await call(f.request(false).path, f.request(false).body, 'chunks=4'));
    const b = summarize(f.format, await call(f.request(true).path, f.request(true).body, 'chunks=4'));
    assert.equal(text(b), text(a));
    // Input tokens differ: the two request bodies differ in size.
    assert.equal(b.usage?.outputTokens, a.usage?.outputTokens);
    if (f.format === anthropicMessages) {
      // The stream's message is the JSON message, field for field (except the id and
      // the body-size-based input count, which differ per request).
      const strip = (m: any) => ({ ...m, id: undefined, usage: { ...m.usage, input_tokens: undefined } });
      assert.deepEqual(strip(b.reassembled), strip(a.reassembled));
    }
  });

  test(`${f.name} reader: one byte per chunk gives the same summary`, async () => {
    const { path, body } = f.request(true);
    const answer = await call(path, body, 'tool,chunks=3');
    const whole = summarize(f.format, answer);
    const bytes = Buffer.concat(answer.chunks);
    const single: Buffer[] = [];
    for (let i = 0; i < bytes.length; i++) single.push(bytes.subarray(i, i + 1));
    assert.deepEqual(summarize(f.format, answer, single), whole);
    assert.deepEqual(summarize(f.format, answer, [bytes]), whole);
  });
}

// ---------------------------------------------------------------- interrupted streams

test('anthropic reader: a stream cut after message_start keeps the input tokens', async () => {
  const { path, body } = FORMATS[0]!.request(true);
  const answer = await call(path, body, 'die-midstream,chunks=3,cache-read=10');
  assert.equal(answer.cut, true);
  const s = summarize(anthropicMessages, answer);
  // message_start reports output_tokens: 1 before any delta.
  assert.deepEqual(s.usage, usage({ inputTokens: answer.promptTokens + 10, outputTokens: 1, cacheReadTokens: 10 }));
  assert.equal(s.stopReason, undefined);
  assert.equal(s.model, 'claude-test');
  const text = FORMATS[0]!.textOf(s.reassembled)!;
  assert.ok(text.length > 0 && textFor(FORMATS[0]!).startsWith(text) && text !== textFor(FORMATS[0]!), text);
});

test('anthropic reader: a tool call cut mid-arguments keeps what was written', async () => {
  const { path, body } = FORMATS[0]!.request(true);
  const s = summarize(anthropicMessages, await call(path, body, 'die-midstream,tool,chunks=3'));
  assert.equal(s.toolCalls.length, 1);
  assert.equal(s.toolCalls[0]!.name, 'Bash');
  assert.ok(SHELL_ARGS.startsWith(s.toolCalls[0]!.arguments!) && s.toolCalls[0]!.arguments !== SHELL_ARGS);
  // Unparseable partial input is kept as text in the capture.
  assert.equal((s.reassembled as any).content[0].input, s.toolCalls[0]!.arguments);
});

test('openai chat reader: a stream cut before the usage chunk has no usage but keeps the text', async () => {
  const f = FORMATS[1]!;
  const { path, body } = f.request(true);
  const answer = await call(path, body, 'die-midstream,chunks=3');
  assert.equal(answer.cut, true);
  const s = summarize(openaiChat, answer);
  assert.equal(s.usage, undefined);
  assert.equal(s.stopReason, undefined);
  assert.equal(s.model, 'gpt-test');
  const text = f.textOf(s.reassembled)!;
  assert.ok(text.length > 0 && textFor(f).startsWith(text) && text !== textFor(f), text);
  assert.equal((s.reassembled as any).object, 'chat.completion');
});

test('openai chat reader: a stream without include_usage has no usage', async () => {
  const answer = await call('/v1/chat/completions', { model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  const s = summarize(openaiChat, answer);
  assert.equal(s.usage, undefined);
  assert.equal(s.stopReason, 'stop');
  assert.equal(FORMATS[1]!.textOf(s.reassembled), textFor(FORMATS[1]!));
});

test('openai responses reader: a cut stream is rebuilt from its items, without usage', async () => {
  const f = FORMATS[2]!;
  const { path, body } = f.request(true);
  const answer = await call(path, body, 'die-midstream,chunks=3');
  assert.equal(answer.cut, true);
  const s = summarize(openaiResponses, answer);
  assert.equal(s.usage, undefined);
  assert.equal(s.stopReason, undefined);
  assert.equal(s.model, 'gpt-test');
  const text = f.textOf(s.reassembled)!;
  assert.ok(text.length > 0 && textFor(f).startsWith(text) && text !== textFor(f), text);

  const tool = summarize(openaiResponses, await call(path, body, 'die-midstream,tool,chunks=3'));
  assert.equal(tool.toolCalls.length, 1);
  assert.equal(tool.toolCalls[0]!.name, 'Bash');
  assert.ok(SHELL_ARGS.startsWith(tool.toolCalls[0]!.arguments!));
});

test('gemini reader: a cut stream keeps the running usage of the last chunk', async () => {
  const f = FORMATS[3]!;
  const { path, body } = f.request(true);
  const answer = await call(path, body, 'die-midstream,chunks=4');
  assert.equal(answer.cut, true);
  const s = summarize(geminiGenerateContent, answer);
  assert.deepEqual(s.usage, usage({ inputTokens: answer.promptTokens, outputTokens: 2 }));
  assert.equal(s.stopReason, undefined);
  const text = f.textOf(s.reassembled)!;
  assert.ok(text.length > 0 && textFor(f).startsWith(text) && text !== textFor(f), text);
});

test('gemini reader: streamGenerateContent without alt=sse is a JSON array', async () => {
  const f = FORMATS[3]!;
  const { body } = f.request(true);
  const answer = await call('/v1beta/models/gemini-test:streamGenerateContent', body, 'chunks=4');
  assert.ok(answer.contentType.startsWith('application/json'));
  const s = summarize(geminiGenerateContent, answer);
  assert.deepEqual(s.usage, usage({ inputTokens: answer.promptTokens, outputTokens: 4 }));
  assert.equal(s.stopReason, 'STOP');
  assert.equal(s.model, 'gemini-test');
  assert.equal(f.textOf(s.reassembled), textFor(f));
  assert.equal((s.reassembled as any).candidates[0].content.parts.length, 1);
});

// ---------------------------------------------------------------- shapes the mock does not send

/** feed runs hand-written SSE text through the parser into a fresh reader. */
function feed(format: ApiFormat, sse: string): ResponseSummary {
  const reader = format.createResponseReader();
  const parser = new SseParser((event, data) => reader.sseEvent(event, data));
  parser.push(sse);
  parser.end();
  return reader.finish();
}

const ev = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const dataOnly = (data: unknown): string => `data: ${JSON.stringify(data)}\n\n`;

test('anthropic reader: TTL breakdown, usage repeated in message_delta, thinking and web search', () => {
  const s = feed(
    anthropicMessages,
    ev('message_start', {
      type: 'message_start',
      message: {
        id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-opus-4-1', content: [], stop_reason: null,
        usage: { input_tokens: 12, cache_read_input_tokens: 100, cache_creation_input_tokens: 50, cache_creation: { ephemeral_5m_input_tokens: 20, ephemeral_1h_input_tokens: 30 }, output_tokens: 1 },
      },
    }) +
      ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }) +
      ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Let me ' } }) +
      ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'think.' } }) +
      ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig==' } }) +
      ev('content_block_stop', { type: 'content_block_stop', index: 0 }) +
      ev('content_block_start', { type: 'content_block_start', index: 1, content_block: { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: {} } }) +
      ev('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"query":' } }) +
      ev('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"keyway"}' } }) +
      ev('content_block_start', { type: 'content_block_start', index: 2, content_block: { type: 'text', text: '' } }) +
      ev('ping', { type: 'ping' }) +
      ev('content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'text_delta', text: 'Hello' } }) +
      ev('content_block_start', { type: 'content_block_start', index: 3, content_block: { type: 'tool_use', id: 'toolu_1', name: 'noargs', input: {} } }) +
      ev('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: 'tool_use', stop_sequence: null },
        // Newer API versions repeat the input-side counts here (cumulative, not increments).
        usage: { input_tokens: 12, cache_read_input_tokens: 100, cache_creation_input_tokens: 50, output_tokens: 321, output_tokens_details: { thinking_tokens: 200 }, server_tool_use: { web_search_requests: 2 } },
      }) +
      ev('message_stop', { type: 'message_stop' }),
  );
  assert.deepEqual(s.usage, usage({ inputTokens: 162, outputTokens: 321, cacheReadTokens: 100, cacheWrite5mTokens: 20, cacheWrite1hTokens: 30, reasoningTokens: 200, webSearchCount: 2 }));
  assert.equal(s.stopReason, 'tool_use');
  assert.equal(s.model, 'claude-opus-4-1');
  // server_tool_use runs at Anthropic: counted as a web search, not as a client tool call.
  assert.deepEqual(s.toolCalls, [{ name: 'noargs', arguments: '{}' }]);
  const r = s.reassembled as any;
  assert.deepEqual(r.content[0], { type: 'thinking', thinking: 'Let me think.', signature: 'sig==' });
  assert.deepEqual(r.content[1].input, { query: 'keyway' });
  assert.equal(r.content[2].text, 'Hello');
  assert.equal(r.stop_reason, 'tool_use');
  assert.equal(r.usage.output_tokens, 321);
  assert.equal(r.usage.cache_creation.ephemeral_1h_input_tokens, 30);
});

test('readers: nothing read gives an empty summary, and finish() can be called twice', () => {
  for (const f of FORMATS) {
    const reader = f.format.createResponseReader();
    const empty = reader.finish();
    assert.deepEqual(empty, { usage: undefined, model: undefined, toolCalls: [], stopReason: undefined, reassembled: undefined }, f.name);
  }
  const reader = anthropicMessages.createResponseReader();
  reader.sseEvent('message_start', JSON.stringify({ type: 'message_start', message: { model: 'm', content: [], usage: { input_tokens: 3, output_tokens: 1 } } }));
  reader.sseEvent('content_block_start', JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }));
  reader.sseEvent('content_block_delta', JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'ab' } }));
  assert.deepEqual(reader.finish(), reader.finish());
});

test('anthropic reader: a JSON error answer has no usage', () => {
  const reader = anthropicMessages.createResponseReader();
  reader.json({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
  const s = reader.finish();
  assert.equal(s.usage, undefined);
  assert.deepEqual(s.toolCalls, []);
});

test('openai chat reader: interleaved tool calls, reasoning tokens and a usage chunk', () => {
  const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-5-2025', system_fingerprint: 'fp' };
  const chunk = (delta: unknown, finish: string | null = null) => dataOnly({ ...head, choices: [{ index: 0, delta, finish_reason: finish }], usage: null });
  const s = feed(
    openaiChat,
    chunk({ role: 'assistant', content: null }) +
      chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '' } }] }) +
      chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'b', arguments: '{"x"' } }] }) +
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] }) +
      chunk({ tool_calls: [{ index: 1, function: { arguments: ':1}' } }] }) +
      chunk({}, 'tool_calls') +
      dataOnly({ ...head, choices: [], usage: { prompt_tokens: 900, completion_tokens: 80, total_tokens: 980, prompt_tokens_details: { cached_tokens: 512 }, completion_tokens_details: { reasoning_tokens: 64 } } }) +
      'data: [DONE]\n\n',
  );
  assert.deepEqual(s.usage, usage({ inputTokens: 900, outputTokens: 80, cacheReadTokens: 512, reasoningTokens: 64 }));
  assert.deepEqual(s.toolCalls, [
    { name: 'a', arguments: '{}' },
    { name: 'b', arguments: '{"x":1}' },
  ]);
  assert.equal(s.stopReason, 'tool_calls');
  assert.equal(s.model, 'gpt-5-2025');
  const r = s.reassembled as any;
  assert.equal(r.choices[0].message.content, null);
  assert.deepEqual(r.choices[0].message.tool_calls[1], { id: 'call_b', type: 'function', function: { name: 'b', arguments: '{"x":1}' } });
  assert.equal(r.system_fingerprint, 'fp');
  assert.equal(r.usage.total_tokens, 980);
});

test('openai chat reader: an error event in the stream is not a chunk', () => {
  const s = feed(openaiChat, dataOnly({ error: { message: 'upstream overloaded', type: 'server_error', code: null } }));
  assert.deepEqual(s, { usage: undefined, model: undefined, toolCalls: [], stopReason: undefined, reassembled: undefined });
});

test('openai responses reader: web searches, reasoning, incomplete status', () => {
  const base = { id: 'resp_1', object: 'response', model: 'gpt-5-2025', status: 'in_progress', output: [], usage: null };
  const output = [
    { type: 'reasoning', id: 'rs_1', summary: [] },
    { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'a' } },
    { type: 'web_search_call', id: 'ws_2', status: 'completed', action: { type: 'search', query: 'b' } },
    { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'lookup', arguments: '{"q":1}', status: 'completed' },
    { type: 'custom_tool_call', id: 'ct_1', call_id: 'call_2', name: 'apply_patch', input: '*** Begin Patch' },
  ];
  const final = {
    ...base,
    status: 'incomplete',
    incomplete_details: { reason: 'max_output_tokens' },
    output,
    usage: { input_tokens: 5000, input_tokens_details: { cached_tokens: 4096 }, output_tokens: 700, output_tokens_details: { reasoning_tokens: 600 }, total_tokens: 5700 },
  };
  const s = feed(
    openaiResponses,
    ev('response.created', { type: 'response.created', sequence_number: 0, response: base }) +
      ev('response.web_search_call.searching', { type: 'response.web_search_call.searching', item_id: 'ws_1', output_index: 1 }) +
      ev('response.incomplete', { type: 'response.incomplete', sequence_number: 9, response: final }),
  );
  assert.deepEqual(s.usage, usage({ inputTokens: 5000, outputTokens: 700, cacheReadTokens: 4096, reasoningTokens: 600, webSearchCount: 2 }));
  assert.equal(s.stopReason, 'max_output_tokens');
  assert.deepEqual(s.toolCalls, [
    { name: 'lookup', arguments: '{"q":1}' },
    { name: 'apply_patch', arguments: '*** Begin Patch' },
  ]);
  assert.deepEqual(s.reassembled, final);
});

test('openai responses reader: a final response with empty output uses the streamed items', () => {
  const base = { id: 'resp_1', object: 'response', model: 'gpt-5-codex', status: 'in_progress', output: [], usage: null };
  const item = { type: 'function_call', id: 'fc_1', call_id: 'c', name: 'shell', arguments: '{"cmd":"ls"}', status: 'completed' };
  const s = feed(
    openaiResponses,
    ev('response.created', { type: 'response.created', response: base }) +
      ev('response.output_item.added', { type: 'response.output_item.added', output_index: 0, item: { ...item, arguments: '', status: 'in_progress' } }) +
      ev('response.output_item.done', { type: 'response.output_item.done', output_index: 0, item }) +
      ev('response.completed', { type: 'response.completed', response: { ...base, status: 'completed', usage: { input_tokens: 10, output_tokens: 5 } } }),
  );
  assert.deepEqual(s.toolCalls, [{ name: 'shell', arguments: '{"cmd":"ls"}' }]);
  assert.deepEqual((s.reassembled as any).output, [item]);
  assert.deepEqual(s.usage, usage({ inputTokens: 10, outputTokens: 5 }));
  assert.equal(s.stopReason, 'completed');
});

test('gemini reader: thoughts, tool-use prompt tokens, merged parts and grounding', () => {
  const meta = (candidates: number) => ({ promptTokenCount: 300, cachedContentTokenCount: 256, toolUsePromptTokenCount: 40, candidatesTokenCount: candidates, thoughtsTokenCount: 90 });
  const chunk = (parts: unknown[], extra: Record<string, unknown> = {}, candidates = 5) =>
    `data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts }, index: 0, ...extra }], usageMetadata: meta(candidates), modelVersion: 'gemini-2.5-pro', responseId: 'r1' })}\r\n\r\n`;
  const s = feed(
    geminiGenerateContent,
    chunk([{ text: 'Thinking ', thought: true }]) +
      chunk([{ text: 'hard.', thought: true }]) +
      chunk([{ text: 'The ' }]) +
      chunk([{ text: 'answer.', thoughtSignature: 'sig' }]) +
      chunk([{ functionCall: { name: 'lookup', args: { q: 'x' } } }], { finishReason: 'STOP', groundingMetadata: { webSearchQueries: ['a', 'b'] } }, 12),
  );
  assert.deepEqual(s.usage, usage({ inputTokens: 340, outputTokens: 102, cacheReadTokens: 256, reasoningTokens: 90, webSearchCount: 2 }));
  assert.deepEqual(s.toolCalls, [{ name: 'lookup', arguments: '{"q":"x"}' }]);
  assert.equal(s.stopReason, 'STOP');
  assert.equal(s.model, 'gemini-2.5-pro');
  const r = s.reassembled as any;
  assert.deepEqual(r.candidates[0].content.parts, [
    { text: 'Thinking hard.', thought: true },
    { text: 'The answer.', thoughtSignature: 'sig' },
    { functionCall: { name: 'lookup', args: { q: 'x' } } },
  ]);
  assert.equal(r.responseId, 'r1');
  assert.equal(r.usageMetadata.candidatesTokenCount, 12);
});

test('gemini reader: a blocked prompt reports the block reason', () => {
  const reader = geminiGenerateContent.createResponseReader();
  reader.json({ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 8, totalTokenCount: 8 } });
  const s = reader.finish();
  assert.equal(s.stopReason, 'SAFETY');
  assert.deepEqual(s.usage, usage({ inputTokens: 8 }));
});

// ---------------------------------------------------------------- never throw

const JUNK: Array<[string | undefined, string]> = [
  [undefined, ''],
  [undefined, 'not json'],
  [undefined, '[DONE]'],
  [undefined, 'null'],
  [undefined, '42'],
  [undefined, '[1,2,{"a":null}]'],
  ['message_start', '{"type":"message_start","message":null}'],
  ['message_start', '{"type":"message_start","message":{"usage":"lots","model":7}}'],
  ['content_block_delta', '{"type":"content_block_delta","index":99,"delta":{"type":"text_delta","text":"x"}}'],
  ['content_block_delta', '{"type":"content_block_delta","index":-1,"delta":null}'],
  ['content_block_start', '{"type":"content_block_start","index":"zero","content_block":[]}'],
  ['message_delta', '{"type":"message_delta","delta":7,"usage":{"output_tokens":"many"}}'],
  [undefined, '{"choices":[null,5,{"index":"x","delta":{"tool_calls":[null,{"index":-3,"function":9}],"content":5}}],"usage":[]}'],
  [undefined, '{"choices":{"0":{}},"usage":{"prompt_tokens":-1,"completion_tokens":NaN}}'],
  ['response.output_text.delta', '{"type":"response.output_text.delta","output_index":5,"delta":"x"}'],
  ['response.output_item.done', '{"type":"response.output_item.done","output_index":0,"item":"nope"}'],
  ['response.completed', '{"type":"response.completed","response":{"output":"x","usage":{"input_tokens":{}}}}'],
  [undefined, '{"candidates":[null,{"content":{"parts":[null,{"text":5},{"functionCall":{"name":3}}]}}],"usageMetadata":"x"}'],
  ['error', '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'],
  ['some_future_event', '{"type":"some_future_event","usage":{"input_tokens":1}}'],
];

for (const f of FORMATS) {
  test(`${f.name} reader: malformed and unknown input never throws`, () => {
    const reader = f.format.createResponseReader();
    for (const [event, data] of JUNK) reader.sseEvent(event, data);
    for (const body of [undefined, null, 'text', 5, [], [null, 'x'], { usage: 'x', choices: 'y', content: 'z', output: 1, candidates: {} }]) reader.json(body);
    const s = reader.finish();
    assert.ok(Array.isArray(s.toolCalls));
    assert.doesNotThrow(() => JSON.stringify(s.reassembled));
  });
}
