/** The keyway command itself: --version, check, and serve on its embedded default. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

async function keyway(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('keyway --version prints the package version', async () => {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const r = await keyway(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), `keyway ${pkg.version}`);
});

test('keyway check prints every problem with its path and fails on errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-cli-'));
  try {
    const good = join(dir, 'good.hujson');
    await writeFile(good, '{"providers": {"p": {"baseurl": "https://x", "apikey": "${CHECK_KEY}", "models": ["m"]}}, "grants": [{"src": ["*"], "app": {"tailscale.com/cap/aperture": [{"role": "admin"}]}}]}');
    assert.equal((await keyway(['check', good], { CHECK_KEY: 'sk-test-x' })).code, 0);

    const missing = await keyway(['check', good]);
    assert.equal(missing.code, 1);
    assert.match(missing.stdout, /unsubstituted macros: \[CHECK_KEY\]/);

    const warn = join(dir, 'warn.hujson');
    await writeFile(warn, '{"providers": {"p": {"baseurl": "https://x", "apikey": "k", "models": [],\n  "base_url": "https://x"}}}');
    const w = await keyway(['check', warn]);
    assert.equal(w.code, 0, 'warnings alone do not fail a check: keyway would accept the file');
    assert.match(w.stdout, /warn\.hujson:2:3: warning: providers\.p\.base_url: unknown config key "base_url"/);
    assert.match(w.stdout, /warn\.hujson:1:61: warning: providers\.p\.models: provider p has no models; it serves nothing/);
    assert.match(w.stdout, /0 error\(s\), 3 warning\(s\): keyway accepts this configuration/);
    assert.equal((await keyway(['check', '--strict', warn])).code, 1);

    const error = join(dir, 'error.hujson');
    await writeFile(error, '{"providers": {"p": {"basurl": "https://x"}}}');
    const e = await keyway(['check', error]);
    assert.equal(e.code, 1, 'what keyway refuses to load fails the check');
    assert.match(e.stdout, /error\.hujson:1:16: error: providers\.p\.baseurl: provider p has no baseurl configured/);
    assert.match(e.stdout, /error\.hujson:1:22: warning: providers\.p\.basurl: unknown config key "basurl"/);
    assert.match(e.stdout, /keyway refuses this configuration/);

    const broken = join(dir, 'broken.hujson');
    await writeFile(broken, '{\n  "providers": {\n    "p": [\n}');
    const b = await keyway(['check', broken]);
    assert.equal(b.code, 1);
    assert.match(b.stdout, /broken\.hujson:\d+:\d+: error: syntax error/);

    assert.equal((await keyway(['check', join(dir, 'nope.hujson')])).code, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('keyway serve with no config writes the commented starter config and serves it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-serve-'));
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        const entry = JSON.parse(line) as { msg: string; url?: string };
        if (entry.msg === 'keyway listening' && entry.url) resolve(entry.url);
      });
      child.on('exit', (code) => reject(new Error(`keyway exited with ${code}`)));
    });
    const starter = await readFile(join(dir, 'config.hujson'), 'utf8');
    assert.match(starter, /^\/\/ keyway configuration/);
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: Array<{ id: string; metadata: { provider: { id: string; requires_client_auth: boolean } } }> };
    const providers = new Set(models.data.map((m) => m.metadata.provider.id));
    assert.deepEqual([...providers].sort(), ['anthropic', 'gemini', 'openai']);
    assert.ok(models.data.every((m) => m.metadata.provider.requires_client_auth), 'starter providers are passthrough-only');
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 0);
  } finally {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('keyway serve refuses to start on a config with errors and says why', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-bad-'));
  try {
    const config = join(dir, 'bad.hujson');
    await writeFile(config, '{"providers": {"p": {"apikey": "${NOT_SET_ANYWHERE}"}}}');
    const r = await keyway(['serve', '--port', '0', '--config', config]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.hujson: error: unsubstituted macros: \[NOT_SET_ANYWHERE\]/);
    assert.match(r.stderr, /bad\.hujson:1:16: error: providers\.p\.baseurl: provider p has no baseurl configured/);
    assert.match(r.stderr, /keyway did not start/);
    const flag = await keyway(['serve', '--port', 'eighty']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /--port must be a whole number/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
