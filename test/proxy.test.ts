/**
 * The streaming proxy against a real upstream on loopback: SSE relayed event by event,
 * disconnects, transport failures, limits, header hygiene, paths and error envelopes.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { IdentitySource } from '../src/identity/identity.js';
import { FAKE, configText, postJson, startStack, type Stack } from './helpers.js';

const anthropicBody = (model = 'claude-test', extra: Record<string, unknown> = {}) => ({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], ...extra });

function providers(upstream: string) {
  return {
    anthropic: { baseurl: upstream, authorization: 'x-api-key', auth_mode: 'passthrough', models: ['claude-test'], compatibility: { anthropic_messages: true } },
    openai: { baseurl: upstream, apikey: FAKE.providerKey, models: ['gpt-test'], compatibility: { openai_chat: true, openai_responses: true } },
    gemini: { baseurl: upstream, authorization: 'x-goog-api-key', auth_mode: 'passthrough', models: ['gemini-test'], compatibility: { gemini_generate_content: true } },
    codex: { baseurl: `${upstream}/backend-api/codex`, auth_mode: 'passthrough', models: ['gpt-codex-test'], compatibility: { openai_responses: true } },
    versioned: { baseurl: `${upstream}/v1`, apikey: FAKE.providerKey, models: ['gpt-versioned'] },
    dead: { baseurl: 'http://127.0.0.1:9', apikey: FAKE.providerKey, models: ['gpt-dead'] },
  };
}

/** rawPost uses node:http, since fetch silently drops headers such as Connection and Cookie. */
function rawPost(url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('streaming proxy', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) => configText(providers(u)), { settings: { bodyLimit: 64 * 1024, pools: { connectTimeoutMs: 2000, headersTimeoutMs: 1500, bodyIdleTimeoutMs: 1500 } } });
  });
  after(() => stack.close());

  test('SSE events reach the client as the upstream sends them, not at the end', async () => {
    const res = await fetch(`${stack.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': FAKE.anthropicKey, 'x-mock-scenario': 'chunks=6,interval=80' },
      body: JSON.stringify(anthropicBody('claude-test', { stream: true })),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const start = Date.now();
    const arrivals: number[] = [];
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) {
      arrivals.push(Date.now() - start);
      text += decoder.decode(chunk, { stream: true });
    }
    const total = arrivals.at(-1)!;
    assert.ok(total >= 400, `stream took ${total} ms`);
    assert.ok(arrivals.length >= 5, `got ${arrivals.length} separate reads`);
    assert.ok(arrivals[1]! < total - 200, `second read at ${arrivals[1]} ms of ${total} ms: events were buffered`);
    assert.match(text, /event: content_block_stop/);
    assert.match(text, /event: message_stop/);
  });

  test('a client that disconnects aborts the upstream request', async () => {
    const controller = new AbortController();
    const pending = fetch(`${stack.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': FAKE.anthropicKey, 'x-mock-scenario': 'chunks=50,interval=100' },
      body: JSON.stringify(anthropicBody('claude-test', { stream: true })),
      signal: controller.signal,
    });
    const res = await pending;
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    const aborted = await stack.upstream.waitForAbort(3000);
    assert.equal(aborted.aborted, true);
  });

  test('an unreachable upstream is a 502 in the caller format', async () => {
    const r = await postJson(`${stack.url}/v1/chat/completions`, { model: 'gpt-dead', messages: [] });
    assert.equal(r.status, 502);
    assert.equal(r.json.error.code, 'upstream_unreachable');
    assert.equal(r.json.error.type, 'server_error');
    assert.ok(!r.text.includes(FAKE.providerKey));
  });

  test('an upstream that never answers is a 504', async () => {
    const r = await postJson(`${stack.url}/v1/messages`, anthropicBody(), { 'x-api-key': FAKE.anthropicKey, 'x-mock-scenario': 'hang' });
    assert.equal(r.status, 504);
    assert.equal(r.json.type, 'error');
    assert.equal(r.json.error.type, 'timeout_error');
  });

  test('an upstream that dies mid-stream ends the stream with the format error event', async () => {
    const res = await fetch(`${stack.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': FAKE.anthropicKey, 'x-mock-scenario': 'die-midstream,chunks=10' },
      body: JSON.stringify(anthropicBody('claude-test', { stream: true })),
    });
    const text = await res.text().catch((e: Error) => `ERR ${e.message}`);
    assert.match(text, /event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);
  });

  test('upstream error responses are relayed unchanged', async () => {
    const direct = await postJson(`${stack.upstream.url}/v1/messages`, anthropicBody(), { 'x-api-key': FAKE.anthropicKey, 'x-mock-scenario': 'error=429' });
    const via = await postJson(`${stack.url}/v1/messages`, anthropicBody(), { 'x-api-key': FAKE.anthropicKey, 'x-mock-scenario': 'error=429' });
    assert.equal(via.status, 429);
    assert.equal(via.text, direct.text);
    assert.equal(via.headers.get('retry-after'), direct.headers.get('retry-after'));
  });

  test('bodies over the limit are refused with 413 before anything is forwarded', async () => {
    stack.upstream.reset();
    const r = await postJson(`${stack.url}/v1/messages`, anthropicBody('claude-test', { pad: 'x'.repeat(70 * 1024) }));
    assert.equal(r.status, 413);
    assert.equal(r.json.error.type, 'request_too_large');
    assert.equal(stack.upstream.requests.length, 0);
  });

  test('header policy: provider headers pass, connection, cookie, forwarding and identity headers do not', async () => {
    stack.upstream.reset();
    const r = await rawPost(`${stack.url}/v1/messages?beta=true`, anthropicBody(), {
      'x-api-key': FAKE.anthropicKey,
      'anthropic-version': '2023-06-01',
      'anthropic-beta': 'claude-code-20250219,oauth-2025-04-20',
      'user-agent': 'claude-cli/2.1.197 (external, sdk-cli)',
      'x-stainless-arch': 'x64',
      'x-claude-code-session-id': 'sess-1',
      'openai-beta': 'x',
      'chatgpt-account-id': 'acct-1',
      connection: 'keep-alive, x-hop',
      'x-hop': 'drop me',
      cookie: 'a=b',
      'x-forwarded-for': '1.2.3.4',
      'tailscale-user-login': 'mallory@example.com',
      'tailscale-app-capabilities': '{}',
    });
    assert.equal(r.status, 200);
    const got = stack.upstream.requests[0]!;
    assert.equal(got.query, '?beta=true');
    for (const h of ['anthropic-version', 'anthropic-beta', 'user-agent', 'x-stainless-arch', 'x-claude-code-session-id', 'openai-beta', 'chatgpt-account-id']) {
      assert.ok(got.headers[h] !== undefined, `${h} should pass`);
    }
    for (const h of ['x-hop', 'cookie', 'x-forwarded-for', 'tailscale-user-login', 'tailscale-app-capabilities']) {
      assert.equal(got.headers[h], undefined, `${h} must not pass`);
    }
    assert.equal(got.headers.host, new URL(stack.upstream.url).host);
  });

  test('ChatGPT-subscription path: /codex/responses goes to baseurl + /responses with the bearer unchanged', async () => {
    stack.upstream.reset();
    const r = await postJson(`${stack.url}/codex/responses`, { model: 'gpt-codex-test', input: 'hi' }, { authorization: 'Bearer chatgpt-test-oauth-token' });
    assert.equal(r.status, 200);
    const got = stack.upstream.requests[0]!;
    assert.equal(got.path, '/backend-api/codex/responses');
    assert.equal(got.headers.authorization, 'Bearer chatgpt-test-oauth-token');
  });

  test('a baseurl ending in /v1 does not double the /v1', async () => {
    stack.upstream.reset();
    const r = await postJson(`${stack.url}/v1/chat/completions`, { model: 'gpt-versioned', messages: [] });
    assert.equal(r.status, 200);
    assert.equal(stack.upstream.requests[0]!.path, '/v1/chat/completions');
  });

  test('Codex WebSocket probe on GET /v1/responses gets 426', async () => {
    const plain = await fetch(`${stack.url}/v1/responses`);
    assert.equal(plain.status, 426);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${stack.url}/v1/responses`, { headers: { connection: 'upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('upgrade', () => resolve(101));
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 426);
  });

  test('gzip-encoded upstream streams pass through byte for byte', async () => {
    const res = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip', 'x-mock-scenario': 'gzip' },
      body: JSON.stringify({ model: 'gpt-test', stream: true, messages: [] }),
    });
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.match(await res.text(), /data: \[DONE\]/);
  });

  test('errors keyway makes itself come in each API format', async () => {
    const cases: Array<{ path: string; body: unknown; status: number; check: (j: any) => void }> = [
      { path: '/v1/messages', body: anthropicBody('nope'), status: 404, check: (j) => assert.equal(j.error.type, 'not_found_error') },
      { path: '/v1/chat/completions', body: { model: 'nope', messages: [] }, status: 404, check: (j) => assert.equal(j.error.code, 'unknown_model') },
      { path: '/v1beta/models/nope:generateContent', body: { contents: [] }, status: 404, check: (j) => assert.equal(j.error.status, 'NOT_FOUND') },
      { path: '/v1/messages', body: { messages: [] }, status: 400, check: (j) => assert.equal(j.error.type, 'invalid_request_error') },
      { path: '/v1/responses', body: { model: 42 }, status: 400, check: (j) => assert.equal(j.error.code, 'missing_model') },
    ];
    for (const c of cases) {
      const r = await postJson(stack.url + c.path, c.body);
      assert.equal(r.status, c.status, `${c.path} ${r.text}`);
      c.check(r.json);
    }
    const unknownModel = await postJson(`${stack.url}/v1/chat/completions`, { model: 'nope', messages: [] });
    assert.match(unknownModel.json.error.message, /"nope".*\/v1\/models/);
    const bad = await fetch(`${stack.url}/v1/messages`, { method: 'POST', body: '{"model": ' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as any).error.type, 'invalid_request_error');
    const route = await fetch(`${stack.url}/v1/nothing-here`, { method: 'POST' });
    assert.equal(route.status, 404);
    const method = await fetch(`${stack.url}/v1/messages`);
    assert.equal(method.status, 405);
    assert.equal(method.headers.get('allow'), 'POST');
  });

  test('a model name cannot leave its path segment', async () => {
    stack.upstream.reset();
    const r = await postJson(`${stack.url}/v1beta/models/gemini%2F..%2F..%2Fadmin:generateContent`, { contents: [] });
    assert.equal(r.status, 404);
    assert.equal(stack.upstream.requests.length, 0);
  });

  test('response headers: provider ids pass, hop-by-hop and cookies do not', async () => {
    const res = await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-test', messages: [] }) });
    await res.text();
    assert.equal(res.headers.get('set-cookie'), null);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  });
});

describe('callers without an identity', () => {
  let stack: Stack;
  const nobody: IdentitySource = { name: 'test-nobody', identify: () => undefined };
  before(async () => {
    stack = await startStack((u) => configText(providers(u)), { identity: nobody });
  });
  after(() => stack.close());

  test('are refused with 403 in their API format and nothing is forwarded', async () => {
    const a = await postJson(`${stack.url}/v1/messages`, anthropicBody(), { 'x-api-key': FAKE.anthropicKey });
    assert.equal(a.status, 403);
    assert.equal(a.json.error.type, 'permission_error');
    const g = await postJson(`${stack.url}/v1beta/models/gemini-test:generateContent`, { contents: [] });
    assert.equal(g.status, 403);
    assert.equal(g.json.error.status, 'PERMISSION_DENIED');
    const models = await fetch(`${stack.url}/v1/models`);
    assert.equal(models.status, 403);
    assert.equal(stack.upstream.requests.length, 0);
  });
});
