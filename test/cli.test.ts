/** The keyway command itself: --version, --help, check, explain, serve, and every exit code. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
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

async function packageVersion(): Promise<string> {
  return (JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

async function waitFor(ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A sentence for a person: no stack trace, no bare errno code. */
function assertSentence(stderr: string, expected: RegExp): void {
  assert.match(stderr, expected);
  assert.doesNotMatch(stderr, /ENOENT|EISDIR|\n\s+at /, stderr);
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
}

test('keyway --version prints the package version', async () => {
  const r = await keyway(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), `keyway ${await packageVersion()}`);
});

test('every command answers --help with its own usage and exit 0', async () => {
  const cases: Array<[args: string[], first: RegExp, mentions: RegExp[]]> = [
    [['--help'], /^keyway: an identity-aware LLM gateway/, [/keyway demo/, /keyway COMMAND --help/]],
    [['help'], /^keyway: an identity-aware LLM gateway/, [/keyway serve/]],
    [['serve', '--help'], /^keyway: an identity-aware LLM gateway/, [/--listen ADDR/, /--data-dir DIR/, /--telemetry on\|off/]],
    [['serve', '-h'], /^keyway: an identity-aware LLM gateway/, [/--port N/]],
    [['--port', '9', '--help'], /^keyway: an identity-aware LLM gateway/, [/serve flags/]],
    [['demo', '--help'], /^usage: keyway demo/, [/keyway-demo-data/, /--config is not\s+accepted/, /KEYWAY_DATA_DIR/]],
    [['check', '--help'], /^usage: keyway check \[--strict\] FILE/, [/Exit status: 0/]],
    [['explain', '--help'], /^usage: keyway explain/, [/--as LOGIN/, /--json/, /--format FLAG/, /Exit status: 0/]],
    [['explain', '--model', 'm', '--help'], /^usage: keyway explain/, []],
    [['mock-upstream', '--help'], /^usage: keyway mock-upstream/, [/--accept-any-key/, /sk-ant-/, /AIza/]],
    [['help', 'demo'], /^usage: keyway demo/, []],
    [['help', 'mock-upstream'], /^usage: keyway mock-upstream/, []],
  ];
  const results = await Promise.all(cases.map(([args]) => keyway(args)));
  for (const [i, [args, first, mentions]] of cases.entries()) {
    const r = results[i]!;
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '', args.join(' '));
    assert.match(r.stdout, first, args.join(' '));
    for (const m of mentions) assert.match(r.stdout, m, `${args.join(' ')} mentions ${m}`);
  }
});

