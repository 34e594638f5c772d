// The translation bench's fidelity check (bench/lib/fidelity.ts) and claude-code-router's
// configuration (bench/lib/ccr.ts): pure functions, no processes, so ccr stays out of npm test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ccrConfig } from '../bench/lib/ccr.js';
import { chatStreamUsage, faithful, judge, readAnthropicStream } from '../bench/lib/fidelity.js';

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

function anthropicStream(start: { input: number; output: number }, end: { input?: number; output: number }, stop = 'end_turn'): string {
  return [
    frame('message_start', { type: 'message_start', message: { usage: { input_tokens: start.input, output_tokens: start.output } } }),
    frame('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    frame('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'one ' } }),
    frame('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'two' } }),
    frame('content_block_stop', { type: 'content_block_stop', index: 0 }),
    frame('message_delta', { type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage: { ...(end.input !== undefined ? { input_tokens: end.input } : {}), output_tokens: end.output } }),
    frame('message_stop', { type: 'message_stop' }),
  ].join('');
}

test('readAnthropicStream takes message_delta usage over message_start and keeps the stop fields', () => {
  const s = readAnthropicStream(anthropicStream({ input: 12, output: 1 }, { output: 5 }));
  assert.equal(s.events, 7);
  assert.equal(s.complete, true);
  assert.equal(s.text, 'one two');
  assert.equal(s.inputTokens, 12, 'message_delta without input_tokens keeps message_start count');
  assert.equal(s.outputTokens, 5);
  assert.equal(s.stopReason, 'end_turn');
  assert.equal(s.stopSequence, null);
  assert.equal(readAnthropicStream(anthropicStream({ input: 0, output: 0 }, { input: 30, output: 4 })).inputTokens, 30);
});

test('chatStreamUsage finds the choices:[] usage chunk, and nothing when it is absent', () => {
  const usage = `data: {"choices":[{"delta":{"content":"x"}}]}\n\ndata: {"choices":[],"usage":{"prompt_tokens":53,"completion_tokens":5}}\n\ndata: [DONE]\n\n`;
  assert.deepEqual(chatStreamUsage(usage), { prompt: 53, completion: 5 });
  assert.equal(chatStreamUsage('data: {"choices":[]}\n\ndata: [DONE]\n\n'), undefined);
});

test('judge: faithful only with stop sent, usage asked and equal, end_turn', () => {
  const stops = ['\n\nEND', 'STOP_HERE'];
  const good = judge({ stop: stops, stream_options: { include_usage: true } }, { prompt: 63, completion: 5 }, readAnthropicStream(anthropicStream({ input: 63, output: 0 }, { output: 5 })), stops);
  assert.equal(faithful(good), true);

  // What claude-code-router 1.0.73 does with its README configuration: no `stop`, no usage chunk, zeros.
  const dropped = judge({ stream: true }, { prompt: 53, completion: 5 }, readAnthropicStream(anthropicStream({ input: 0, output: 0 }, { input: 0, output: 0 })), stops);
  assert.equal(dropped.stopSent, false);
  assert.equal(dropped.usageAsked, false);
  assert.equal(dropped.usageCorrect, false);
  assert.equal(dropped.stopReasonCorrect, true);
  assert.equal(faithful(dropped), false);

  // A single stop string counts only when it is the only sequence asked for; a stream without message_stop is not correct.
  assert.equal(judge({ stop: 'END' }, undefined, readAnthropicStream(''), ['END']).stopSent, true);
  assert.equal(judge({ stop: ['END'] }, undefined, readAnthropicStream(''), stops).stopSent, false);
  assert.equal(judge({}, undefined, readAnthropicStream(''), []).stopReasonCorrect, false);
});

test('ccrConfig routes by default to the first provider, logs nothing, and adds transformers only when asked', () => {
  const cfg = JSON.parse(
    ccrConfig(4567, [
      { name: 'mock', chatUrl: 'http://127.0.0.1:1/v1/chat/completions', models: ['gpt-bench'] },
      { name: 'usage', chatUrl: 'http://127.0.0.1:2/v1/chat/completions', models: ['gpt-x'], transformers: ['streamoptions'] },
    ]),
  ) as { PORT: number; HOST: string; LOG: boolean; Router: { default: string }; Providers: Array<Record<string, unknown>> };
  assert.equal(cfg.PORT, 4567);
  assert.equal(cfg.HOST, '127.0.0.1');
  assert.equal(cfg.LOG, false);
  assert.equal(cfg.Router.default, 'mock,gpt-bench');
  assert.equal(cfg.Providers[0]!.transformer, undefined);
  assert.deepEqual(cfg.Providers[1]!.transformer, { use: ['streamoptions'] });
  assert.match(String(cfg.Providers[0]!.api_key), /test/);
  assert.throws(() => ccrConfig(1, []), /needs a provider/);
});
