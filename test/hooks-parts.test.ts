/**
 * The parts of hooks that need no network: the Bedrock envelope of a block and of a
 * fail_closed failure (keyway serves no Bedrock format yet; its module will use these),
 * `user_message` per format, tool-call params, the event queue's two bounds and how many
 * calls it has in flight, and the flat
 * layout that hands a request's payload parts to the events thread.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { bedrockErrorHeaders, renderBedrockError } from '../src/formats/bedrock-errors.js';
import { anthropicMessages } from '../src/formats/anthropic-messages.js';
import { geminiGenerateContent } from '../src/formats/gemini.js';
import { openaiChat } from '../src/formats/openai-chat.js';
import { openaiResponses } from '../src/formats/openai-responses.js';
import { EventQueue, type EventJob } from '../src/hooks/event-queue.js';
import { EventClient } from '../src/hooks/event-client.js';
import { readBlocks, sizeOf, writeCall, writeParts, type Wire, type WireCall } from '../src/hooks/event-wire.js';
import { SEND_BITS } from '../src/hooks/hook-plan.js';
import { PayloadBuilder, toolCallsOf, type PayloadParts } from '../src/hooks/payload.js';

describe('hook parts', () => {
  test('Bedrock: a block is AccessDeniedException with the message, a fail_closed failure ServiceUnavailableException', () => {
    assert.deepEqual(bedrockErrorHeaders(451, 'guardrail_blocked'), { 'x-amzn-errortype': 'AccessDeniedException' });
    assert.equal(renderBedrockError(451, 'guardrail_blocked', 'no'), '{"message":"no"}');
    assert.deepEqual(bedrockErrorHeaders(503, 'hook_failed'), { 'x-amzn-errortype': 'ServiceUnavailableException' });
  });

  test('user_message: the last user turn with text, in each format', () => {
    const chat = { messages: [{ role: 'user', content: 'first' }, { role: 'assistant', content: 'ok' }, { role: 'user', content: [{ type: 'text', text: 'second' }, { type: 'image_url', image_url: { url: 'data:' } }, { type: 'text', text: 'part' }] }] };
    assert.equal(openaiChat.userMessage!(chat), 'second\npart');
    // An agent's tool loop: the last user turn holds only a tool result; the prompt is the one before.
    const anthropic = { messages: [{ role: 'user', content: 'run the tests' }, { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'bash', input: {} }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'ok' }] }] };
    assert.equal(anthropicMessages.userMessage!(anthropic), 'run the tests');
    assert.equal(openaiResponses.userMessage!({ input: 'plain' }), 'plain');
    assert.equal(openaiResponses.userMessage!({ input: [{ role: 'user', content: [{ type: 'input_text', text: 'typed' }] }] }), 'typed');
    assert.equal(geminiGenerateContent.userMessage!({ contents: [{ parts: [{ text: 'no role' }] }, { role: 'model', parts: [{ text: 'x' }] }] }), 'no role');
    assert.equal(openaiChat.userMessage!({ messages: 'not a list' }), undefined);
  });

  test('tool_calls: params are objects; text that is not an object is kept under input', () => {
    assert.deepEqual(toolCallsOf([{ name: 'a', arguments: '{"x":1}' }, { name: 'b' }, { name: 'c', arguments: '{"cut' }, { name: 'd', arguments: '[1]' }]), [
      { name: 'a', params: { x: 1 } },
      { name: 'b', params: {} },
      { name: 'c', params: { input: '{"cut' } },
      { name: 'd', params: { input: '[1]' } },
    ]);
  });

  test('event wire: every part and call crosses as it was, and the payloads built on either side are the same', () => {
    const meta = { login: 'alice@example.com', userAgent: 'claude-cli/2 "q"', url: '/v1/messages?beta=true', model: 'claude-x', provider: 'anthropic', tailnetName: 'example.ts.net', nodeId: 'nTEST1', requestId: 'r1', sessionId: 's1' };
    const full: PayloadParts = {
      ...meta,
      grants: '{"example.com/cap/policy":[{"tier":"gold"}]}',
      bodyText: '{"model":"claude-x","messages":[{"role":"user","content":"héllo \\u2028"}]}',
      userMessage: 'héllo "there"\n',
      quotas: '{"daily:alice@example.com":{"current":5,"capacity":10,"rate":"$10.00/day"}}',
      response: '{"id":"msg_1","content":[]}',
      raw: '[{"type":"message_start"}]',
      toolCalls: [{ name: 'read_file', arguments: '{"path":"a.ts"}' }, { name: 'no_args' }],
      cost: { dollars: 0.000123, basis: 'anthropic/claude-x', usage: { inputTokens: 10, outputTokens: 5, cacheReadTokens: 2, cacheWrite5mTokens: 1, cacheWrite1hTokens: 0, reasoningTokens: 3, webSearchCount: 1 } },
    };
    const bare: PayloadParts = { ...meta, requestId: 'r2' };
    const noTools: PayloadParts = { ...meta, requestId: 'r3', toolCalls: [] };
    const wire: Wire = [];
    const at = writeParts(wire, full);
    writeCall(wire, at, 0, 'entire_request', 255, sizeOf(full));
    writeCall(wire, at, 1, 'tool_call_entire_request', SEND_BITS.tools, sizeOf(full));
    writeCall(wire, writeParts(wire, bare), 0, 'entire_request', SEND_BITS.request_body, sizeOf(bare));
    writeCall(wire, writeParts(wire, noTools), 2, 'entire_request', SEND_BITS.tools, 7);
    // Only primitives: nothing in the message costs an object of its own.
    assert.ok(wire.every((v) => v === null || typeof v === 'string' || typeof v === 'number'));

    const blocks: Array<[PayloadParts, WireCall[]]> = [];
    readBlocks(structuredClone(wire), (parts, calls) => blocks.push([parts, calls]));
    assert.equal(blocks.length, 3);
    assert.deepEqual(blocks[0]![0], full);
    assert.deepEqual(blocks[0]![1], [
      { hook: 0, event: 'entire_request', send: 255, size: sizeOf(full) },
      { hook: 1, event: 'tool_call_entire_request', send: SEND_BITS.tools, size: sizeOf(full) },
    ]);
    assert.deepEqual(blocks[1]![0], bare);
    assert.deepEqual(blocks[2]![0], noTools);
    assert.deepEqual(blocks[2]![1], [{ hook: 2, event: 'entire_request', send: SEND_BITS.tools, size: 7 }]);

    for (const [i, original] of [full, bare, noTools].entries()) {
      for (const send of [255, SEND_BITS.request_body, SEND_BITS.tools | SEND_BITS.estimated_cost]) {
        const here = new PayloadBuilder(original).build('entire_request', send);
        assert.equal(new PayloadBuilder(blocks[i]![0]).build('entire_request', send), here);
        JSON.parse(here); // valid JSON whatever is absent
      }
    }
    const all = JSON.parse(new PayloadBuilder(blocks[0]![0]).build('entire_request', 255)) as Record<string, any>;
    assert.equal(all.user_message, 'héllo "there"\n');
    assert.deepEqual(all.tool_calls, [{ name: 'read_file', params: { path: 'a.ts' } }, { name: 'no_args', params: {} }]);
    assert.deepEqual(all.metadata.estimated_cost, {
      dollars: 0.000123,
      cost_basis: 'anthropic/claude-x',
      usage: { input_tokens: 10, output_tokens: 5, cached_tokens: 2, cache_creation_input_tokens: 1, cache_creation_5m_input_tokens: 1, cache_creation_1h_input_tokens: 0, reasoning_tokens: 3, web_search_count: 1 },
    });
    // Sent only what exists: no answer parts, no tool calls, no cost for the bare request.
    assert.deepEqual(Object.keys(JSON.parse(new PayloadBuilder(bare).build('entire_request', 255)) as object), ['event', 'metadata']);
    // The size counted against the byte bound covers what the payload is made of.
    assert.ok(sizeOf(full) >= new PayloadBuilder(full).build('entire_request', 255).length);
  });

  test('the event queue is bounded by calls and by bytes, and counts what it drops', async () => {
    // A hook that never answers: every call stays in flight.
    const server = createServer(() => {});
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = new EventClient({ connectionsPerOrigin: 1 });
    const dropped: EventJob[] = [];
    const queue = new EventQueue(client, { concurrency: 1, maxQueued: 2, maxQueuedBytes: 100, retries: 0 }, { delivered() {}, failed() {}, dropped: (j) => dropped.push(j) });
    const job = (payload: string): EventJob => ({ hook: { id: 'h', origin, path: '/', headers: ['content-type', 'application/json'], timeoutMs: 0, failClosed: false, preference: 0 }, event: 'entire_request', payload, attempts: 0 });
    try {
      assert.equal(queue.push(job('{"a":1}')), true, 'in flight');
      assert.equal(queue.push(job('{"b":1}')), true, 'queued');
      assert.equal(queue.push(job(`{"big":"${'x'.repeat(100)}"}`)), false, 'over the byte bound');
      assert.equal(queue.push(job('{"c":1}')), true, 'queued');
      assert.equal(queue.push(job('{"d":1}')), false, 'over the call bound');
      assert.equal(queue.depth, 3);
      assert.equal(queue.dropped, 2);
      assert.equal(dropped.length, 2);
    } finally {
      await client.destroy();
      server.closeAllConnections();
      server.close();
    }
  });

});
