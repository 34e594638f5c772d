/**
 * Grants as a table: identities × models → outcome, checked through real requests, the
 * model list and /api/explain. The identity source here reads a test header so one
 * gateway can play many callers; everything after identification is the real pipeline.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { IncomingMessage } from 'node:http';
import { compileGrants } from '../src/access/grants.js';
import type { Identity, IdentitySource } from '../src/identity/identity.js';
import { configText, postJson, startStack, type Stack } from './helpers.js';

const CAP = 'tailscale.com/cap/aperture';

const people: Record<string, Identity> = {
  admin: { login: 'root@example.com', displayName: '', nodeId: 'n1', tags: [], groups: [], loopback: false, capMap: {} },
  alice: { login: 'Alice@Example.com', displayName: '', nodeId: 'n2', tags: [], groups: ['group:eng'], loopback: false, capMap: {} },
  bob: { login: 'bob@example.com', displayName: '', nodeId: 'n3', tags: [], groups: ['ml-team@example.com'], loopback: false, capMap: {} },
  ci: { login: 'tag:ci', displayName: '', nodeId: 'n4', tags: ['tag:ci'], groups: [], loopback: false, capMap: {} },
  carol: { login: 'carol@example.com', displayName: '', nodeId: 'n5', tags: [], groups: [], loopback: false, capMap: {} },
  policy: { login: 'dave@example.com', displayName: '', nodeId: 'n6', tags: [], groups: [], loopback: false, capMap: { [CAP]: [{ role: 'user' }, { models: '*/gpt-mini' }] } },
};

const asHeader: IdentitySource = {
  name: 'test-header',
  identify: (req: IncomingMessage) => people[String(req.headers['x-test-as'])],
};

const GRANTS = [
  { src: ['root@example.com'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } },
  { src: ['*'], app: { [CAP]: [{ models: 'local/**' }] } },
  { src: ['alice@example.com', 'group:eng'], app: { [CAP]: [{ role: 'user' }, { models: 'anthropic/**' }] } },
  { src: ['ml-team@example.com'], app: { [CAP]: [{ role: 'user' }, { models: 'openai/gpt-5' }, { models: 'openrouter/**' }] } },
  { src: ['tag:ci'], app: { [CAP]: [{ role: 'user' }, { models: '*/claude-sonnet*' }] } },
  { src: ['carol@example.com'], app: { [CAP]: [{ models: '**' }] } },
  { src: ['group:eng'], app: { [CAP]: [{ add_headers: ['X-Team: eng'] }] } },
];

function providers(u: string) {
  return {
    anthropic: { baseurl: u, apikey: 'sk-ant-test-p', authorization: 'x-api-key', models: ['claude-opus-4-8', 'claude-sonnet-4-6'], compatibility: { openai_chat: true } },
    openai: { baseurl: u, apikey: 'sk-test-p', models: ['gpt-5', 'gpt-mini'] },
    openrouter: { baseurl: u, apikey: 'sk-or-test-p', models: ['qwen/qwen3-coder', 'claude-sonnet-4-6'] },
    local: { baseurl: u, auth_mode: 'none', models: ['llama'] },
  };
}

// caller → model → expected status (200 served, 404 unknown/ungranted, 403 no role)
const TABLE: Record<string, Record<string, number>> = {
  admin: { 'claude-opus-4-8': 200, 'gpt-5': 200, 'qwen/qwen3-coder': 200, llama: 200 },
  alice: { 'claude-opus-4-8': 200, 'anthropic/claude-sonnet-4-6': 200, 'gpt-5': 404, llama: 200, 'openrouter/claude-sonnet-4-6': 404 },
  bob: { 'gpt-5': 200, 'gpt-mini': 404, 'qwen/qwen3-coder': 200, 'claude-sonnet-4-6': 200, 'claude-opus-4-8': 404 },
  ci: { 'claude-sonnet-4-6': 200, 'openrouter/claude-sonnet-4-6': 200, 'claude-opus-4-8': 404, llama: 200 },
  carol: { 'claude-opus-4-8': 403, llama: 403 },
  policy: { 'gpt-mini': 200, 'gpt-5': 404, llama: 200 },
};

