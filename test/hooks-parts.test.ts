/**
 * The parts of hooks that need no network: the Bedrock envelope of a block and of a
 * fail_closed failure (keyway serves no Bedrock format yet; its module will use these),
 * `user_message` per format, tool-call params, and the event queue's two bounds.
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
import { HookClient } from '../src/hooks/hook-client.js';
import { toolCallsOf } from '../src/hooks/payload.js';

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

  test('the event queue is bounded by calls and by bytes, and counts what it drops', async () => {
    // A hook that never answers: every call stays in flight.
    const server = createServer(() => {});
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = new HookClient({ connectionsPerOrigin: 1, maxAnswerBytes: 1024 });
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
