/** Model routing, /v1/models and /api/providers, with grants narrowing what a caller sees. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FAKE, configText, postJson, startStack, type Stack } from './helpers.js';

function providers(upstream: string) {
  // Each provider tags its requests, so the test can see which one served a call.
  const chat = (id: string, extra: Record<string, unknown>) => ({ baseurl: upstream, apikey: FAKE.providerKey, add_headers: [`X-Served-By: ${id}`], ...extra });
  return {
    // "shared" is served by three providers: preference decides, ties go to the smaller ID.
    alpha: chat('alpha', { models: ['shared', 'tie'], preference: 1 }),
    beta: chat('beta', { models: ['shared'], preference: 5 }),
    gamma: chat('gamma', { models: ['shared', 'tie'], preference: 1 }),
    disabled: chat('disabled', { models: ['shared', 'only-disabled'], preference: 99, disabled: true }),
    openrouter: chat('openrouter', { models: ['qwen/qwen3-coder', 'anthropic/claude-x'] }),
    anthropic: { baseurl: upstream, authorization: 'x-api-key', auth_mode: 'passthrough', models: ['claude-a'], compatibility: { anthropic_messages: true } },
  };
}

const chat = (model: string) => ({ model, messages: [{ role: 'user', content: 'hi' }] });

describe('routing', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) => configText(providers(u)));
  });
  after(() => stack.close());

  async function servedBy(model: string): Promise<{ status: number; upstreamModel?: string; provider?: string }> {
    stack.upstream.reset();
    const r = await postJson(`${stack.url}/v1/chat/completions`, chat(model));
    const req = stack.upstream.requests[0];
    return { status: r.status, upstreamModel: (req?.json as { model?: string } | undefined)?.model, provider: req?.headers['x-served-by'] };
  }

  test('a bare name goes to the enabled provider with the highest preference; ties to the first ID', async () => {
    assert.deepEqual(await servedBy('shared'), { status: 200, upstreamModel: 'shared', provider: 'beta' });
    assert.deepEqual(await servedBy('tie'), { status: 200, upstreamModel: 'tie', provider: 'alpha' });
    assert.deepEqual(await servedBy('gamma/tie'), { status: 200, upstreamModel: 'tie', provider: 'gamma' });
  });

  test('provider/model targets that provider and strips the prefix; a disabled provider is never used', async () => {
    for (const id of ['alpha', 'gamma']) {
      assert.deepEqual(await servedBy(`${id}/tie`), { status: 200, upstreamModel: 'tie', provider: id });
    }
    assert.equal((await servedBy('disabled/shared')).status, 404);
    assert.equal((await servedBy('only-disabled')).status, 404);
  });

  test('model IDs that contain "/" resolve exactly first, then with a provider prefix', async () => {
    const exact = await servedBy('qwen/qwen3-coder');
    assert.equal(exact.status, 200);
    assert.equal(exact.upstreamModel, 'qwen/qwen3-coder');
    const prefixed = await servedBy('openrouter/anthropic/claude-x');
    assert.equal(prefixed.status, 200);
    assert.equal(prefixed.upstreamModel, 'anthropic/claude-x');
  });

  test('a provider without the format flag serves that format only through translation (--translation off: not at all, translation.test.ts)', async () => {
    stack.upstream.reset();
    const r = await postJson(`${stack.url}/v1/messages`, { model: 'shared', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-keyway-translation'), 'openai_chat');
    assert.equal(stack.upstream.requests[0]!.path, '/v1/chat/completions');
    assert.equal(stack.upstream.requests[0]!.headers['x-served-by'], 'beta');
    const ok = await postJson(`${stack.url}/v1/messages`, { model: 'claude-a', max_tokens: 5, messages: [] }, { 'x-api-key': FAKE.anthropicKey });
    assert.equal(ok.status, 200);
  });

  test('/v1/models: one row per (provider, model), passthrough-only listed, disabled not, no keys', async () => {
    const res = await fetch(`${stack.url}/v1/models`);
    const text = await res.text();
    const body = JSON.parse(text) as { object: string; data: Array<{ id: string; supported_endpoints: string[]; metadata: { provider: { id: string; requires_client_auth: boolean } } }> };
    assert.equal(body.object, 'list');
    const rows = body.data.map((r) => `${r.metadata.provider.id}/${r.id}`);
    assert.ok(rows.includes('alpha/shared') && rows.includes('beta/shared') && rows.includes('gamma/shared'));
    assert.ok(rows.includes('anthropic/claude-a'));
    assert.ok(rows.includes('openrouter/qwen/qwen3-coder'));
    assert.ok(!rows.some((r) => r.startsWith('disabled/')), 'disabled providers are not listed');
    const claude = body.data.find((r) => r.id === 'claude-a')!;
    // Its own endpoint first, then those keyway reaches it through by translating, marked as such.
    assert.deepEqual(claude.supported_endpoints, ['/v1/messages', '/v1/chat/completions', '/v1/responses', '/v1beta/models/{model}:generateContent']);
    assert.deepEqual((claude.metadata as { translated_endpoints?: string[] }).translated_endpoints, ['/v1/chat/completions', '/v1/responses', '/v1beta/models/{model}:generateContent']);
    assert.equal(claude.metadata.provider.requires_client_auth, true);
    assert.equal(body.data.find((r) => r.id === 'qwen/qwen3-coder')!.metadata.provider.requires_client_auth, false);
    assert.ok(!text.includes(FAKE.providerKey));
  });

  test('/api/providers lists disabled providers too, never a key', async () => {
    const res = await fetch(`${stack.url}/api/providers`);
    const text = await res.text();
    const list = JSON.parse(text) as Array<{ id: string; disabled: boolean; models: string[]; compatibility: Record<string, boolean> }>;
    assert.deepEqual(list.map((p) => p.id), ['alpha', 'anthropic', 'beta', 'disabled', 'gamma', 'openrouter']);
    assert.equal(list.find((p) => p.id === 'disabled')!.disabled, true);
    assert.equal(list.find((p) => p.id === 'anthropic')!.compatibility.anthropic_messages, true);
    assert.ok(!text.includes(FAKE.providerKey));
  });
});

describe('routing with narrow grants', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) =>
      configText(providers(u), [
        { src: ['(loopback)'], app: { 'tailscale.com/cap/aperture': [{ role: 'user' }, { models: 'gamma/**' }, { models: 'anthropic/claude-a' }] } },
        { src: ['someone-else@example.com'], app: { 'tailscale.com/cap/aperture': [{ role: 'admin' }, { models: '**' }] } },
      ]),
    );
  });
  after(() => stack.close());

  test('among several providers only granted ones are candidates', async () => {
    stack.upstream.reset();
    const r = await postJson(`${stack.url}/v1/chat/completions`, chat('shared'));
    assert.equal(r.status, 200);
    assert.equal(stack.upstream.requests[0]!.headers['x-served-by'], 'gamma', 'beta has a higher preference but is not granted');
    assert.equal((await postJson(`${stack.url}/v1/chat/completions`, chat('beta/shared'))).status, 404);
  });

  test('an ungranted model looks exactly like an unknown one', async () => {
    const ungranted = await postJson(`${stack.url}/v1/chat/completions`, chat('qwen/qwen3-coder'));
    const unknown = await postJson(`${stack.url}/v1/chat/completions`, chat('no-such-model'));
    assert.equal(ungranted.status, 404);
    assert.equal(unknown.status, 404);
    assert.equal(ungranted.json.error.code, unknown.json.error.code);
  });

  test('/v1/models lists only granted models', async () => {
    const body = (await (await fetch(`${stack.url}/v1/models`)).json()) as { data: Array<{ id: string; metadata: { provider: { id: string } } }> };
    assert.deepEqual(body.data.map((r) => `${r.metadata.provider.id}/${r.id}`).sort(), ['anthropic/claude-a', 'gamma/shared', 'gamma/tie']);
  });

  test('a user is not an admin', async () => {
    const res = await fetch(`${stack.url}/api/config`);
    assert.equal(res.status, 403);
  });
});

describe('callers with no role', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) => configText(providers(u), [{ src: ['someone-else@example.com'], app: { 'tailscale.com/cap/aperture': [{ role: 'admin' }, { models: '**' }] } }]));
  });
  after(() => stack.close());

  test('get 403 "access denied: no role granted" before anything is read or forwarded', async () => {
    const r = await postJson(`${stack.url}/v1/chat/completions`, chat('shared'));
    assert.equal(r.status, 403);
    assert.equal(r.json.error.message, 'access denied: no role granted');
    const own = await fetch(`${stack.url}/api/providers`);
    assert.equal(own.status, 403);
    assert.deepEqual(await own.json(), { error: 'access denied: no role granted', code: 'NO_ROLE' });
    assert.equal(stack.upstream.requests.length, 0);
  });
});
