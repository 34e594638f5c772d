/**
 * Configuration at run time: the admin API (read, save with hash, validate, history,
 * rollback), masked secrets, lockout protection, cross-site refusal, file-change and
 * SIGHUP reloads, and reloads under streaming traffic that lose no request.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FAKE, configText, postJson, startStack, type Stack } from './helpers.js';

const providers = (upstream: string, models = ['gpt-a'], apikey: string = FAKE.providerKey) => ({
  openai: { baseurl: upstream, apikey, models },
});

async function getConfig(stack: Stack, reveal = false): Promise<{ config: string; hash: string; exists: boolean }> {
  const res = await fetch(`${stack.url}/api/config${reveal ? '?reveal=1' : ''}`);
  assert.equal(res.status, 200);
  return (await res.json()) as { config: string; hash: string; exists: boolean };
}

async function putConfig(stack: Stack, config: string, hash: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${stack.url}/api/config`, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ config, hash }) });
  return { status: res.status, body: (await res.json()) as any };
}

const chat = (model: string) => ({ model, messages: [{ role: 'user', content: 'hi' }] });

describe('admin configuration API', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) => configText(providers(u)));
  });
  after(() => stack.close());

  test('GET /api/config masks secrets unless ?reveal=1', async () => {
    const masked = await getConfig(stack);
    assert.equal(masked.exists, true);
    assert.match(masked.hash, /^[0-9a-f]{64}$/);
    assert.ok(!masked.config.includes(FAKE.providerKey));
    assert.ok(masked.config.includes('********'));
    const revealed = await getConfig(stack, true);
    assert.ok(revealed.config.includes(FAKE.providerKey));
    const aperture = await fetch(`${stack.url}/aperture/config`);
    assert.ok(!(await aperture.text()).includes(FAKE.providerKey));
  });

  test('PUT with the current hash applies at once; the masked key keeps the stored secret', async () => {
    const { config, hash } = await getConfig(stack);
    const edited = config.replace('"gpt-a"', '"gpt-a", "gpt-b"');
    const put = await putConfig(stack, edited, hash);
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.notEqual(put.body.hash, hash);
    stack.upstream.reset();
    const r = await postJson(`${stack.url}/v1/chat/completions`, chat('gpt-b'));
    assert.equal(r.status, 200);
    assert.equal(stack.upstream.requests[0]!.headers.authorization, `Bearer ${FAKE.providerKey}`);
    assert.ok((await readFile(stack.configPath, 'utf8')).includes(FAKE.providerKey), 'the real key is on disk');
  });

  test('PUT with a stale hash is a 409 and changes nothing', async () => {
    const { config, hash } = await getConfig(stack);
    const first = await putConfig(stack, config.replace('"gpt-b"', '"gpt-c"'), hash);
    assert.equal(first.status, 200);
    const stale = await putConfig(stack, config.replace('"gpt-b"', '"gpt-d"'), hash);
    assert.equal(stale.status, 409);
    assert.equal(stale.body.code, 'CONFIG_CONFLICT');
    assert.equal(stale.body.hash, first.body.hash);
    assert.equal((await postJson(`${stack.url}/v1/chat/completions`, chat('gpt-d'))).status, 404);
  });

  test('an invalid config is rejected with every problem and its path; the running one stays', async () => {
    const { config, hash } = await getConfig(stack);
    const bad = config.replace(`"baseurl": "${stack.upstream.url}"`, '"baseurl": "ftp://nowhere", "auth_mode": "sometimes"');
    const put = await putConfig(stack, bad, hash);
    assert.equal(put.status, 400);
    assert.equal(put.body.code, 'CONFIG_INVALID');
    const paths = (put.body.problems as Array<{ path: string; severity: string }>).filter((p) => p.severity === 'error').map((p) => p.path).sort();
    assert.deepEqual(paths, ['providers.openai.auth_mode', 'providers.openai.baseurl']);
    assert.equal((await getConfig(stack)).hash, hash);
    assert.equal((await postJson(`${stack.url}/v1/chat/completions`, chat('gpt-a'))).status, 200);
    const syntax = await putConfig(stack, '{"providers": ', hash);
    assert.equal(syntax.status, 400);
    assert.ok(syntax.body.problems[0].line >= 1);
  });

  test('warnings never block a save (unlike Aperture); the answer lists them', async () => {
    const { config, hash } = await getConfig(stack);
    const put = await putConfig(stack, config.replace('"providers"', '"hostname": "x", "providers"'), hash);
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.ok(put.body.problems.some((p: { severity: string; path: string; message: string }) => p.severity === 'warning' && p.path === 'hostname' && p.message === 'unknown config key "hostname"'));
    assert.match((await getConfig(stack)).config, /"hostname": "x"/, 'the unknown key is kept');
  });

  test('POST /aperture/config:validate: errors make it invalid, warnings are listed apart and do not', async () => {
    const { config } = await getConfig(stack);
    const ok = await fetch(`${stack.url}/aperture/config:validate`, { method: 'POST', body: JSON.stringify({ config }) });
    assert.deepEqual(((await ok.json()) as any).Valid, true);
    const warn = await fetch(`${stack.url}/aperture/config:validate`, { method: 'POST', body: config.replace('"providers"', '"basurl": "x", "providers"') });
    const warned = (await warn.json()) as { Valid: boolean; Errors: string[]; Warnings: string[] };
    assert.equal(warned.Valid, true);
    assert.deepEqual(warned.Errors, []);
    assert.ok(warned.Warnings.includes('basurl: unknown config key "basurl"'), JSON.stringify(warned));
    const bad = await fetch(`${stack.url}/aperture/config:validate`, { method: 'POST', body: config.replace('"providers"', '"auto_cost_basis": 1, "providers"') });
    const body = (await bad.json()) as { Valid: boolean; Errors: string[] };
    assert.equal(body.Valid, false);
    assert.deepEqual(body.Errors, ['auto_cost_basis: auto_cost_basis must be true or false, not number']);
  });

  test('a save that would remove the saver\'s own admin role is refused', async () => {
    const { config, hash } = await getConfig(stack);
    // The grant moves to another admin: valid, but the saver (loopback) would be locked out.
    const lockout = config.replace('"(loopback)"', '"alice@example.com"');
    assert.notEqual(lockout, config);
    const put = await putConfig(stack, lockout, hash);
    assert.equal(put.status, 400);
    assert.match(put.body.error, /remove your own admin role/);
  });

  test('a masked secret with nothing stored behind it is refused', async () => {
    const { config, hash } = await getConfig(stack);
    const next = config.replace('"providers": {', `"providers": { "other": { "baseurl": "https://example.invalid", "apikey": "********", "models": ["x"] },`);
    const put = await putConfig(stack, next, hash);
    assert.equal(put.status, 400);
    assert.match(JSON.stringify(put.body.problems), /providers\.other\.apikey is masked/);
  });

  test('cross-site browser requests cannot change the config', async () => {
    const { config, hash } = await getConfig(stack);
    const evil = await putConfig(stack, config, hash, { origin: 'https://evil.example' });
    assert.equal(evil.status, 403);
    assert.equal(evil.body.code, 'CROSS_SITE');
    const site = await putConfig(stack, config, hash, { 'sec-fetch-site': 'cross-site' });
    assert.equal(site.status, 403);
    const noToken = await putConfig(stack, config, hash, { origin: stack.url, 'sec-fetch-site': 'same-origin' });
    assert.equal(noToken.status, 403, 'a browser request needs the CSRF token');
    const { csrf_token } = (await (await fetch(`${stack.url}/api/whoami`)).json()) as { csrf_token: string };
    const wrong = await putConfig(stack, config, hash, { origin: stack.url, 'sec-fetch-site': 'same-origin', 'x-csrf-token': csrf_token.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) });
    assert.equal(wrong.status, 403);
    const same = await putConfig(stack, config, hash, { origin: stack.url, 'sec-fetch-site': 'same-origin', 'x-csrf-token': csrf_token });
    assert.equal(same.status, 200);
  });

  test('history keeps saved versions (and the one keyway started with) and a rollback restores one', async () => {
    const before = await getConfig(stack);
    const history = (await (await fetch(`${stack.url}/api/config/history`)).json()) as { versions: Array<{ id: string; hash: string; savedAt: string }> };
    assert.ok(history.versions.length >= 3, `history has ${history.versions.length}`);
    assert.ok(!Number.isNaN(Date.parse(history.versions[0]!.savedAt)));
    // The oldest version is the file keyway started with: only gpt-a.
    const oldest = history.versions.at(-1)!;
    const version = (await (await fetch(`${stack.url}/api/config/history/${oldest.id}`)).json()) as { config: string };
    assert.ok(!version.config.includes(FAKE.providerKey), 'history reads are masked too');
    assert.doesNotMatch(version.config, /gpt-b/);
    const res = await fetch(`${stack.url}/api/config/rollback`, { method: 'POST', body: JSON.stringify({ id: oldest.id, hash: before.hash }) });
    assert.equal(res.status, 200);
    // The oldest version is the file keyway started on: the current file is always in history.
    assert.equal((await postJson(`${stack.url}/v1/chat/completions`, chat('gpt-c'))).status, 404);
    assert.equal((await postJson(`${stack.url}/v1/chat/completions`, chat('gpt-b'))).status, 404);
    assert.equal((await postJson(`${stack.url}/v1/chat/completions`, chat('gpt-a'))).status, 200);
  });
});

describe('reloads', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) => configText(providers(u)), { settings: { watch: true } });
  });
  after(() => stack.close());

  async function waitFor(check: () => Promise<boolean>, ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await check()) return;
      await sleep(50);
    }
    assert.fail('condition not reached in time');
  }

  test('editing the file applies the new config without a restart', async () => {
    await writeFile(stack.configPath, configText(providers(stack.upstream.url, ['gpt-file'])));
    await waitFor(async () => (await postJson(`${stack.url}/v1/chat/completions`, chat('gpt-file'))).status === 200);
  });

  test('an invalid file is rejected and the running config stays in force', async () => {
    const rejected = new Promise((resolve) => stack.keyway.runtime.once('rejected', resolve));
    await writeFile(stack.configPath, '{"providers": {"openai": ');
    await rejected;
    assert.equal((await postJson(`${stack.url}/v1/chat/completions`, chat('gpt-file'))).status, 200);
  });

  test('SIGHUP reloads the file', async () => {
    stack.keyway.runtime.close(); // stop the file watcher so only the signal can trigger the reload
    stack.keyway.runtime.watch();
    await writeFile(stack.configPath, configText(providers(stack.upstream.url, ['gpt-hup'])));
    process.emit('SIGHUP', 'SIGHUP');
    await waitFor(async () => (await postJson(`${stack.url}/v1/chat/completions`, chat('gpt-hup'))).status === 200);
  });

  test('config reloads under concurrent streaming traffic lose no request', async () => {
    const models = ['gpt-s0', 'gpt-s1', 'gpt-s2', 'gpt-s3', 'gpt-s4', 'gpt-s5'];
    await writeFile(stack.configPath, configText(providers(stack.upstream.url, models)));
    await waitFor(async () => (await postJson(`${stack.url}/v1/chat/completions`, chat('gpt-s0'))).status === 200);

    const streams = Array.from({ length: 24 }, async (_, i) => {
      const res = await fetch(`${stack.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-mock-scenario': 'chunks=8,interval=40' },
        body: JSON.stringify({ ...chat('gpt-s0'), stream: true }),
      });
      const text = await res.text();
      return { i, status: res.status, complete: text.includes('data: [DONE]') };
    });
    // Meanwhile: five saves through the API, each adding a model, while streams are open.
    for (let n = 0; n < 5; n++) {
      await sleep(30);
      const { config, hash } = await getConfig(stack);
      const put = await putConfig(stack, config.replace('"gpt-s0"', `"gpt-s0", "gpt-extra-${n}"`), hash);
      assert.equal(put.status, 200, JSON.stringify(put.body));
    }
    const results = await Promise.all(streams);
    assert.deepEqual(results.filter((r) => r.status !== 200 || !r.complete), []);
    assert.equal((await postJson(`${stack.url}/v1/chat/completions`, chat('gpt-extra-4'))).status, 200);
  });
});
