/**
 * The pinned mapping decisions of docs/translation.md, checked on the codecs themselves
 * (pure functions, no server): stop reasons, usage, the keys each API's body may hold,
 * max_tokens rules and reasoning settings, for every format at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CanonRequest, CanonResponse, CanonStop } from '../src/translate/canonical.js';
import { codecFor, TARGET_ORDER, translationTarget } from '../src/translate/codecs.js';
import type { FormatFlag } from '../src/config/types.js';

const FLAGS: FormatFlag[] = ['anthropic_messages', 'openai_chat', 'openai_responses', 'gemini_generate_content'];
const codec = (flag: FormatFlag) => codecFor(flag)!;

function request(over: Partial<CanonRequest> = {}): CanonRequest {
  return {
    model: 'm', system: ['sys'], messages: [{ role: 'user', parts: [{ type: 'text', text: 'hi' }] }], tools: [], toolChoice: undefined, parallelToolCalls: undefined,
    maxTokens: undefined, temperature: undefined, topP: undefined, topK: undefined, stop: undefined, seed: undefined, presencePenalty: undefined, frequencyPenalty: undefined,
    stream: false, streamUsage: false, reasoning: undefined, output: undefined, user: undefined, ...over,
  };
}

function response(stop: CanonStop): CanonResponse {
  return { id: 'r1', model: 'm', content: [{ type: 'text', text: 'ok' }], stop, stopSequence: undefined, usage: { input: 100, output: 20, cacheRead: 30, cacheWrite: 10, reasoning: 5 } };
}

/** Where each API's answer says why it stopped. */
const STOP_OF: Record<string, (body: any) => unknown> = {
  anthropic_messages: (b) => b.stop_reason,
  openai_chat: (b) => b.choices[0].finish_reason,
  openai_responses: (b) => (b.status === 'incomplete' ? `incomplete:${b.incomplete_details.reason}` : b.status),
  gemini_generate_content: (b) => b.candidates[0].finishReason,
};

test('stop reasons: end_turn ⇄ stop ⇄ STOP; max_tokens ⇄ length ⇄ MAX_TOKENS ⇄ incomplete; tool_use ⇄ tool_calls', () => {
  const want: Record<string, Record<string, unknown>> = {
    end: { anthropic_messages: 'end_turn', openai_chat: 'stop', openai_responses: 'completed', gemini_generate_content: 'STOP' },
    max_tokens: { anthropic_messages: 'max_tokens', openai_chat: 'length', openai_responses: 'incomplete:max_output_tokens', gemini_generate_content: 'MAX_TOKENS' },
    tool_use: { anthropic_messages: 'tool_use', openai_chat: 'tool_calls', openai_responses: 'completed', gemini_generate_content: 'STOP' },
    stop_sequence: { anthropic_messages: 'stop_sequence', openai_chat: 'stop', openai_responses: 'completed', gemini_generate_content: 'STOP' },
    content_filter: { anthropic_messages: 'refusal', openai_chat: 'content_filter', openai_responses: 'incomplete:content_filter', gemini_generate_content: 'SAFETY' },
  };
  for (const [stop, names] of Object.entries(want)) {
    for (const flag of FLAGS) {
      const body = codec(flag).encodeResponse(response(stop as CanonStop), request());
      assert.equal(STOP_OF[flag]!(body), names[flag], `${stop} in ${flag}`);
      // …and read back to the same canonical reason (the lossy ones to their nearest).
      const back = codec(flag).decodeResponse(body)!.stop;
      const lossy = stop === 'stop_sequence' && flag !== 'anthropic_messages' ? 'end' : stop === 'tool_use' && (flag === 'openai_responses' || flag === 'gemini_generate_content') ? 'end' : stop === 'content_filter' && flag === 'anthropic_messages' ? 'refusal' : stop;
      assert.equal(back, lossy, `${stop} back from ${flag}`);
    }
  }
});

