/**
 * Issue 12, item 10: a passthrough provider without `apikey` and a request that carries
 * no credential. There is nothing keyway could authenticate with, so it answers 401
 * itself, in the caller's format, naming the provider and saying it needs the caller's
 * own key, and sends nothing upstream. explain says the same.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FAKE, configText, postJson, startStack, type Stack } from './helpers.js';

const ALL = { openai_chat: true, openai_responses: true, anthropic_messages: true, gemini_generate_content: true };

describe('issue 12: passthrough-only without a client credential', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) => configText({
      own: { baseurl: u, auth_mode: 'passthrough', models: ['m'], compatibility: ALL },
      fallback: { baseurl: u, auth_mode: 'passthrough', apikey: FAKE.providerKey, models: ['f'], compatibility: ALL },
      // A credential configured as a header is a credential: keyway does not second-guess it.
      headed: { baseurl: u, auth_mode: 'passthrough', models: ['h'], add_headers: [`Authorization: Bearer ${FAKE.providerKey}`], compatibility: ALL },
    }));
  });
  after(() => stack.close());

  const calls = [
    { name: 'anthropic', path: () => '/v1/messages', body: { model: 'm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }, hint: /ANTHROPIC_API_KEY.*sign in to Claude Code/,
      read: (b: any) => { assert.equal(b.type, 'error'); assert.equal(b.error.type, 'authentication_error'); return b.error.message; } },
    { name: 'openai chat', path: () => '/v1/chat/completions', body: { model: 'm', messages: [] }, hint: /OPENAI_API_KEY/,
      read: (b: any) => { assert.equal(b.error.type, 'authentication_error'); assert.equal(b.error.code, 'client_credential_required'); return b.error.message; } },
    { name: 'openai responses', path: () => '/v1/responses', body: { model: 'm', input: 'hi' }, hint: /CODEX_API_KEY/,
      read: (b: any) => { assert.equal(b.error.code, 'client_credential_required'); return b.error.message; } },
    { name: 'gemini', path: () => '/v1beta/models/m:generateContent', body: { contents: [] }, hint: /GEMINI_API_KEY/,
      read: (b: any) => { assert.equal(b.error.status, 'UNAUTHENTICATED'); assert.equal(b.error.code, 401); return b.error.message; } },
  ];

  for (const call of calls) {
    test(`${call.name}: 401 in the caller's format naming the provider, nothing sent upstream, recorded`, async () => {
      stack.upstream.reset();
      const r = await postJson(stack.url + call.path(), call.body);
      assert.equal(r.status, 401, r.text);
      const message = call.read(r.json);
      assert.match(message, /^provider own is passthrough-only: it has no API key of its own and needs the caller's own key or token, and this request carried none\. /);
      assert.match(message, call.hint);
      assert.equal(stack.upstream.requests.length, 0, 'the mock recorded nothing');
      await stack.keyway.telemetry!.recorder.flush();
      const row = ((await (await fetch(`${stack.url}/api/requests?limit=1`)).json()) as { requests: any[] }).requests[0];
      assert.deepEqual([row.status, row.errorCode, row.provider, row.credentialSource], [401, 'CLIENT_CREDENTIAL_REQUIRED', 'own', 'none']);
    });
  }

  test('with the caller\'s own credential (header or ?key=) the request goes through unchanged', async () => {
    stack.upstream.reset();
    assert.equal((await postJson(`${stack.url}/v1/messages`, calls[0]!.body, { 'x-api-key': FAKE.anthropicKey })).status, 200);
    assert.equal((await postJson(`${stack.url}/v1beta/models/m:generateContent?key=${FAKE.googleKey}`, { contents: [] })).status, 200);
    assert.equal(stack.upstream.requests.length, 2);
    assert.equal(stack.upstream.requests[0]!.headers['x-api-key'], FAKE.anthropicKey);
  });

  test('a fallback key, or a credential in add_headers, is used as before', async () => {
    stack.upstream.reset();
    assert.equal((await postJson(`${stack.url}/v1/chat/completions`, { model: 'f', messages: [] })).status, 200);
    assert.equal((await postJson(`${stack.url}/v1/chat/completions`, { model: 'h', messages: [] })).status, 200);
    assert.deepEqual(stack.upstream.requests.map((r) => r.headers.authorization), [`Bearer ${FAKE.providerKey}`, `Bearer ${FAKE.providerKey}`]);
  });

  test('explain says the provider needs the caller\'s own key', async () => {
    const e = (await (await fetch(`${stack.url}/api/explain?model=m&format=anthropic_messages`)).json()) as any;
    assert.equal(e.served, true);
    assert.match(e.summary, /; provider own is passthrough-only: it has no API key of its own and needs the caller's own key or token, so a request without one gets 401\. Set ANTHROPIC_API_KEY/);
    assert.match(e.candidates[0].detail, /passthrough-only: requests need the caller's own key or token/);
    const f = (await (await fetch(`${stack.url}/api/explain?model=f`)).json()) as any;
    assert.doesNotMatch(f.summary, /passthrough-only/);
  });
});
