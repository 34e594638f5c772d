/**
 * One verdict for a configuration, whoever asks. The same document gets the same answer
 * from `keyway check`, from a start (startKeyway and the CLI), from a file reload, from
 * `PUT /api/config` and from `:validate`: errors are refused by all of them, warnings by
 * none. A refused reload is visible (log line, metric, `GET /api/config`), and every
 * applied version lands in the history whatever its source.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createLogger } from '../src/log.js';
import { DEFAULT_SETTINGS, startKeyway } from '../src/start.js';
import { FAKE, LOOPBACK_ADMIN_ALL, configText, postJson, startStack, type Stack } from './helpers.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, KEYWAY_LOG_LEVEL: 'silent' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const chat = (model: string) => ({ model, messages: [{ role: 'user', content: 'hi' }] });

/** A good provider "openai" serving gpt-a, plus whatever `extra` adds to it or the document. */
function doc(upstream: string, provider: Record<string, unknown> = {}, top: Record<string, unknown> = {}, models = ['gpt-a']): string {
  return configText({ openai: { baseurl: upstream, apikey: FAKE.providerKey, models, ...provider } }, LOOPBACK_ADMIN_ALL, top);
}

/**
 * Documents with an error, each refused everywhere: `path` is the problem's path and
 * `message` its wording. What used to load with a provider silently dropped is here.
 */
const BAD: Array<{ name: string; text: (u: string) => string; path: string; message: RegExp }> = [
  { name: 'an auth_mode typo', text: (u) => doc(u, { auth_mode: 'passthru' }), path: 'providers.openai.auth_mode', message: /provider openai has invalid auth_mode: passthru/ },
  { name: 'a misspelled baseurl', text: (u) => configText({ openai: { basurl: u, apikey: FAKE.providerKey, models: ['gpt-a'] } }), path: 'providers.openai.baseurl', message: /provider openai has no baseurl configured/ },
  { name: 'a wildcard model name', text: (u) => doc(u, {}, {}, ['gpt-*']), path: 'providers.openai.models[0]', message: /contains a wildcard/ },
  { name: 'a duplicate key', text: (u) => doc(u).replace('"models"', '"apikey": "sk-test-other",\n      "models"'), path: 'providers.openai.apikey', message: /duplicate config key "apikey"/ },
  { name: 'a value of the wrong type', text: (u) => doc(u, { disabled: 'yes' }), path: 'providers.openai.disabled', message: /must be true or false, not string/ },
  { name: 'an unreadable retention', text: (u) => doc(u, {}, { database: { retention: { duration: 'a month' } } }), path: 'database.retention.duration', message: /is not a duration/ },
  { name: 'an unknown role', text: (u) => configText({ openai: { baseurl: u, apikey: FAKE.providerKey, models: ['gpt-a'] } }, [{ src: ['(loopback)'], app: { 'tailscale.com/cap/aperture': [{ role: 'owner' }, { role: 'admin' }] } }]), path: 'grants[0].app["tailscale.com/cap/aperture"][0].role', message: /invalid role "owner"/ },
];

