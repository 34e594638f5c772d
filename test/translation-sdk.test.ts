/**
 * Protocol translation with the official SDKs, unmodified, as clients and the mock
 * upstream as the provider: every client format × every other provider format, JSON and
 * streamed, plain text and a tool call. Each case checks both sides: the path and body
 * the upstream received (in its own API), and what the SDK returned (in the client's).
 */
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RecordedRequest } from '../src/mock-upstream/index.js';
import { configText, startStack, type Stack } from './helpers.js';

type Json = Record<string, any>;

/** One provider per API, each the only one serving its model (keys fake, with each API's prefix). */
const PROVIDERS = (u: string) => ({
  chat: { baseurl: u, apikey: 'sk-test-provider-chat-0001', models: ['gpt-chat'], compatibility: { openai_chat: true } },
  responses: { baseurl: u, apikey: 'sk-test-provider-resp-0001', models: ['gpt-resp'], compatibility: { openai_chat: false, openai_responses: true } },
  anthropic: { baseurl: u, apikey: 'sk-ant-test-provider-0001', authorization: 'x-api-key', models: ['claude-only'], compatibility: { openai_chat: false, anthropic_messages: true } },
  gemini: { baseurl: u, apikey: 'AIza-test-provider-0001', authorization: 'x-goog-api-key', models: ['gemini-only'], compatibility: { openai_chat: false, gemini_generate_content: true } },
});

type Api = 'anthropic' | 'chat' | 'responses' | 'gemini';

interface Upstream {
  api: Api;
  model: string;
  /** The mock's name for its API, in its MOCK_OK answers. */
  mockName: string;
  path(stream: boolean): string;
  /** The system prompt as the upstream received it. */
  system(body: Json): unknown;
  /** The user's text as the upstream received it. */
  userText(body: Json): unknown;
}

const UPSTREAMS: Upstream[] = [
  {
    api: 'chat',
    model: 'gpt-chat',
    mockName: 'openai-chat',
    path: () => '/v1/chat/completions',
    system: (b) => b.messages[0].role === 'system' && b.messages[0].content,
    userText: (b) => b.messages[1].content,
  },
  {
    api: 'responses',
    model: 'gpt-resp',
    mockName: 'openai-responses',
    path: () => '/v1/responses',
    system: (b) => b.instructions,
    userText: (b) => b.input[0].content[0].text,
  },
  {
    api: 'anthropic',
    model: 'claude-only',
    mockName: 'anthropic',
    path: () => '/v1/messages',
    system: (b) => b.system[0].text,
    userText: (b) => b.messages[0].content[0].text,
  },
  {
    api: 'gemini',
    model: 'gemini-only',
    mockName: 'gemini',
    path: (stream) => `/v1beta/models/gemini-only:${stream ? 'streamGenerateContent' : 'generateContent'}`,
    system: (b) => b.systemInstruction.parts[0].text,
    userText: (b) => b.contents[0].parts[0].text,
  },
];

interface TextResult {
  text: string;
  inputTokens: number;
  outputTokens: number;
}

interface ToolResult {
  name: string;
  args: unknown;
  id: string;
  stop: string | undefined;
}

/** A client driver: the SDK calls a client of this API makes. */
interface Driver {
  api: Api;
  text(stack: Stack, model: string, stream: boolean): Promise<TextResult>;
  tool(stack: Stack, model: string, stream: boolean): Promise<ToolResult>;
  /** Rejects with the SDK's own error for an upstream status (via MOCK:error=N). */
  fail(stack: Stack, model: string, status: number, stream: boolean): Promise<unknown>;
  /** The error class this SDK raises for a status. */
  errorClass(status: number): new (...args: any[]) => Error;
  /** What the client stopping for a tool call is called in this API. */
  toolStop: string;
}

const SYSTEM = 'Answer briefly.';
const WEATHER_SCHEMA = { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] };