test('usage: OpenAI prompt_tokens = input + cache read + cache write, cached_tokens = cache read; Anthropic input excludes the cache', () => {
  const chat = codec('openai_chat').encodeResponse(response('end'), request()) as any;
  assert.equal(chat.usage.prompt_tokens, 100);
  assert.equal(chat.usage.prompt_tokens_details.cached_tokens, 30);
  assert.equal(chat.usage.completion_tokens_details.reasoning_tokens, 5);
  const anthropic = codec('anthropic_messages').encodeResponse(response('end'), request()) as any;
  assert.deepEqual(anthropic.usage, { input_tokens: 60, cache_creation_input_tokens: 10, cache_read_input_tokens: 30, output_tokens: 20 });
  assert.deepEqual(codec('anthropic_messages').decodeResponse(anthropic)!.usage, { input: 100, output: 20, cacheRead: 30, cacheWrite: 10, reasoning: 0 });
  const gemini = codec('gemini_generate_content').encodeResponse(response('end'), request()) as any;
  assert.deepEqual(gemini.usageMetadata, { promptTokenCount: 100, candidatesTokenCount: 15, thoughtsTokenCount: 5, cachedContentTokenCount: 30, totalTokenCount: 120 });
  const responses = codec('openai_responses').encodeResponse(response('end'), request()) as any;
  assert.deepEqual(responses.usage, { input_tokens: 100, input_tokens_details: { cached_tokens: 30 }, output_tokens: 20, output_tokens_details: { reasoning_tokens: 5 }, total_tokens: 120 });
});