describe('one verdict: a document with an error is refused everywhere', () => {
  let stack: Stack;
  let dir: string;
  before(async () => {
    stack = await startStack((u) => doc(u));
    dir = await mkdtemp(join(tmpdir(), 'keyway-verdict-'));
  });
  after(async () => {
    await stack.close();
    await rm(dir, { recursive: true, force: true });
  });

  const runningHash = async () => ((await (await fetch(`${stack.url}/api/config`)).json()) as { hash: string }).hash;

  for (const bad of BAD) {
    test(`${bad.name}: check, start, reload, PUT and validate all refuse it`, async () => {
      const text = bad.text(stack.upstream.url);
      const file = join(dir, `${bad.name.replace(/\W+/g, '-')}.hujson`);
      await writeFile(file, text);
      const line = new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: error: ${bad.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `);

      // keyway check: exit 1, the problem as file:line:col: error: path: message.
      const checked = await cli(['check', file]);
      assert.equal(checked.code, 1, checked.stdout);
      assert.match(checked.stdout, line);
      assert.match(checked.stdout, bad.message);

      // Start: startKeyway rejects with the problem, the CLI exits 1 printing the same line.
      const dataDir = join(dir, `${bad.name.replace(/\W+/g, '-')}-data`);
      await assert.rejects(
        startKeyway({ ...DEFAULT_SETTINGS, port: 0, dataDir, configPath: file, watch: false }, { env: {}, log: createLogger('silent') }),
        (err: Error & { problems?: Array<{ path: string; severity: string }> }) => err.problems?.some((p) => p.severity === 'error' && p.path === bad.path) === true,
      );
      const started = await cli(['serve', '--port', '0', '--data-dir', dataDir, '--config', file]);
      assert.equal(started.code, 1, started.stderr);
      assert.match(started.stderr, line);
      assert.match(started.stderr, /keyway did not start/);

      // File reload: refused, the running configuration stays in force.
      const before = await runningHash();
      await writeFile(stack.configPath, text);
      assert.equal(await stack.keyway.runtime.reload('file'), false);
      assert.equal(await runningHash(), before);
      assert.equal((await postJson(`${stack.url}/v1/chat/completions`, chat('gpt-a'))).status, 200);

      // PUT /api/config: 400 naming the field; nothing changes.
      const put = await fetch(`${stack.url}/api/config`, { method: 'PUT', body: JSON.stringify({ config: text, hash: before }) });
      const putBody = (await put.json()) as { code: string; error: string; problems: Array<{ path: string; severity: string }> };
      assert.equal(put.status, 400);
      assert.equal(putBody.code, 'CONFIG_INVALID');
      assert.ok(putBody.problems.some((p) => p.severity === 'error' && p.path === bad.path), JSON.stringify(putBody.problems));
      assert.equal(await runningHash(), before);

      // :validate: Valid false, the error named.
      const validated = (await (await fetch(`${stack.url}/aperture/config:validate`, { method: 'POST', body: JSON.stringify({ config: text }) })).json()) as { Valid: boolean; Errors: string[] };
      assert.equal(validated.Valid, false);
      assert.ok(validated.Errors.some((e) => e.startsWith(`${bad.path}: `) && bad.message.test(e)), JSON.stringify(validated.Errors));

      // Put the good file back: the refusal is over.
      await writeFile(stack.configPath, doc(stack.upstream.url));
      await stack.keyway.runtime.reload('file');
      assert.equal(stack.keyway.runtime.refusal, undefined);
    });
  }

  test('a document with warnings only is accepted everywhere, and nothing in it is dropped', async () => {
    // An unknown key (kept for forward compatibility), a provider with no models, a key keyway does not implement.
    const text = doc(stack.upstream.url, {}, { hostname: 'ai', flags: { chat_ui: { value: true } } }).replace('"providers": {', '"providers": {\n    "later": { "baseurl": "https://example.invalid", "apikey": "sk-test-later", "models": [] },');
    const file = join(dir, 'warnings.hujson');
    await writeFile(file, text);
    const checked = await cli(['check', file]);
    assert.equal(checked.code, 0, checked.stdout);
    assert.match(checked.stdout, /warnings\.hujson:\d+:\d+: warning: hostname: unknown config key "hostname"/);
    assert.match(checked.stdout, /warnings\.hujson:\d+:\d+: warning: providers\.later\.models: provider later has no models; it serves nothing/);
    assert.match(checked.stdout, /warnings\.hujson:\d+:\d+: warning: flags\.chat_ui: "flags\.chat_ui" has no effect: keyway does not know the feature flag "chat_ui"/);
    assert.equal((await cli(['check', '--strict', file])).code, 1, '--strict: warnings fail too');

    const validated = (await (await fetch(`${stack.url}/aperture/config:validate`, { method: 'POST', body: JSON.stringify({ config: text }) })).json()) as { Valid: boolean; Warnings: string[] };
    assert.equal(validated.Valid, true);
    assert.ok(validated.Warnings.includes('hostname: unknown config key "hostname"'));

    const before = await runningHash();
    const put = await fetch(`${stack.url}/api/config`, { method: 'PUT', body: JSON.stringify({ config: text, hash: before }) });
    assert.equal(put.status, 200);
    const providers = (await (await fetch(`${stack.url}/api/providers`)).json()) as Array<{ id: string }>;
    assert.deepEqual(providers.map((p) => p.id), ['later', 'openai'], 'a provider with a warning is not dropped');

    await writeFile(stack.configPath, text.replace('"hostname": "ai"', '"hostname": "ai2"'));
    assert.equal(await stack.keyway.runtime.reload('file'), true);

    const dataDir = join(dir, 'warnings-data');
    await mkdir(dataDir);
    const started = await startKeyway({ ...DEFAULT_SETTINGS, port: 0, dataDir, configPath: file, watch: false }, { env: {}, log: createLogger('silent') });
    try {
      assert.ok(started.runtime.current.problems.some((p) => p.severity === 'warning' && p.path === 'hostname'));
      assert.ok(started.runtime.current.providers.has('later'));
    } finally {
      await started.close(100);
    }
  });
});

describe('a refused file reload is visible', () => {
  let stack: Stack;
  const logs = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  before(async () => {
    logs.setEncoding('utf8');
    let rest = '';
    logs.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop()!;
      for (const l of parts) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
    });
    stack = await startStack((u) => doc(u), { settings: { watch: true }, log: createLogger('info', logs) });
  });
  after(() => stack.close());

  test('in the log (file, line, path), the metric, and GET /api/config until a later version applies', async () => {
    const rejected = new Promise((resolve) => stack.keyway.runtime.once('rejected', resolve));
    const refusedText = doc(stack.upstream.url, { auth_mode: 'sometimes', apikey: 'sk-test-refused-secret' });
    await writeFile(stack.configPath, refusedText);
    await rejected;

    assert.ok(lines.some((l) => l.msg === 'configuration change rejected; the running configuration stays in force' && l.file === stack.configPath && l.source === 'file'));
    const logged = lines.find((l) => l.path === 'providers.openai.auth_mode');
    assert.ok(logged, JSON.stringify(lines));
    assert.equal(logged.file, stack.configPath);
    assert.equal(typeof logged.line, 'number');
    assert.equal(logged.msg, `${stack.configPath}:${logged.line}:${logged.column}: error: providers.openai.auth_mode: provider openai has invalid auth_mode: sometimes (want "override", "passthrough" or "none")`);
    assert.ok(!JSON.stringify(lines).includes('sk-test-refused-secret'), 'no secret in the log');

    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    assert.match(metrics, /keyway_config_reloads_total\{source="file",result="rejected"\} 1/);

    const read = (await (await fetch(`${stack.url}/api/config`)).json()) as { hash: string; refused: { source: string; at: string; text_hash: string; config: string; problems: Array<{ path: string; severity: string; line: number }> } | null };
    assert.ok(read.refused);
    assert.equal(read.refused.source, 'file');
    assert.ok(!Number.isNaN(Date.parse(read.refused.at)));
    assert.match(read.refused.text_hash, /^[0-9a-f]{64}$/);
    assert.notEqual(read.refused.text_hash, read.hash);
    assert.ok(read.refused.problems.some((p) => p.severity === 'error' && p.path === 'providers.openai.auth_mode' && p.line > 0));
    assert.match(read.refused.config, /"auth_mode": "sometimes"/);
    assert.ok(!read.refused.config.includes('sk-test-refused-secret'), 'the refused text is masked');
    const revealed = (await (await fetch(`${stack.url}/api/config?reveal=1`)).json()) as { refused: { config: string } };
    assert.ok(revealed.refused.config.includes('sk-test-refused-secret'));
    assert.equal((await postJson(`${stack.url}/v1/chat/completions`, chat('gpt-a'))).status, 200, 'the running configuration stays');

    // SIGHUP on the same refused file says so again (counted as a signal), the refusal stays.
    process.emit('SIGHUP', 'SIGHUP');
    await new Promise((resolve) => stack.keyway.runtime.once('rejected', resolve));
    assert.match(await (await fetch(`${stack.url}/metrics`)).text(), /keyway_config_reloads_total\{source="signal",result="rejected"\} 1/);

    // A later version applies: the refusal is cleared.
    const applied = new Promise((resolve) => stack.keyway.runtime.once('applied', resolve));
    await writeFile(stack.configPath, doc(stack.upstream.url, {}, {}, ['gpt-a', 'gpt-b']));
    await applied;
    const cleared = (await (await fetch(`${stack.url}/api/config`)).json()) as { refused: unknown };
    assert.equal(cleared.refused, null);
    assert.equal((await postJson(`${stack.url}/v1/chat/completions`, chat('gpt-b'))).status, 200);
  });

  test('a refused text that does not even parse still has its secrets masked', async () => {
    const rejected = new Promise((resolve) => stack.keyway.runtime.once('rejected', resolve));
    await writeFile(stack.configPath, '{"providers": {"openai": {"apikey" "sk-test-broken-1", "x": {"token": sk-test-broken-2,');
    await rejected;
    const read = (await (await fetch(`${stack.url}/api/config`)).json()) as { refused: { config: string; problems: Array<{ line?: number }> } };
    assert.ok(!read.refused.config.includes('sk-test-broken'), read.refused.config);
    assert.ok(read.refused.problems[0]!.line !== undefined);
  });
});

describe('history records every applied version, whatever its source', () => {
  let stack: Stack;
  before(async () => {
    // A file written by hand, never saved through keyway.
    stack = await startStack((u) => doc(u, {}, {}, ['v-start']));
  });
  after(() => stack.close());

  const history = async () => ((await (await fetch(`${stack.url}/api/config/history`)).json()) as { versions: Array<{ id: string; hash: string }> }).versions;
  const current = async () => (await (await fetch(`${stack.url}/api/config`)).json()) as { config: string; hash: string };
  const serves = async (model: string) => (await postJson(`${stack.url}/v1/chat/completions`, chat(model))).status === 200;

  async function rollBackToPrevious(): Promise<void> {
    const [, previous] = await history();
    const res = await fetch(`${stack.url}/api/config/rollback`, { method: 'POST', body: JSON.stringify({ id: previous!.id, hash: (await current()).hash }) });
    assert.equal(res.status, 200, await res.text());
  }

  test('start, file edit, SIGHUP, API save and rollback each add a version; Roll back returns to the one before', async () => {
    const start = await history();
    assert.equal(start.length, 1, 'the file keyway started with is in the history');
    assert.ok((await current()).hash.startsWith(start[0]!.hash));

    await writeFile(stack.configPath, doc(stack.upstream.url, {}, {}, ['v-file']));
    assert.equal(await stack.keyway.runtime.reload('file'), true);
    assert.equal((await history()).length, 2);

    await writeFile(stack.configPath, doc(stack.upstream.url, {}, {}, ['v-signal']));
    assert.equal(await stack.keyway.runtime.reload('signal'), true);
    assert.equal((await history()).length, 3);

    const put = await fetch(`${stack.url}/api/config`, { method: 'PUT', body: JSON.stringify({ config: (await current()).config.replace('"v-signal"', '"v-api"'), hash: (await current()).hash }) });
    assert.equal(put.status, 200);
    assert.equal((await history()).length, 4);
    assert.ok(await serves('v-api'));

    // Each Roll back to "the version before" goes one step back; the rollback itself is a version too.
    await rollBackToPrevious();
    assert.ok(await serves('v-signal'));
    assert.equal((await history()).length, 5);
    const versions = await history();
    assert.ok((await current()).hash.startsWith(versions[0]!.hash), 'the newest version is the one that runs');

    // The file watcher sees keyway's own writes: they are not recorded twice.
    assert.equal(await stack.keyway.runtime.reload('file'), false);
    assert.equal((await history()).length, 5);

    // The version keyway started with can be restored.
    const first = versions.at(-1)!;
    const res = await fetch(`${stack.url}/api/config/rollback`, { method: 'POST', body: JSON.stringify({ id: first.id, hash: (await current()).hash }) });
    assert.equal(res.status, 200);
    assert.ok(await serves('v-start'));
    assert.ok(!(await serves('v-file')));
  });

  test('a restart on the same file does not add a version', async () => {
    const before = (await history()).length;
    const again = await startStack(() => '', { reuseDataDir: stack.dataDir, upstream: stack.upstream });
    try {
      const versions = ((await (await fetch(`${again.url}/api/config/history`)).json()) as { versions: unknown[] }).versions;
      assert.equal(versions.length, before);
    } finally {
      await again.keyway.close(100);
    }
  });
});
