import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidModelName, replaceTopLevelString } from '../src/formats/json-body.js';

test('replaceTopLevelString changes only the top-level model and keeps every other byte', () => {
  const body = '{ "messages": [{"role":"user","content":"say \\"model\\": \\"x\\""}], "metadata": {"model": "inner"},\n "model" : "anthropic/claude-opus-4-8", "seed": 12345678901234567890, "t": 1.0 }';
  const out = replaceTopLevelString(body, 'model', 'claude-opus-4-8');
  assert.equal(out, body.replace('"anthropic/claude-opus-4-8"', '"claude-opus-4-8"'));
  assert.equal(JSON.parse(out).metadata.model, 'inner');
  assert.ok(out.includes('12345678901234567890'));
  assert.ok(out.includes('1.0'));
});

test('replaceTopLevelString handles escaped keys and values', () => {
  const body = '{"mod\\u0065l":"p/a\\"b","x":"model"}';
  assert.deepEqual(JSON.parse(replaceTopLevelString(body, 'model', 'a"b')), { model: 'a"b', x: 'model' });
});

test('isValidModelName', () => {
  assert.equal(isValidModelName('claude-opus-4-8'), true);
  assert.equal(isValidModelName('qwen/qwen3-coder'), true);
  assert.equal(isValidModelName(''), false);
  assert.equal(isValidModelName('..'), false);
  assert.equal(isValidModelName('a\nb'), false);
  assert.equal(isValidModelName('x'.repeat(513)), false);
});
