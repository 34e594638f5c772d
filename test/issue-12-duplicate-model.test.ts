/**
 * Issue 12, item 9: a body with two top-level `model` keys was routed (and grant-checked)
 * on the last one, which JSON.parse keeps, but forwarded with both, so a provider reading
 * the first would serve a model the caller was never checked for. It is refused with 400
 * DUPLICATE_MODEL_KEY in the caller's API format, recorded, and nothing goes upstream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hasDuplicateTopLevelKey, replaceTopLevelString } from '../src/formats/json-body.js';
import { FAKE, configText, startStack, type Stack } from './helpers.js';

describe('hasDuplicateTopLevelKey', () => {
  const cases: Array<[string, boolean]> = [
    ['{"model":"a","model":"b"}', true],
    ['{ "model" : "a" ,\n "messages": [], "model":"b" }', true],
    ['{"model":"a","mod\\u0065l":"b"}', true],
    ['{"\\u006dodel":"a","model":"b"}', true],
    ['{"model":"a","x":1,"model":"b","model":"c"}', true],
    ['{"model":"a","model":{"nested":true}}', true],
    ['{"model":"a"}', false],
    ['{"model":"a","metadata":{"model":"b"},"tools":[{"model":"c"}]}', false],
    ['{"model":"a","messages":[{"role":"user","content":"\\"model\\": \\"b\\", \\\\"}],"x":"model"}', false],
    ['{"model":"a","modelx":"b","mode":"c","models":["model"]}', false],
    ['{"model\\\\":"a","model":"b"}', false],
    ['{}', false],
  ];
  for (const [text, want] of cases) {
    test(`${text} → ${want}`, () => {
      JSON.parse(text); // every case is valid JSON
      assert.equal(hasDuplicateTopLevelKey(text, 'model'), want);
    });
  }
});

test('replaceTopLevelString, now walking strings with indexOf, rewrites the same bytes', () => {
  const body = '{"a":"x\\\\","model":"p/m","b":"\\\\\\"model\\":\\"p/m\\"","c":{"model":"p/m"},"model" :\n"p/m"}';
  const out = replaceTopLevelString(body, 'model', 'm');
  assert.equal(out, '{"a":"x\\\\","model":"m","b":"\\\\\\"model\\":\\"p/m\\"","c":{"model":"p/m"},"model" :\n"m"}');
  assert.deepEqual(JSON.parse(out).c, { model: 'p/m' });
  assert.equal(replaceTopLevelString('{"model":5}', 'model', 'm'), '{"model":5}');
});

describe('issue 12: two model keys over HTTP', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) => configText({
      cheap: { baseurl: u, apikey: FAKE.providerKey, models: ['cheap'], compatibility: { openai_chat: true, openai_responses: true, anthropic_messages: true } },
      costly: { baseurl: u, apikey: FAKE.providerKey, models: ['costly'], compatibility: { openai_chat: true, openai_responses: true, anthropic_messages: true } },
    }));
  });
  after(() => stack.close());

  const calls = [
    { path: '/v1/chat/completions', rest: '"messages":[{"role":"user","content":"hi"}]', read: (b: any) => [b.error.code, b.error.message] },
    { path: '/v1/responses', rest: '"input":"hi"', read: (b: any) => [b.error.code, b.error.message] },
    { path: '/v1/messages', rest: '"max_tokens":8,"messages":[{"role":"user","content":"hi"}]', read: (b: any) => [b.type === 'error' && b.error.type === 'invalid_request_error' ? 'duplicate_model_key' : b, b.error.message] },
  ];

  for (const call of calls) {
    test(`${call.path}: refused with 400 in the caller's format, nothing forwarded, and recorded`, async () => {
      stack.upstream.reset();
      for (const body of [`{"model":"costly","model":"cheap",${call.rest}}`, `{"model":"cheap",${call.rest},"mod\\u0065l":"costly"}`]) {
        const res = await fetch(stack.url + call.path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        assert.equal(res.status, 400, body);
        const [code, message] = call.read(await res.json());
        assert.equal(code, 'duplicate_model_key');
        assert.match(message, /more than one top-level "model" key/);
        await stack.keyway.telemetry!.recorder.flush();
        const list = (await (await fetch(`${stack.url}/api/requests?limit=5`)).json()) as { requests: any[] };
        const row = list.requests[0];
        assert.equal(row.errorCode, 'DUPLICATE_MODEL_KEY');
        assert.equal(row.status, 400);
      }
      assert.equal(stack.upstream.requests.length, 0, 'nothing reached the provider');
    });
  }

  test('one top-level model with nested "model" keys is still served', async () => {
    stack.upstream.reset();
    const body = '{"model":"cheap","metadata":{"model":"costly"},"messages":[{"role":"user","content":"\\"model\\":\\"costly\\""}]}';
    const res = await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal(res.status, 200);
    await res.text();
    assert.equal(stack.upstream.requests[0]!.body, body, 'forwarded byte for byte');
  });
});
