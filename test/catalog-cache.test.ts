/**
 * The model listings (`/v1/models`, `/v1beta/models`, `/api/providers`) are serialized
 * once per configuration snapshot and set of granted models, then served as cached bytes.
 * These tests pin that the cache changes nothing a caller can see: the same bytes as a
 * fresh serialization, a new answer after a reload, and no answer crossing to a caller
 * with other grants. The identity source builds a new Identity object on every request
 * (as `serve-headers` does), so the cache cannot lean on per-identity objects.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { compileGrants } from '../src/access/grants.js';
import type { Capability, GrantSpec } from '../src/config/types.js';
import type { Identity, IdentitySource } from '../src/identity/identity.js';
import { listGeminiModels, listModels, listProviders } from '../src/server/catalog-endpoints.js';
import { configText, startStack, type Stack } from './helpers.js';

const CAP = 'tailscale.com/cap/aperture';

const LOGINS: Record<string, string> = { admin: 'root@example.com', alice: 'alice@example.com', bob: 'bob@example.com', carol: 'carol@example.com' };

const perRequest: IdentitySource = {
  name: 'test-header',
  identify(req: IncomingMessage): Identity | undefined {
    const login = LOGINS[String(req.headers['x-test-as'])];
    return login ? { login, displayName: '', nodeId: '', tags: [], groups: [], loopback: false, capMap: {} } : undefined;
  },
};

const GRANTS = [
  { src: ['root@example.com'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } },
  { src: ['alice@example.com', 'carol@example.com'], app: { [CAP]: [{ role: 'user' }, { models: 'anthropic/**' }] } },
  { src: ['bob@example.com'], app: { [CAP]: [{ role: 'user' }, { models: 'openai/gpt-5' }, { models: 'gemini/*' }] } },
];

function providers(u: string, extraOpenAi: string[] = []) {
  return {
    anthropic: { baseurl: u, apikey: 'sk-ant-test-p', authorization: 'x-api-key', models: ['claude-opus-4-8', 'claude-sonnet-4-6'], compatibility: { anthropic_messages: true } },
    openai: { baseurl: u, apikey: 'sk-test-p', models: ['gpt-5', 'gpt-mini', ...extraOpenAi] },
    gemini: { baseurl: u, apikey: 'test-google-key', authorization: 'x-goog-api-key', models: ['gemini-pro'], compatibility: { gemini_generate_content: true } },
  };
}

const PATHS = ['/v1/models', '/v1beta/models', '/api/providers'] as const;

describe('model listings are cached per snapshot and granted models', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) => configText(providers(u), GRANTS), { identity: perRequest });
  });
  after(() => stack.close());

  async function get(path: string, who: string): Promise<{ status: number; length: string | null; type: string | null; body: Buffer }> {
    const res = await fetch(stack.url + path, { headers: { 'x-test-as': who } });
    return { status: res.status, length: res.headers.get('content-length'), type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
  }

  const modelIds = (body: Buffer) => (JSON.parse(body.toString()) as { data: Array<{ id: string; owned_by: string }> }).data.map((m) => `${m.owned_by}/${m.id}`);

  test('a second call returns the identical bytes, equal to a fresh serialization', async () => {
    const snapshot = stack.keyway.runtime.current;
    for (const who of ['admin', 'alice', 'bob']) {
      const access = snapshot.accessFor(perRequest.identify({ headers: { 'x-test-as': who } } as unknown as IncomingMessage) as Identity);
      const fresh: Record<(typeof PATHS)[number], string> = {
        '/v1/models': JSON.stringify(listModels(snapshot, access, stack.keyway.modelDates)),
        '/v1beta/models': JSON.stringify(listGeminiModels(snapshot, access)),
        '/api/providers': JSON.stringify(listProviders(snapshot, access)),
      };
      for (const path of PATHS) {
        const first = await get(path, who);
        const second = await get(path, who);
        assert.equal(first.status, 200, `${who} ${path}`);
        assert.equal(first.type, 'application/json');
        assert.equal(first.length, String(first.body.length));
        assert.ok(second.body.equals(first.body), `${who} ${path}: second answer differs`);
        assert.equal(second.length, first.length);
        assert.equal(first.body.toString(), fresh[path], `${who} ${path}: cached bytes differ from a fresh serialization`);
      }
    }
  });

  test('callers with other grants get their own lists, in any order of calls', async () => {
    const want: Record<string, string[]> = {
      admin: ['anthropic/claude-opus-4-8', 'anthropic/claude-sonnet-4-6', 'gemini/gemini-pro', 'openai/gpt-5', 'openai/gpt-mini'],
      alice: ['anthropic/claude-opus-4-8', 'anthropic/claude-sonnet-4-6'],
      carol: ['anthropic/claude-opus-4-8', 'anthropic/claude-sonnet-4-6'],
      bob: ['gemini/gemini-pro', 'openai/gpt-5'],
    };
    for (const who of ['bob', 'alice', 'admin', 'bob', 'carol', 'alice', 'bob']) {
      assert.deepEqual(modelIds((await get('/v1/models', who)).body).sort(), want[who], who);
    }
    const gemini = async (who: string) => (JSON.parse((await get('/v1beta/models', who)).body.toString()) as { models: Array<{ name: string }> }).models.map((m) => m.name);
    // Through translation every granted model is reachable in Gemini's API too.
    assert.deepEqual(await gemini('bob'), ['models/gemini-pro', 'models/gpt-5']);
    assert.deepEqual(await gemini('alice'), ['models/claude-opus-4-8', 'models/claude-sonnet-4-6']);
    const providersOf = async (who: string) =>
      Object.fromEntries((JSON.parse((await get('/api/providers', who)).body.toString()) as Array<{ id: string; models: string[] }>).map((p) => [p.id, p.models]));
    assert.deepEqual(await providersOf('alice'), { anthropic: ['claude-opus-4-8', 'claude-sonnet-4-6'], gemini: [], openai: [] });
    assert.deepEqual(await providersOf('bob'), { anthropic: [], gemini: ['gemini-pro'], openai: ['gpt-5'] });
    // alice and carol share grants: the same bytes
    assert.ok((await get('/v1/models', 'alice')).body.equals((await get('/v1/models', 'carol')).body));
  });

  test('a reload that changes the model list changes the answers (nothing stale)', async () => {
    const before = await Promise.all(PATHS.map((p) => get(p, 'admin')));
    assert.ok(!modelIds(before[0]!.body).includes('openai/gpt-new'));
    await writeFile(stack.configPath, configText(providers(stack.upstream.url, ['gpt-new']), GRANTS));
    assert.equal(await stack.keyway.runtime.reload('file'), true);
    const afterReload = await Promise.all(PATHS.map((p) => get(p, 'admin')));
    assert.ok(modelIds(afterReload[0]!.body).includes('openai/gpt-new'));
    const providersAfter = JSON.parse(afterReload[2]!.body.toString()) as Array<{ id: string; models: string[] }>;
    assert.deepEqual(providersAfter.find((p) => p.id === 'openai')!.models, ['gpt-5', 'gpt-mini', 'gpt-new']);
    // `created` is when keyway first offered a model: the new one has this snapshot's load
    // time, the others keep theirs; and the bytes match a fresh serialization
    const snapshot = stack.keyway.runtime.current;
    type Row = { id: string; owned_by: string; created: number };
    const earlier = (JSON.parse(before[0]!.body.toString()) as { data: Row[] }).data;
    for (const m of (JSON.parse(afterReload[0]!.body.toString()) as { data: Row[] }).data) {
      const old = earlier.find((o) => o.owned_by === m.owned_by && o.id === m.id);
      assert.equal(m.created, old ? old.created : Math.floor(snapshot.loadedAt.getTime() / 1000), `${m.owned_by}/${m.id}`);
    }
    const access = snapshot.accessFor(perRequest.identify({ headers: { 'x-test-as': 'admin' } } as unknown as IncomingMessage) as Identity);
    assert.equal(afterReload[0]!.body.toString(), JSON.stringify(listModels(snapshot, access, stack.keyway.modelDates)));
    // bob's grants do not cover the new model: his list is unchanged
    assert.deepEqual(modelIds((await get('/v1/models', 'bob')).body).sort(), ['gemini/gemini-pro', 'openai/gpt-5']);
    assert.ok(!modelIds((await get('/v1/models', 'alice')).body).includes('openai/gpt-new'));
  });
});

describe('Access.modelsKey and canUseModel', () => {
  const who = (login: string, capMap: Identity['capMap'] = {}): Identity => ({ login, displayName: '', nodeId: '', tags: [], groups: [], loopback: false, capMap });
  const grant = (src: string[], ...caps: Array<Omit<Capability, 'extra'>>): GrantSpec => ({ src, caps: caps.map((c) => ({ ...c, extra: {} })), otherApps: {} });
  const evaluate = compileGrants([
    grant(['a@x', 'b@x'], { role: 'user' }, { models: 'anthropic/**' }, { models: 'openai/gpt-5' }),
    grant(['c@x'], { role: 'user' }, { models: 'openai/gpt-5' }, { models: 'anthropic/**' }),
    grant(['d@x'], { role: 'user' }, { models: 'openai/gpt-5' }),
    grant(['e@x'], { role: 'admin' }, { models: '**' }, { models: 'openai/gpt-5' }),
  ]);

  test('the same granted patterns give the same key whatever their order; other patterns another', () => {
    const [a, b, c, d] = ['a@x', 'b@x', 'c@x', 'd@x'].map((l) => evaluate(who(l)));
    assert.notEqual(a, b);
    assert.equal(a!.modelsKey, b!.modelsKey);
    assert.equal(a!.modelsKey, c!.modelsKey);
    assert.notEqual(a!.modelsKey, d!.modelsKey);
    // patterns from the tailnet policy count too
    const policy = evaluate(who('d@x', { [CAP]: [{ models: 'anthropic/**' }] }));
    assert.equal(policy.modelsKey, a!.modelsKey);
  });

  test('canUseModel: ** allows all, exact names and globs as before', () => {
    const a = evaluate(who('a@x'));
    assert.equal(a.canUseModel('openai', 'gpt-5'), true);
    assert.equal(a.canUseModel('openai', 'gpt-5-mini'), false);
    assert.equal(a.canUseModel('anthropic', 'claude-x'), true);
    assert.equal(a.canUseModel('anthropic', 'vendor/claude-x'), true);
    assert.equal(a.canUseModel('anthropic-x', 'claude'), false);
    const d = evaluate(who('d@x'));
    assert.equal(d.canUseModel('openai', 'gpt-5'), true);
    assert.equal(d.canUseModel('anthropic', 'claude-x'), false);
    const e = evaluate(who('e@x'));
    assert.equal(e.canUseModel('anything', 'any/thing'), true);
    assert.equal(evaluate(who('nobody@x')).canUseModel('openai', 'gpt-5'), false);
  });
});
