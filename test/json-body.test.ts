import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidModelName, replaceTopLevelString, topLevelValueText } from '../src/formats/json-body.js';

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

test('topLevelValueText: the value of a top-level key as written; undefined when absent or named twice', () => {
  const text = '{"id":"kw-1", "result" : {"a":[1.50,"}",{"result":2}],"s":"x\\"y"} ,"n":12345678901234567890,"t":true,"e":"caf\\u00e9"}';
  assert.equal(topLevelValueText(text, 'result'), '{"a":[1.50,"}",{"result":2}],"s":"x\\"y"}');
  assert.equal(topLevelValueText(text, 'n'), '12345678901234567890');
  assert.equal(topLevelValueText(text, 't'), 'true');
  assert.equal(topLevelValueText(text, 'e'), '"caf\\u00e9"');
  assert.equal(topLevelValueText(text, 'a'), undefined, 'only top-level keys');
  assert.equal(topLevelValueText('{"result":1,"result":2}', 'result'), undefined);
  assert.equal(topLevelValueText('{"res\\u0075lt":[]}', 'result'), '[]');
});
