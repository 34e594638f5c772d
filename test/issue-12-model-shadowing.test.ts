/**
 * Issue 12, item 5: a provider that lists a model literally named `<another provider>/<m>`
 * (OpenRouter-style IDs) wins requests for that name over the other provider's prefix,
 * as in the reference, and in passthrough gets the caller's credential meant for the
 * other one. The order stays; `keyway check`, the API validation (and so the dashboard)
 * note every such name without blocking a save, and explain says which rule chose.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { validateConfigText } from '../src/config/validate.js';
import { FAKE, configText, postJson, startStack, type Stack } from './helpers.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function providers(u: string) {
  return {
    openai: { baseurl: u, auth_mode: 'passthrough', models: ['gpt-5', 'gpt-4o'], add_headers: ['X-Served-By: openai'] },
    openrouter: { baseurl: u, auth_mode: 'passthrough', models: ['openai/gpt-5', 'qwen/qwen3-coder', 'openrouter/auto', 'openai/o9'], add_headers: ['X-Served-By: openrouter'] },
  };
}

const SHADOW_NOTICE = 'provider openrouter lists model "openai/gpt-5", which also names provider openai (which lists "gpt-5"): exact names are matched first, so requests for "openai/gpt-5" go to openrouter, not to openai';

test('validation notes each literal name that reads as another provider\'s prefix, as a warning that blocks nothing, naming both providers', () => {
  const { config, problems } = validateConfigText(configText(providers('http://127.0.0.1:9')));
  assert.ok(config, 'warnings never block');
  const notes = problems.filter((p) => p.message.includes('also names provider')).map(({ severity, path, message }) => ({ severity, path, message }));
  assert.deepEqual(notes, [
    { severity: 'warning', path: 'providers.openrouter.models[0]', message: SHADOW_NOTICE },
    { severity: 'warning', path: 'providers.openrouter.models[3]', message: 'provider openrouter lists model "openai/o9", which also names provider openai: exact names are matched first, so requests for "openai/o9" go to openrouter, not to openai' },
  ]);
});

test('keyway check prints the warning and passes (warnings never block)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-shadow-'));
  try {
    const file = join(dir, 'config.hujson');
    await writeFile(file, configText(providers('http://127.0.0.1:9')));
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'check', file]);
    assert.match(stdout, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: warning: providers\\.openrouter\\.models\\[0\\]: `), stdout);
    assert.ok(stdout.includes(SHADOW_NOTICE), stdout);
    assert.match(stdout, /0 error\(s\), 2 warning\(s\)/);
    const explained = await promisify(execFile)(process.execPath, [CLI, 'explain', '--loopback', '--model', 'openai/gpt-5', file]);
    assert.match(explained.stdout, /served by openrouter as "openai\/gpt-5" .*\(exact name: openrouter lists "openai\/gpt-5", matched before the provider prefix "openai\/"\)/);
    assert.match(explained.stdout, /openai \(gpt-5\): shadowed: lists "gpt-5", but openrouter lists "openai\/gpt-5" itself/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

describe('issue 12: provider/model shadowing over HTTP', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) => configText(providers(u)));
  });
  after(() => stack.close());

  test('the reference\'s order is kept: the exact name wins, the bare name and other prefixed names go to openai', async () => {
    const servedBy = async (model: string) => {
      stack.upstream.reset();
      const r = await postJson(`${stack.url}/v1/chat/completions`, { model, messages: [] }, { authorization: `Bearer ${FAKE.openaiKey}` });
      const got = stack.upstream.requests[0];
      return [r.status, got?.headers['x-served-by'], (got?.json as { model?: string } | undefined)?.model];
    };
    assert.deepEqual(await servedBy('openai/gpt-5'), [200, 'openrouter', 'openai/gpt-5']);
    assert.deepEqual(await servedBy('gpt-5'), [200, 'openai', 'gpt-5']);
    assert.deepEqual(await servedBy('openai/gpt-4o'), [200, 'openai', 'gpt-4o']);
  });

  test('saving such a configuration succeeds and answers the notice; validate says Valid with the notice', async () => {
    const current = (await (await fetch(`${stack.url}/api/config`)).json()) as { config: string; hash: string };
    const validate = await postJson(`${stack.url}/aperture/config:validate`, { config: current.config });
    assert.equal(validate.json.Valid, true);
    assert.ok(validate.json.problems.some((p: { severity: string; message: string }) => p.severity === 'warning' && p.message === SHADOW_NOTICE));
    const put = await fetch(`${stack.url}/api/config`, { method: 'PUT', body: JSON.stringify({ config: current.config.replace('"gpt-4o"', '"gpt-4o", "gpt-4.1"'), hash: current.hash }) });
    assert.equal(put.status, 200);
    const saved = (await put.json()) as { problems: Array<{ message: string }> };
    assert.ok(saved.problems.some((p) => p.message === SHADOW_NOTICE));
  });

  test('explain says which rule chose the provider', async () => {
    const explain = async (model: string) => (await (await fetch(`${stack.url}/api/explain?model=${encodeURIComponent(model)}`)).json()) as any;
    const exact = await explain('openai/gpt-5');
    assert.equal(exact.provider, 'openrouter');
    assert.equal(exact.rule, 'exact name');
    assert.match(exact.summary, /\(exact name: openrouter lists "openai\/gpt-5", matched before the provider prefix "openai\/"\)/);
    assert.deepEqual(exact.candidates.find((c: { provider: string }) => c.provider === 'openai'), {
      provider: 'openai', upstream_model: 'gpt-5', verdict: 'shadowed',
      detail: 'lists "gpt-5", but openrouter lists "openai/gpt-5" itself and exact names are matched before the "openai/" prefix',
    });
    const prefix = await explain('openai/gpt-4o');
    assert.equal(prefix.provider, 'openai');
    assert.equal(prefix.rule, 'provider prefix');
    assert.match(prefix.summary, /\(provider prefix: "openai\/" names the provider, which lists "gpt-4o"\)/);
    const plain = await explain('qwen/qwen3-coder');
    assert.equal(plain.rule, 'exact name');
    assert.match(plain.summary, /\(exact name: openrouter lists "qwen\/qwen3-coder"\);/);
    const none = await explain('nothing');
    assert.equal(none.rule, null);
  });
});