describe('grants × identities × models', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) => configText(providers(u), GRANTS), { identity: asHeader });
  });
  after(() => stack.close());

  for (const [who, models] of Object.entries(TABLE)) {
    test(`${who}`, async () => {
      for (const [model, status] of Object.entries(models)) {
        const r = await postJson(`${stack.url}/v1/chat/completions`, { model, messages: [] }, { 'x-test-as': who });
        assert.equal(r.status, status, `${who} → ${model}: ${r.text}`);
        if (status === 403) assert.equal(r.json.error.message, 'access denied: no role granted');
        const explained = (await (await fetch(`${stack.url}/api/explain?model=${encodeURIComponent(model)}&format=openai_chat`, { headers: { 'x-test-as': who } })).json()) as { served?: boolean };
        if (status !== 403) assert.equal(explained.served, status === 200, `explain agrees for ${who} → ${model}`);
      }
      const list = await fetch(`${stack.url}/v1/models`, { headers: { 'x-test-as': who } });
      if (Object.values(models).includes(403)) {
        assert.equal(list.status, 403);
        return;
      }
      const ids = ((await list.json()) as { data: Array<{ id: string; metadata: { provider: { id: string } } }> }).data.map((m) => `${m.metadata.provider.id}/${m.id}`);
      for (const [model, status] of Object.entries(models)) {
        if (model.includes('/') && !model.startsWith('qwen/')) {
          assert.equal(ids.includes(model), status === 200, `${who}: /v1/models and ${model}`);
        }
      }
    });
  }

  test('bob is served claude-sonnet-4-6 by openrouter (the only granted provider for it)', async () => {
    stack.upstream.reset();
    await postJson(`${stack.url}/v1/chat/completions`, { model: 'claude-sonnet-4-6', messages: [] }, { 'x-test-as': 'bob' });
    assert.equal(stack.upstream.requests[0]!.headers.authorization, 'Bearer sk-or-test-p');
  });

  test('grant add_headers reach the upstream of matching callers only', async () => {
    stack.upstream.reset();
    await postJson(`${stack.url}/v1/chat/completions`, { model: 'llama', messages: [] }, { 'x-test-as': 'alice' });
    await postJson(`${stack.url}/v1/chat/completions`, { model: 'llama', messages: [] }, { 'x-test-as': 'bob' });
    assert.deepEqual(stack.upstream.requests.map((r) => r.headers['x-team']), ['eng', undefined]);
  });

  test('/api/providers lists only granted models', async () => {
    const list = (await (await fetch(`${stack.url}/api/providers`, { headers: { 'x-test-as': 'alice' } })).json()) as Array<{ id: string; models: string[] }>;
    assert.deepEqual(Object.fromEntries(list.map((p) => [p.id, p.models])), { anthropic: ['claude-opus-4-8', 'claude-sonnet-4-6'], local: ['llama'], openai: [], openrouter: [] });
  });

  test('admin-only endpoints refuse users', async () => {
    for (const path of ['/api/config', '/aperture/config', '/api/config/history']) {
      const r = await fetch(stack.url + path, { headers: { 'x-test-as': 'alice' } });
      assert.equal(r.status, 403, path);
      assert.equal(((await r.json()) as { code: string }).code, 'NOT_ADMIN');
    }
    const v = await fetch(`${stack.url}/aperture/config:validate`, { method: 'POST', headers: { 'x-test-as': 'alice' }, body: '{}' });
    assert.equal(v.status, 403);
    assert.equal((await fetch(`${stack.url}/api/config`, { headers: { 'x-test-as': 'admin' } })).status, 200);
  });
});

test('grant evaluation: highest role wins, add_headers merge, enable_chat_ui false wins', () => {
  const evaluate = compileGrants([
    { src: ['*'], caps: [{ role: 'user', extra: {} }, { add_headers: [['X-A', '1']], extra: {} }], otherApps: {} },
    { src: ['group:eng'], caps: [{ role: 'admin', extra: {} }, { enable_chat_ui: false, extra: {} }, { add_headers: [['X-B', '2']], extra: {} }], otherApps: {} },
  ]);
  const a = evaluate(people.alice!);
  assert.equal(a.role, 'admin');
  assert.deepEqual(a.addHeaders, [['X-A', '1'], ['X-B', '2']]);
  assert.equal(a.enableChatUi, false);
  const b = evaluate(people.bob!);
  assert.equal(b.role, 'user');
  assert.equal(b.enableChatUi, true);
});