/** The top-level keys each API documents for a request (what keyway may send). */
const DOCUMENTED: Record<string, string[]> = {
  anthropic_messages: ['model', 'max_tokens', 'messages', 'system', 'tools', 'tool_choice', 'stop_sequences', 'temperature', 'top_p', 'top_k', 'thinking', 'metadata', 'stream'],
  openai_chat: ['model', 'messages', 'tools', 'tool_choice', 'parallel_tool_calls', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop', 'seed', 'presence_penalty', 'frequency_penalty', 'user', 'reasoning_effort', 'response_format', 'stream', 'stream_options'],
  openai_responses: ['model', 'input', 'instructions', 'tools', 'tool_choice', 'parallel_tool_calls', 'max_output_tokens', 'temperature', 'top_p', 'user', 'reasoning', 'text', 'store', 'stream'],
  gemini_generate_content: ['contents', 'systemInstruction', 'tools', 'toolConfig', 'generationConfig'],
};

test('upstream bodies hold only keys their API documents, for a request that uses every canonical field', () => {
  const full = request({
    messages: [
      { role: 'user', parts: [{ type: 'text', text: 'hi' }] },
      { role: 'assistant', parts: [{ type: 'thinking', text: 't', signature: undefined }, { type: 'tool_call', id: 'c1', name: 'f', arguments: '{}' }] },
      { role: 'user', parts: [{ type: 'tool_result', id: 'c1', name: undefined, content: [{ type: 'text', text: 'r' }], isError: false }] },
      { role: 'system', parts: [{ type: 'text', text: 'mid' }] },
    ],
    tools: [{ name: 'f', description: 'd', parameters: { type: 'object' } }],
    toolChoice: { mode: 'required' }, parallelToolCalls: false, maxTokens: 5000, temperature: 0.2, topP: 0.9, topK: 5, seed: 1, presencePenalty: 0.1, frequencyPenalty: 0.1,
    stream: true, reasoning: { enabled: true, effort: 'medium', budgetTokens: undefined }, user: 'u',
  });
  for (const flag of FLAGS) {
    const req = flag === 'openai_responses' ? { ...full, stop: undefined } : { ...full, stop: ['END'] };
    const body = codec(flag).encodeRequest(req, 'up-model').body;
    for (const key of Object.keys(body)) assert.ok(DOCUMENTED[flag]!.includes(key), `${flag} body has "${key}"`);
  }
  // The mid-conversation system message is kept: in place for OpenAI, moved to the system prompt elsewhere.
  assert.deepEqual(codec('anthropic_messages').encodeRequest(full, 'x').body.system, [{ type: 'text', text: 'sys' }, { type: 'text', text: 'mid' }]);
  assert.equal((codec('openai_chat').encodeRequest(full, 'x').body.messages as any[]).at(-1).content, 'mid');
});

test('max_tokens: Anthropic gets the client\'s value or 4096; chat gets max_tokens (max_completion_tokens on api.openai.com); Responses max_output_tokens', () => {
  assert.equal(codec('anthropic_messages').encodeRequest(request(), 'x').body.max_tokens, 4096);
  assert.equal(codec('anthropic_messages').encodeRequest(request({ maxTokens: 77 }), 'x').body.max_tokens, 77);
  assert.equal(codec('openai_chat').encodeRequest(request({ maxTokens: 77 }), 'x', 'self-hosted').body.max_tokens, 77);
  assert.equal(codec('openai_chat').encodeRequest(request({ maxTokens: 77 }), 'x', 'openai').body.max_completion_tokens, 77);
  assert.equal(codec('openai_chat').encodeRequest(request(), 'x').body.max_tokens, undefined, 'no default toward OpenAI');
  assert.equal(codec('openai_responses').encodeRequest(request({ maxTokens: 77 }), 'x').body.max_output_tokens, 77);
  assert.equal((codec('gemini_generate_content').encodeRequest(request({ maxTokens: 77 }), 'x').body.generationConfig as any).maxOutputTokens, 77);
});

test('reasoning: effort ⇄ thinking budget ⇄ thinkingConfig, within Anthropic\'s limits', () => {
  const effort = (e: 'low' | 'medium' | 'high') => request({ maxTokens: 64000, reasoning: { enabled: true, effort: e, budgetTokens: undefined } });
  assert.deepEqual(codec('anthropic_messages').encodeRequest(effort('high'), 'x').body.thinking, { type: 'enabled', budget_tokens: 24576 });
  assert.deepEqual(codec('anthropic_messages').encodeRequest({ ...effort('high'), maxTokens: 2000 }, 'x').body.thinking, { type: 'enabled', budget_tokens: 1999 }, 'budget below max_tokens');
  assert.equal(codec('anthropic_messages').encodeRequest({ ...effort('low'), maxTokens: 1000 }, 'x').body.thinking, undefined, 'no room for the 1024 minimum');
  assert.equal(codec('openai_chat').encodeRequest(request({ reasoning: { enabled: true, effort: undefined, budgetTokens: 20000 } }), 'x').body.reasoning_effort, 'high');
  assert.equal(codec('openai_chat').encodeRequest(request({ reasoning: { enabled: true, effort: undefined, budgetTokens: undefined } }), 'x').body.reasoning_effort, undefined, 'adaptive thinking without a level: the model decides');
  assert.deepEqual((codec('gemini_generate_content').encodeRequest(effort('medium'), 'x').body.generationConfig as any).thinkingConfig, { thinkingBudget: 8192, includeThoughts: true });
  assert.deepEqual(codec('openai_responses').encodeRequest(effort('low'), 'x').body.reasoning, { effort: 'low', summary: 'auto' });
  // The client side: each API's setting read into the canonical one.
  assert.deepEqual(codec('openai_chat').decodeRequest({ model: 'm', messages: [], reasoning_effort: 'none' }, false).reasoning, { enabled: false, effort: undefined, budgetTokens: undefined });
  assert.deepEqual(codec('gemini_generate_content').decodeRequest({ contents: [], generationConfig: { thinkingConfig: { thinkingLevel: 'HIGH' } } }, false).reasoning, { enabled: true, effort: 'high', budgetTokens: undefined });
  assert.deepEqual(codec('anthropic_messages').decodeRequest({ model: 'm', messages: [], thinking: { type: 'adaptive' }, output_config: { effort: 'max' } }, false).reasoning, { enabled: true, effort: 'high', budgetTokens: undefined });
});

test('the target order: chat, Anthropic, Responses, Gemini; never the client\'s own format', () => {
  assert.deepEqual(TARGET_ORDER, ['openai_chat', 'anthropic_messages', 'openai_responses', 'gemini_generate_content']);
  assert.equal(translationTarget(new Set<FormatFlag>(['gemini_generate_content', 'openai_responses']), 'anthropic_messages'), 'openai_responses');
  assert.equal(translationTarget(new Set<FormatFlag>(['openai_chat', 'anthropic_messages']), 'openai_chat'), 'anthropic_messages');
  assert.equal(translationTarget(new Set<FormatFlag>(['bedrock_converse']), 'openai_chat'), undefined, 'formats without a codec are never targets');
  assert.equal(translationTarget(new Set<FormatFlag>(['openai_chat']), 'bedrock_converse'), undefined, 'nor translated from');
});