test('the serve flags in --help are the ones docs/operations.md documents, and the mock\'s are all accepted', async () => {
  const usage = (await keyway(['serve', '--help'])).stdout;
  const flagsIn = (text: string) => new Set([...text.matchAll(/^\s*\|?\s*`?(--[a-z][a-z-]*)/gm)].map((m) => m[1]!));
  const serveFlags = flagsIn(usage.slice(usage.indexOf('serve flags')));
  const doc = await readFile(new URL('../../docs/operations.md', import.meta.url), 'utf8');
  const table = doc.slice(doc.indexOf('| flag |'), doc.indexOf('\n\n', doc.indexOf('| flag |')));
  assert.deepEqual([...serveFlags].sort(), [...flagsIn(table)].sort());

  const { MOCK_UPSTREAM_USAGE, parseMockUpstreamArgs } = await import('../src/mock-upstream/index.js');
  for (const flag of flagsIn(MOCK_UPSTREAM_USAGE)) {
    const takesValue = /^\s*--[a-z-]+ [A-Z]/m.test(MOCK_UPSTREAM_USAGE.split('\n').find((l) => l.trimStart().startsWith(`${flag} `) || l.trim() === flag || l.trimStart().startsWith(`${flag},`)) ?? '');
    assert.doesNotThrow(() => parseMockUpstreamArgs(takesValue ? [flag, flag === '--host' ? '127.0.0.1' : '1'] : [flag]), flag);
  }
});

test('exit codes: 2 for a wrong command line, with that command\'s usage', async () => {
  const cases: Array<[args: string[], message: RegExp, usage: RegExp]> = [
    [['bogus'], /unknown command "bogus"/, /^keyway: an identity-aware LLM gateway/m],
    [['serve', '--bogus'], /Unknown option '--bogus'/, /^keyway: an identity-aware LLM gateway/m],
    [['serve', '--log-level', 'loud'], /--log-level must be one of/, /serve flags/],
    [['demo', '--config', 'x.hujson'], /choose the folder with --data-dir, not --config/, /^usage: keyway demo/m],
    [['demo', '--port', 'x'], /--port must be a whole number/, /^usage: keyway demo/m],
    [['check'], /check needs a configuration file/, /^usage: keyway check/m],
    [['check', '--bogus', 'x'], /Unknown option '--bogus'/, /^usage: keyway check/m],
    [['explain', 'x.hujson'], /explain needs a caller/, /^usage: keyway explain/m],
    [['explain', '--loopback', '--model', 'm', '--format', 'nope', 'x.hujson'], /--format must be a compatibility flag/, /^usage: keyway explain/m],
    [['mock-upstream', '--bogus'], /unknown argument: --bogus/, /^usage: keyway mock-upstream/m],
    [['mock-upstream', '--port'], /--port needs a value/, /^usage: keyway mock-upstream/m],
  ];
  const results = await Promise.all(cases.map(([args]) => keyway(args)));
  for (const [i, [args, message, usage]] of cases.entries()) {
    const r = results[i]!;
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.match(r.stderr, usage, args.join(' '));
    assert.equal(r.stdout, '');
  }
});

test('exit code 1 with a sentence for a file that is missing or a folder (check, explain, --config)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-cli-files-'));
  try {
    const missing = join(dir, 'nope.hujson');
    for (const args of [['check', missing], ['explain', '--loopback', '--model', 'm', missing]]) {
      const r = await keyway(args);
      assert.equal(r.code, 1, args.join(' '));
      assertSentence(r.stderr, new RegExp(`^keyway: ${missing.replace(/[.]/g, '\\.')} does not exist\n$`));
    }
    const folder = await keyway(['check', dir]);
    assert.equal(folder.code, 1);
    assertSentence(folder.stderr, /is a folder, not a configuration file/);

    // An explicit --config is never created: a typo would start a gateway with no providers.
    const serve = await keyway(['serve', '--port', '0', '--data-dir', join(dir, 'data'), '--config', missing]);
    assert.equal(serve.code, 1);
    assertSentence(serve.stderr, /nope\.hujson does not exist \(--config or KEYWAY_CONFIG\); leave both unset to get a starter configuration in /);
    const viaEnv = await keyway(['serve', '--port', '0', '--data-dir', join(dir, 'data')], { KEYWAY_CONFIG: missing });
    assert.equal(viaEnv.code, 1);
    assert.match(viaEnv.stderr, /does not exist \(--config or KEYWAY_CONFIG\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('explain exits 0 when the model would be served and 1 when not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-cli-explain-'));
  try {
    const file = join(dir, 'c.hujson');
    await writeFile(file, JSON.stringify({ providers: { p: { baseurl: 'https://x', apikey: 'sk-test-x', models: ['m'] } }, grants: [{ src: ['(loopback)'], app: { 'tailscale.com/cap/aperture': [{ role: 'user' }, { models: '**' }] } }] }));
    const served = await keyway(['explain', '--loopback', '--model', 'm', file]);
    assert.equal(served.code, 0, served.stderr);
    assert.match(served.stdout, /p \(m\)/);
    const json = await keyway(['explain', '--loopback', '--model', 'm', '--json', file]);
    assert.equal((JSON.parse(json.stdout) as { served: boolean }).served, true);
    assert.equal((await keyway(['explain', '--loopback', '--model', 'other', file])).code, 1);
    assert.equal((await keyway(['explain', '--as', 'someone@example.com', '--model', 'm', file])).code, 1, 'no grant');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('serve on a port in use says so in a sentence and exits 1', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-cli-port-'));
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    const port = (taken.address() as { port: number }).port;
    const r = await keyway(['serve', '--port', String(port), '--data-dir', dir, '--log-level', 'silent']);
    assert.equal(r.code, 1);
    assertSentence(r.stderr, new RegExp(`^keyway: 127\\.0\\.0\\.1:${port} is already in use \\(another keyway\\?\\); choose another port with --port\n$`));
  } finally {
    taken.close();
    await rm(dir, { recursive: true, force: true });
  }
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
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        // stdout is JSON log lines only, so it can go straight to a log pipeline.
        const entry = JSON.parse(line) as { msg: string; url?: string };
        if (entry.msg === 'keyway listening' && entry.url) resolve(entry.url);
      });
      child.on('exit', (code) => reject(new Error(`keyway exited with ${code}`)));
    });
    // One line for a person, on stderr, with the two URLs to open.
    await waitFor(() => stderr.includes('\n'));
    assert.equal(stderr, `keyway ${await packageVersion()} is running: dashboard ${url}/ui/  chat ${url}/chat  (Ctrl-C stops it)\n`);
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
