/**
 * Every example of the passthrough-mode reference page, as written, with real curl.
 * Only the provider's baseurl differs: it points at the loopback mock instead of
 * api.anthropic.com (there is no internet here).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { FAKE, startStack, type Stack } from './helpers.js';

const run = promisify(execFile);
const FALLBACK = 'sk-ant-test-fallback-key-0001';

async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run('curl', ['-s', '-w', '\n%{http_code}', ...args]);
  const cut = stdout.lastIndexOf('\n');
  return { body: stdout.slice(0, cut), status: Number(stdout.slice(cut + 1)) };
}

describe('the passthrough-mode page, example by example', () => {
  let stack: Stack;
  let hash: string;
  before(async () => {
    // Start with an empty gateway, then add the page's provider through the admin API.
    stack = await startStack(() => JSON.stringify({ providers: {}, grants: [{ src: ['(loopback)'], app: { 'tailscale.com/cap/aperture': [{ role: 'admin' }, { models: '**' }] } }] }));
    hash = ((await (await fetch(`${stack.url}/api/config`)).json()) as { hash: string }).hash;
  });
  after(() => stack.close());

  test('configure the provider: the save is accepted and applied without a restart', async () => {
    const config = `{
  "providers": {
    "anthropic-passthrough": {
      "baseurl": "${stack.upstream.url}",
      "authorization": "x-api-key",
      "auth_mode": "passthrough",
      "apikey": "${FALLBACK}",
      "models": ["claude-opus-4-8"],
      "compatibility": { "anthropic_messages": true }
    }
  },
  "grants": [{ "src": ["(loopback)"], "app": { "tailscale.com/cap/aperture": [{ "role": "admin" }, { "models": "**" }] } }]
}`;
    const res = await fetch(`${stack.url}/api/config`, { method: 'PUT', body: JSON.stringify({ config, hash }) });
    assert.equal(res.status, 200, await res.clone().text());
    hash = ((await res.json()) as { hash: string }).hash;
  });

  test('verify: curl -s http://<host>/v1/models lists the bare id with metadata.provider.id', async () => {
    const r = await curl([`${stack.url}/v1/models`]);
    assert.equal(r.status, 200);
    const row = (JSON.parse(r.body) as { data: Array<{ id: string; metadata: { provider: { id: string; requires_client_auth: boolean } } }> }).data[0]!;
    assert.equal(row.id, 'claude-opus-4-8');
    assert.equal(row.metadata.provider.id, 'anthropic-passthrough');
    assert.equal(row.metadata.provider.requires_client_auth, false, 'a fallback key is configured');
    assert.ok(!r.body.includes(FALLBACK));
  });

  test('send a request: the x-api-key goes upstream unchanged and the prefix is stripped', async () => {
    stack.upstream.reset();
    const r = await curl([
      `${stack.url}/v1/messages`,
      '-H', `x-api-key: ${FAKE.anthropicKey}`,
      '-H', 'anthropic-version: 2023-06-01',
      '-H', 'content-type: application/json',
      '-d', '{"model": "anthropic-passthrough/claude-opus-4-8", "max_tokens": 64, "messages": [{"role": "user", "content": "Say hello."}]}',
    ]);
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { content: Array<{ text: string }> }).content[0]!.text, 'MOCK_OK (anthropic claude-opus-4-8)');
    const got = stack.upstream.requests[0]!;
    assert.equal(got.headers['x-api-key'], FAKE.anthropicKey);
    assert.equal(got.headers.authorization, undefined);
    assert.equal((got.json as { model: string }).model, 'claude-opus-4-8');
  });

  test('a deliberately invalid x-api-key is rejected by the upstream, not replaced by the fallback', async () => {
    stack.upstream.reset();
    const r = await curl([
      `${stack.url}/v1/messages`,
      '-H', 'x-api-key: sk-ant-test-invalid',
      '-H', 'anthropic-version: 2023-06-01',
      '-H', 'content-type: application/json',
      '-d', '{"model": "anthropic-passthrough/claude-opus-4-8", "max_tokens": 64, "messages": [{"role": "user", "content": "Say hello."}]}',
    ]);
    assert.equal(r.status, 401);
    assert.match(r.body, /authentication_error/);
    assert.equal(stack.upstream.requests[0]!.headers['x-api-key'], 'sk-ant-test-invalid');
  });

  test('a subscription OAuth token (no ANTHROPIC_API_KEY) passes as the bearer, with no x-api-key beside it', async () => {
    stack.upstream.reset();
    const r = await curl([
      `${stack.url}/v1/messages?beta=true`,
      '-H', `authorization: Bearer ${FAKE.anthropicOauth}`,
      '-H', 'anthropic-beta: oauth-2025-04-20',
      '-H', 'anthropic-version: 2023-06-01',
      '-H', 'content-type: application/json',
      '-d', '{"model": "claude-opus-4-8", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}',
    ]);
    assert.equal(r.status, 200);
    const got = stack.upstream.requests[0]!;
    assert.equal(got.headers.authorization, `Bearer ${FAKE.anthropicOauth}`);
    assert.equal(got.headers['x-api-key'], undefined);
  });

  test('a client without a credential gets the fallback key', async () => {
    stack.upstream.reset();
    const r = await curl([`${stack.url}/v1/messages`, '-H', 'content-type: application/json', '-d', '{"model": "claude-opus-4-8", "max_tokens": 8, "messages": []}']);
    assert.equal(r.status, 200);
    assert.equal(stack.upstream.requests[0]!.headers['x-api-key'], FALLBACK);
  });

  test('invalid provider definitions are rejected on save; an empty models list saves but serves nothing', async () => {
    const current = ((await (await fetch(`${stack.url}/api/config`)).json()) as { config: string }).config;
    for (const [bad, message] of [
      [current.replace(`"baseurl": "${stack.upstream.url}",`, ''), /has no baseurl configured/],
      [current.replace('"auth_mode": "passthrough"', '"auth_mode": "pass-through"'), /invalid auth_mode/],
    ] as const) {
      const res = await fetch(`${stack.url}/api/config`, { method: 'PUT', body: JSON.stringify({ config: bad, hash }) });
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { error: string }).error, message);
    }
    const empty = current.replace('["claude-opus-4-8"]', '[]');
    const res = await fetch(`${stack.url}/api/config`, { method: 'PUT', body: JSON.stringify({ config: empty, hash }) });
    assert.equal(res.status, 200);
    const models = (await (await fetch(`${stack.url}/v1/models`)).json()) as { data: unknown[] };
    assert.deepEqual(models.data, []);
  });
});
