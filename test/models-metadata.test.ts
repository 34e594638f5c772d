/**
 * `/v1/models` metadata that clients keep: a model's `created` is when keyway first offered
 * it, the same after a reload, a baseurl change and a restart (it used to be each
 * snapshot's load time); `metadata.provider.upstream` names the service behind the provider
 * and does not turn into "self-hosted" when its baseurl moves to a proxy or the mock.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { configText, startStack, type Stack } from './helpers.js';

interface Row {
  id: string;
  owned_by: string;
  created: number;
  created_at: string;
  metadata: { provider: { id: string; upstream: string } };
}

const ANTHROPIC = { authorization: 'x-api-key', apikey: 'sk-ant-test-provider-key', compatibility: { anthropic_messages: true } };

/** The providers, with anthropic's baseurl and models changeable between reloads. */
function providers(u: string, anthropicUrl = u, anthropicModels = ['claude-opus-4-8']) {
  return {
    anthropic: { ...ANTHROPIC, baseurl: anthropicUrl, models: anthropicModels },
    openai: { baseurl: u, apikey: 'sk-test-provider-key', models: ['gpt-5'] },
    cloud: { ...ANTHROPIC, baseurl: 'https://api.anthropic.com', models: ['claude-sonnet-4-6'] },
    router: { baseurl: 'https://openrouter.ai/api', apikey: 'sk-test-router', models: ['qwen/qwen3-coder'] },
    tailnet: { baseurl: 'http://gpu-box.tail1234.ts.net:8000', auth_mode: 'none', models: ['llama-3'] },
    mixed: { baseurl: u, auth_mode: 'none', models: ['both-1'], compatibility: { openai_chat: true, anthropic_messages: true } },
    priced: { baseurl: u, apikey: 'sk-test-vercel', cost_basis: 'vercel', models: ['v-1'] },
  };
}

describe('/v1/models: created and upstream', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) => configText(providers(u)));
  });
  after(() => stack.close());

  async function models(): Promise<Map<string, Row>> {
    const res = await fetch(`${stack.url}/v1/models`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { data: Row[] };
    return new Map(body.data.map((r) => [`${r.owned_by}/${r.id}`, r]));
  }

  async function reload(text: string): Promise<void> {
    await writeFile(stack.configPath, text);
    assert.equal(await stack.keyway.runtime.reload('file'), true);
  }

  test('upstream names the service: its host, else what its API formats speak; cost_basis wins', async () => {
    const upstream = Object.fromEntries([...(await models()).values()].map((r) => [r.owned_by, r.metadata.provider.upstream]));
    assert.deepEqual(upstream, {
      anthropic: 'anthropic', // 127.0.0.1, Anthropic Messages
      openai: 'openai', // 127.0.0.1, OpenAI chat
      cloud: 'anthropic', // api.anthropic.com
      router: 'openrouter', // openrouter.ai
      tailnet: 'openai', // a tailnet machine names no service
      mixed: 'self-hosted', // speaks two services' APIs
      priced: 'vercel',
    });
  });

  test('created stays across reloads and a baseurl change; a model added later is newer; upstream stays right', async () => {
    const first = await models();
    for (const r of first.values()) {
      assert.equal(r.created, Math.floor(Date.parse(r.created_at) / 1000), `${r.owned_by}/${r.id}: created and created_at agree`);
    }
    await new Promise((r) => setTimeout(r, 20));
    // Any edit makes a new snapshot with a new load time: here another provider's description.
    const edited = providers(stack.upstream.url) as Record<string, Record<string, unknown>>;
    edited.openai!.description = 'edited';
    await reload(configText(edited));
    const local = stack.upstream.url.replace('127.0.0.1', 'localhost');
    await new Promise((r) => setTimeout(r, 20));
    await reload(configText(providers(stack.upstream.url, local, ['claude-opus-4-8', 'claude-new'])));
    const later = await models();
    for (const [key, r] of first) {
      assert.equal(later.get(key)?.created_at, r.created_at, `${key} kept its created time`);
      assert.equal(later.get(key)?.created, r.created);
    }
    const added = later.get('anthropic/claude-new')!;
    assert.equal(added.created_at, stack.keyway.runtime.current.loadedAt.toISOString(), 'a new model: the load time of the configuration that added it');
    assert.ok(Date.parse(added.created_at) > Date.parse(first.get('anthropic/claude-opus-4-8')!.created_at));
    assert.equal(later.get('anthropic/claude-opus-4-8')!.metadata.provider.upstream, 'anthropic', 'a baseurl on localhost: still anthropic');
  });

  test('created survives a restart: the dates are kept in the data folder', async () => {
    const before = await models();
    await stack.keyway.modelDates.flush();
    const file = JSON.parse(await readFile(join(stack.dataDir, 'model-dates.json'), 'utf8')) as { firstSeen: Record<string, string> };
    assert.equal(file.firstSeen['anthropic/claude-new'], before.get('anthropic/claude-new')!.created_at);
    const again = await startStack(() => '', { upstream: stack.upstream, reuseDataDir: stack.dataDir });
    try {
      const res = await fetch(`${again.url}/v1/models`);
      const rows = ((await res.json()) as { data: Row[] }).data;
      assert.equal(rows.length, before.size);
      for (const r of rows) assert.equal(r.created_at, before.get(`${r.owned_by}/${r.id}`)!.created_at, `${r.owned_by}/${r.id} after the restart`);
    } finally {
      // The folder belongs to the first stack: close the second without removing it.
      await again.keyway.close(100);
    }
  });
});