const anthropicDriver: Driver = {
  api: 'anthropic',
  toolStop: 'tool_use',
  async text(stack, model, stream) {
    const client = new Anthropic({ baseURL: stack.url, apiKey: 'sk-ant-test-client-0001', maxRetries: 0 });
    const params = { model, max_tokens: 100, system: SYSTEM, messages: [{ role: 'user' as const, content: 'hi there' }] };
    const msg = stream ? await client.messages.stream(params).finalMessage() : await client.messages.create(params);
    const text = msg.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    return { text, inputTokens: msg.usage.input_tokens, outputTokens: msg.usage.output_tokens };
  },
  async tool(stack, model, stream) {
    const client = new Anthropic({ baseURL: stack.url, apiKey: 'sk-ant-test-client-0001', maxRetries: 0 });
    const params = { model, max_tokens: 100, tools: [{ name: 'get_weather', description: 'weather in a city', input_schema: WEATHER_SCHEMA as Anthropic.Tool.InputSchema }], messages: [{ role: 'user' as const, content: 'weather in Paris? MOCK:tool' }] };
    const msg = stream ? await client.messages.stream(params).finalMessage() : await client.messages.create(params);
    const call = msg.content.find((b) => b.type === 'tool_use');
    assert.ok(call && call.type === 'tool_use', JSON.stringify(msg));
    return { name: call.name, args: call.input, id: call.id, stop: msg.stop_reason ?? undefined };
  },
  async fail(stack, model, status, stream) {
    const client = new Anthropic({ baseURL: stack.url, apiKey: 'sk-ant-test-client-0001', maxRetries: 0 });
    const params = { model, max_tokens: 10, messages: [{ role: 'user' as const, content: `MOCK:error=${status}` }] };
    return stream ? client.messages.stream(params).finalMessage() : client.messages.create(params);
  },
  errorClass: (status) => (status === 401 ? Anthropic.AuthenticationError : status === 429 ? Anthropic.RateLimitError : Anthropic.InternalServerError),
};

const chatDriver: Driver = {
  api: 'chat',
  toolStop: 'tool_calls',
  async text(stack, model, stream) {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'sk-test-client-0001', maxRetries: 0 });
    const messages = [{ role: 'system' as const, content: SYSTEM }, { role: 'user' as const, content: 'hi there' }];
    if (!stream) {
      const r = await client.chat.completions.create({ model, messages });
      return { text: r.choices[0]!.message.content ?? '', inputTokens: r.usage!.prompt_tokens, outputTokens: r.usage!.completion_tokens };
    }
    const chunks = await client.chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of chunks) {
      text += c.choices[0]?.delta?.content ?? '';
      if (c.usage) usage = c.usage;
    }
    assert.ok(usage, 'the usage chunk the client asked for');
    return { text, inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens };
  },
  async tool(stack, model, stream) {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'sk-test-client-0001', maxRetries: 0 });
    const params = { model, tools: [{ type: 'function' as const, function: { name: 'get_weather', description: 'weather in a city', parameters: WEATHER_SCHEMA } }], messages: [{ role: 'user' as const, content: 'weather in Paris? MOCK:tool' }] };
    const r = stream ? await client.chat.completions.stream(params).finalChatCompletion() : await client.chat.completions.create(params);
    const choice = r.choices[0]!;
    const call = choice.message.tool_calls?.[0];
    assert.ok(call && call.type === 'function', JSON.stringify(r));
    return { name: call.function.name, args: JSON.parse(call.function.arguments), id: call.id, stop: choice.finish_reason };
  },
  async fail(stack, model, status, stream) {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'sk-test-client-0001', maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: `MOCK:error=${status}` }];
    if (!stream) return client.chat.completions.create({ model, messages });
    for await (const _ of await client.chat.completions.create({ model, messages, stream: true })) void _;
  },
  errorClass: (status) => (status === 401 ? OpenAI.AuthenticationError : status === 429 ? OpenAI.RateLimitError : OpenAI.InternalServerError),
};

