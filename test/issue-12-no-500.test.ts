/**
 * Issue 12, item 8: bad input never gets a 500, and never costs a request its record.
 * - Bodies nested 20,000 levels deep are forwarded as sent and recorded (the session
 *   fingerprint used to overflow the stack, and the record was lost).
 * - Malformed percent-encoding in `/api/requests/{id}`, times beyond a Date's range in
 *   telemetry queries and values of the wrong type in keyway's own API are the caller's
 *   error (400 or 404).
 * - A configuration nested 50,000 levels deep is refused naming the problem, on save,
 *   validate and draft explain, instead of overflowing the parser's stack.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MAX_DEPTH } from '../src/config/hujson.js';
import { maskSecrets, restoreSecrets } from '../src/config/secrets.js';
import { validateConfigText } from '../src/config/validate.js';
import { conversationFingerprint } from '../src/telemetry/session.js';
import { FAKE, configText, postJson, startStack, type Stack } from './helpers.js';

const DEPTH = 20_000;
const deepObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('issue 12: no 500 for bad input', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) => configText({
      p: { baseurl: u, apikey: FAKE.providerKey, models: ['m'], compatibility: { openai_chat: true, openai_responses: true, anthropic_messages: true, gemini_generate_content: true } },
    // One key for every API: the mock's per-provider key prefixes are beside the point here.
    }), { mock: { acceptAnyKey: true } });
  });
  after(() => stack.close());

  async function records(): Promise<any[]> {
    await stack.keyway.telemetry!.recorder.flush();
    return ((await (await fetch(`${stack.url}/api/requests?limit=500`)).json()) as { requests: any[] }).requests;
  }

  test('bodies nested 20,000 levels deep are forwarded as sent and every one is recorded', async () => {
    const deep = deepObject(DEPTH);
    const calls: Array<[string, string]> = [
      ['/v1/chat/completions', `{"model":"m","messages":[{"role":"user","content":${deep}}]}`],
      ['/v1/chat/completions', `{"model":"m","messages":[${deepArray(DEPTH)}]}`],
      ['/v1/chat/completions', `{"model":"m","messages":[{"role":"user","content":[{"type":{"toString":1}}]}]}`],
      ['/v1/messages', `{"model":"m","max_tokens":8,"messages":[{"role":"user","content":${deep}}]}`],
      ['/v1/responses', `{"model":"m","input":[${deep}]}`],
      ['/v1beta/models/p%2Fm:generateContent', `{"contents":[{"role":"user","parts":${deep}}]}`],
    ];
    const before = (await records()).length;
    for (const [path, body] of calls) {
      stack.upstream.reset();
      const res = await fetch(stack.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.text();
      assert.equal(res.status, 200, path);
      assert.equal(stack.upstream.requests[0]!.body, body, `${path}: forwarded byte for byte`);
    }
    const rows = (await records()).slice(0, calls.length);
    assert.equal((await records()).length, before + calls.length, 'every request has its record');
    for (const row of rows) {
      assert.equal(row.status, 200);
      assert.match(row.sessionId, /^fp_[0-9a-f]{24}$/);
    }
  });

  test('the fingerprint of a deeply nested first message is bounded, stable and tells messages apart', () => {
    const one = JSON.parse(`{"messages":[{"role":"user","content":${deepObject(DEPTH)}}]}`);
    const two = JSON.parse(`{"messages":[{"role":"user","content":${deepObject(DEPTH - 1)}}, {"role":"assistant","content":"later"}]}`);
    const other = JSON.parse('{"messages":[{"role":"user","content":{"b":{"c":[1,"x",null,true]}}}]}');
    const same = JSON.parse('{"messages":[{"role":"user","content":{"b":{"c":[1,"x",null,true]}}},{"role":"user","content":"more"}]}');
    assert.match(conversationFingerprint('alice', one), /^fp_/);
    // Only the first 4,096 characters count: two deep messages that agree that far are one conversation.
    assert.equal(conversationFingerprint('alice', one), conversationFingerprint('alice', two));
    assert.equal(conversationFingerprint('alice', other), conversationFingerprint('alice', same));
    assert.notEqual(conversationFingerprint('alice', other), conversationFingerprint('alice', one));
    assert.notEqual(conversationFingerprint('alice', other), conversationFingerprint('bob', other));
    const swapped = JSON.parse('{"messages":[{"role":"user","content":{"c":{"b":[1,"x",null,true]}}}]}');
    assert.notEqual(conversationFingerprint('alice', other), conversationFingerprint('alice', swapped), 'keys count, not only values');
  });

  test('GET /api/requests/{id} with malformed percent-encoding is 400, an unknown id 404', async () => {
    for (const id of ['%', '%E0%A4%A', '%ZZ', 'a%']) {
      const res = await fetch(`${stack.url}/api/requests/${id}`);
      assert.equal(res.status, 400, id);
      assert.equal(((await res.json()) as { code: string }).code, 'BAD_REQUEST');
    }
    const res = await fetch(`${stack.url}/api/requests/%00`);
    assert.equal(res.status, 404);
  });

  test('telemetry queries with a time beyond a Date\'s range are 400', async () => {
    for (const path of ['/api/usage', '/api/usage.csv', '/api/requests', '/api/sessions']) {
      for (const q of ['from=99999999999999999999', 'to=8640000000000001', 'from=-271821-04-19T00:00:00Z']) {
        const res = await fetch(`${stack.url}${path}?${q}`);
        assert.equal(res.status, 400, `${path}?${q}`);
        assert.match(((await res.json()) as { error: string }).error, /must be an ISO date or milliseconds/);
      }
    }
    // The edge of the range itself is fine, and the default window never leaves it.
    assert.equal((await fetch(`${stack.url}/api/usage?to=-271821-04-20T00:00:00Z`)).status, 200);
    assert.equal((await fetch(`${stack.url}/api/usage?from=8640000000000000`)).status, 200);
  });

  test('a value of the wrong type in keyway\'s own API is 404, not 500', async () => {
    const r = await postJson(`${stack.url}/api/models/test`, { provider: { toString: 'x' }, model: 'm' });
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json.code, 'UNKNOWN_MODEL');
  });

  test('a configuration nested 50,000 levels deep: save is 400 naming the problem, validate says invalid, nothing changes', async () => {
    const deep = `{"providers": {}, "hooks": ${deepObject(50_000)}}`;
    const current = (await (await fetch(`${stack.url}/api/config`)).json()) as { hash: string };
    const put = await fetch(`${stack.url}/api/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config: deep, hash: current.hash }) });
    assert.equal(put.status, 400);
    const body = (await put.json()) as { code: string; error: string; problems: Array<{ severity: string; message: string; line: number; column: number }> };
    assert.equal(body.code, 'CONFIG_INVALID');
    assert.match(body.error, /nests objects and arrays more than 100 levels deep/);
    assert.equal(body.problems[0]!.severity, 'error');
    assert.deepEqual([body.problems[0]!.line, body.problems[0]!.column], [1, 28 + 5 * 99]);
    assert.equal(((await (await fetch(`${stack.url}/api/config`)).json()) as { hash: string }).hash, current.hash, 'the running configuration stays');

    for (const [path, payload] of [['/aperture/config:validate', JSON.stringify({ config: deep })], ['/api/config/validate', deep]] as const) {
      const res = await fetch(stack.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
      // Like a syntax error: the validate contract answers every document with Valid and Errors.
      assert.equal(res.status, 200, path);
      const v = (await res.json()) as { Valid: boolean; Errors: string[] };
      assert.equal(v.Valid, false);
      assert.match(v.Errors[0]!, /more than 100 levels deep/);
    }
    const explain = await postJson(`${stack.url}/api/explain`, { as: 'a', models: ['m'], config: deep });
    assert.equal(explain.status, 400, explain.text);
    assert.equal(explain.json.code, 'CONFIG_INVALID');
    const arrays = await fetch(`${stack.url}/api/config/validate`, { method: 'POST', body: `{"providers": ${deepArray(50_000)}}` });
    assert.equal(arrays.status, 200);
  });
});

describe('configuration nesting limit', () => {
  const nested = (depth: number) => `{"providers": {}, "hooks": ${'{"a":'.repeat(depth - 1)}1${'}'.repeat(depth - 1)}}`;

  test(`${MAX_DEPTH} levels are read; one more is an error with line and column`, () => {
    assert.equal(MAX_DEPTH, 100);
    const ok = validateConfigText(nested(MAX_DEPTH));
    assert.ok(!ok.problems.some((p) => p.message.includes('levels deep')), JSON.stringify(ok.problems));
    const deep = validateConfigText(nested(MAX_DEPTH + 1));
    assert.equal(deep.config, undefined);
    assert.deepEqual(deep.problems, [{ severity: 'error', path: '', message: 'configuration nests objects and arrays more than 100 levels deep', line: 1, column: 28 + 5 * 99 }]);
  });

  test('brackets inside strings and comments do not count', () => {
    const text = `// ${'['.repeat(500)}\n{"providers": {}, /* ${'{'.repeat(500)} */ "hooks": {"x": "${'['.repeat(500)}"}}`;
    assert.ok(!validateConfigText(text).problems.some((p) => p.message.includes('levels deep')));
  });

  test('a document that nests too deeply is still masked, is not restored into, and nothing throws', () => {
    const deep = `{"apikey": "sk-test-deep", "x": ${deepObject(50_000)}, "y": {"token": "sk-test-deeper"}}`;
    const masked = maskSecrets(deep);
    assert.ok(!masked.includes('sk-test-deep'), 'masked at any depth');
    assert.equal(masked, deep.replace('"sk-test-deep"', '"********"').replace('"sk-test-deeper"', '"********"'));
    assert.deepEqual(restoreSecrets(masked, deep), { text: masked, unresolved: [] });
  });
});