const responsesDriver: Driver = {
  api: 'responses',
  toolStop: 'completed',
  async text(stack, model, stream) {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'sk-test-client-0001', maxRetries: 0 });
    const params = { model, instructions: SYSTEM, input: 'hi there' };
    const r = stream ? await client.responses.stream(params).finalResponse() : await client.responses.create(params);
    return { text: r.output_text, inputTokens: r.usage!.input_tokens, outputTokens: r.usage!.output_tokens };
  },
  async tool(stack, model, stream) {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'sk-test-client-0001', maxRetries: 0 });
    const params = { model, tools: [{ type: 'function' as const, name: 'get_weather', description: 'weather in a city', parameters: WEATHER_SCHEMA, strict: false }], input: 'weather in Paris? MOCK:tool' };
    const r = stream ? await client.responses.stream(params).finalResponse() : await client.responses.create(params);
    const call = r.output.find((i) => i.type === 'function_call');
    assert.ok(call && call.type === 'function_call', JSON.stringify(r));
    return { name: call.name, args: JSON.parse(call.arguments), id: call.call_id, stop: r.status };
  },
  async fail(stack, model, status, stream) {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: 'sk-test-client-0001', maxRetries: 0 });
    const params = { model, input: `MOCK:error=${status}` };
    return stream ? client.responses.stream(params).finalResponse() : client.responses.create(params);
  },
  errorClass: chatDriver.errorClass,
};

const geminiDriver: Driver = {
  api: 'gemini',
  toolStop: 'STOP',
  async text(stack, model, stream) {
    const ai = new GoogleGenAI({ apiKey: 'AIza-test-client-0001', httpOptions: { baseUrl: stack.url } });
    const params = { model, contents: 'hi there', config: { systemInstruction: SYSTEM } };
    if (!stream) {
      const r = await ai.models.generateContent(params);
      return { text: r.text ?? '', inputTokens: r.usageMetadata?.promptTokenCount ?? 0, outputTokens: r.usageMetadata?.candidatesTokenCount ?? 0 };
    }
    let text = '';
    let usage: { promptTokenCount?: number; candidatesTokenCount?: number } | undefined;
    for await (const c of await ai.models.generateContentStream(params)) {
      text += c.text ?? '';
      if (c.usageMetadata) usage = c.usageMetadata;
    }
    return { text, inputTokens: usage?.promptTokenCount ?? 0, outputTokens: usage?.candidatesTokenCount ?? 0 };
  },
  async tool(stack, model, stream) {
    const ai = new GoogleGenAI({ apiKey: 'AIza-test-client-0001', httpOptions: { baseUrl: stack.url } });
    const params = { model, contents: 'weather in Paris? MOCK:tool', config: { tools: [{ functionDeclarations: [{ name: 'get_weather', description: 'weather in a city', parametersJsonSchema: WEATHER_SCHEMA }] }] } };
    let calls: Array<{ id?: string; name?: string; args?: unknown }> = [];
    let stop: string | undefined;
    if (!stream) {
      const r = await ai.models.generateContent(params);
      calls = r.functionCalls ?? [];
      stop = r.candidates?.[0]?.finishReason;
    } else {
      for await (const c of await ai.models.generateContentStream(params)) {
        calls.push(...(c.functionCalls ?? []));
        stop = c.candidates?.[0]?.finishReason ?? stop;
      }
    }
    assert.equal(calls.length, 1);
    return { name: calls[0]!.name ?? '', args: calls[0]!.args, id: calls[0]!.id ?? '', stop };
  },
  async fail(stack, model, status, stream) {
    const ai = new GoogleGenAI({ apiKey: 'AIza-test-client-0001', httpOptions: { baseUrl: stack.url } });
    const params = { model, contents: `MOCK:error=${status}` };
    if (!stream) return ai.models.generateContent(params);
    for await (const _ of await ai.models.generateContentStream(params)) void _;
  },
  errorClass: () => ApiError,
};

const DRIVERS = [anthropicDriver, chatDriver, responsesDriver, geminiDriver];

describe('translation: every SDK against every other API', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) => configText(PROVIDERS(u)));
  });
  after(() => stack.close());

  const last = (): RecordedRequest => stack.upstream.requests.at(-1)!;

  for (const driver of DRIVERS) {
    for (const up of UPSTREAMS) {
      if (up.api === driver.api) continue;
      for (const stream of [false, true]) {
        const mode = stream ? 'stream' : 'JSON';
        test(`${driver.api} client → ${up.api} upstream, ${mode}: text, system prompt, usage`, async () => {
          stack.upstream.reset();
          const got = await driver.text(stack, up.model, stream);
          assert.equal(got.text, `MOCK_OK (${up.mockName} ${up.model})`);
          assert.ok(got.inputTokens > 0 && got.outputTokens > 0, `usage reached the client: ${JSON.stringify(got)}`);
          assert.equal(stack.upstream.requests.length, 1, 'one upstream call');
          const sent = last();
          assert.equal(sent.path, up.path(stream));
          if (up.api === 'gemini') assert.equal(sent.query, stream ? '?alt=sse' : '');
          const body = sent.json as Json;
          assert.equal(up.system(body), SYSTEM);
          assert.equal(up.userText(body), 'hi there');
          if (up.api !== 'gemini') assert.equal(body.model, up.model);
          if (up.api === 'anthropic') assert.equal(typeof body.max_tokens, 'number', 'Anthropic needs max_tokens');
          if (stream && up.api !== 'gemini') assert.equal(body.stream, true);
          if (stream && up.api === 'chat') assert.deepEqual(body.stream_options, { include_usage: true });
          // The provider's key in the provider's header style; the client's own key never.
          const headers = sent.headers;
          assert.ok(!JSON.stringify(headers).includes('client-0001'), 'the client key stays with keyway (override)');
          if (up.api === 'anthropic') assert.equal(headers['anthropic-version'], '2023-06-01');
          else assert.equal(headers['anthropic-version'], undefined);
        });

        test(`${driver.api} client → ${up.api} upstream, ${mode}: a tool call with its arguments and id`, async () => {
          stack.upstream.reset();
          const got = await driver.tool(stack, up.model, stream);
          assert.equal(got.name, 'get_weather');
          assert.deepEqual(got.args, { location: 'Paris' });
          assert.equal(got.stop, driver.toolStop);
          assert.ok(got.id !== '', 'the call has an id');
          const body = last().json as Json;
          const toolNames = up.api === 'chat' ? body.tools.map((t: Json) => t.function.name) : up.api === 'gemini' ? body.tools[0].functionDeclarations.map((t: Json) => t.name) : body.tools.map((t: Json) => t.name);
          assert.deepEqual(toolNames, ['get_weather']);
          const schema = up.api === 'chat' ? body.tools[0].function.parameters : up.api === 'anthropic' ? body.tools[0].input_schema : up.api === 'gemini' ? body.tools[0].functionDeclarations[0].parametersJsonSchema : body.tools[0].parameters;
          assert.deepEqual(schema, WEATHER_SCHEMA);
        });
      }

      for (const status of [401, 429, 500]) {
        test(`${driver.api} client → ${up.api} upstream: upstream ${status} is the SDK's own error, status kept`, async () => {
          const errorClass = driver.errorClass(status);
          await assert.rejects(driver.fail(stack, up.model, status, false), (err: unknown) => {
            assert.ok(err instanceof errorClass, `${(err as Error).constructor.name}: ${(err as Error).message}`);
            assert.equal((err as { status?: number }).status, status);
            return true;
          });
        });
      }
    }
  }

  test('429 keeps Retry-After and arrives in the caller\'s envelope', async () => {
    const res = await fetch(`${stack.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-chat', max_tokens: 10, messages: [{ role: 'user', content: 'MOCK:error=429' }] }),
    });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(res.headers.get('x-keyway-translation'), 'openai_chat');
    const body = (await res.json()) as Json;
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'rate_limit_error');
    assert.equal(body.error.message, 'mock rate limit reached', 'the provider\'s own words');
  });
});
