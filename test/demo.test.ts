/**
 * `keyway demo`, as a newcomer runs it: the real command in a child process, answering
 * inference, the Test button's call and the chat through the gateway and its mock upstream,
 * with costs in the usage totals, in its own data folder and never in the real one.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEMO_CONFIG } from '../src/demo.js';
import { postJson } from './helpers.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

interface RunningDemo {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

/**
 * startDemo runs `keyway demo` and resolves once it listens: on the port its log names, or
 * (silent logging) on the free `port` given, once /healthz answers.
 */
async function startDemo(args: string[], env: Record<string, string>, port = 0): Promise<RunningDemo> {
  const child = spawn(process.execPath, [CLI, 'demo', '--port', String(port), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as { msg: string; url?: string };
      if (entry.msg === 'keyway listening' && entry.url) resolve(entry.url);
    });
    child.on('exit', (code) => reject(new Error(`keyway demo exited with ${code}: ${stderr}`)));
    if (port !== 0) {
      const poll = () => fetch(`http://127.0.0.1:${port}/healthz`).then(() => resolve(`http://127.0.0.1:${port}`), () => setTimeout(poll, 100));
      poll();
    }
  });
  return { child, url, stderr: () => stderr };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function stop(demo: RunningDemo): Promise<number | null> {
  if (demo.child.exitCode !== null) return demo.child.exitCode;
  const exited = new Promise<number | null>((resolve) => demo.child.once('exit', resolve));
  demo.child.kill('SIGTERM');
  return exited;
}

async function eventually<T>(get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('keyway demo', () => {
  let root: string;
  let demoDir: string;
  let realDir: string;
  let demo: RunningDemo;
  const realConfig = '{"providers": {}, "grants": []}\n';

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'keyway-demo-'));
    demoDir = join(root, 'demo-data');
    realDir = join(root, 'real-data');
    await mkdir(realDir);
    await writeFile(join(realDir, 'config.hujson'), realConfig);
    demo = await startDemo(['--data-dir', demoDir], { KEYWAY_DATA_DIR: realDir, KEYWAY_CONFIG: join(realDir, 'config.hujson') });
  });
  after(async () => {
    if (demo) await stop(demo);
    await rm(root, { recursive: true, force: true });
  });

  test('says where the dashboard and the chat are, and which mock it started', async () => {
    await eventually(async () => demo.stderr(), (s) => s.includes('\n'));
    assert.match(demo.stderr(), new RegExp(`^keyway demo is running \\(mock upstream http://127\\.0\\.0\\.1:\\d+, data in ${demoDir.replace(/[.]/g, '\\.')}\\): dashboard ${demo.url}/ui/  chat ${demo.url}/chat  \\(Ctrl-C stops it\\)\n$`));
  });

  test('lists its demo models with prices', async () => {
    const models = (await (await fetch(`${demo.url}/v1/models`)).json()) as { data: Array<{ id: string; owned_by: string; pricing?: { input: string } }> };
    assert.deepEqual(models.data.map((m) => `${m.owned_by}/${m.id}`).sort(), [
      'demo-anthropic/claude-haiku-4-5',
      'demo-anthropic/claude-sonnet-4-5',
      'demo-gemini/gemini-2.5-flash',
      'demo-openai/gpt-4o-mini',
      'demo-openai/gpt-5-mini',
    ]);
    for (const m of models.data) assert.ok(Number(m.pricing?.input) > 0, `${m.id} has a price`);
  });

  test('answers inference in every API, streamed', async () => {
    const chat = await fetch(`${demo.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer not-needed' },
      body: JSON.stringify({ model: 'gpt-5-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(chat.status, 200);
    const text = await chat.text();
    assert.equal([...text.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join(''), 'MOCK_OK (openai-chat gpt-5-mini)');

    const messages = await postJson(`${demo.url}/v1/messages`, { model: 'claude-sonnet-4-5', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(messages.status, 200, messages.text);
    assert.equal(messages.json.content[0].text, 'MOCK_OK (anthropic claude-sonnet-4-5)');
    const gemini = await postJson(`${demo.url}/v1beta/models/gemini-2.5-flash:generateContent`, { contents: [{ parts: [{ text: 'hi' }] }] });
    assert.equal(gemini.status, 200, gemini.text);
  });

  test('the Test button works for every demo model', async () => {
    for (const [provider, model] of [['demo-anthropic', 'claude-haiku-4-5'], ['demo-openai', 'gpt-4o-mini'], ['demo-gemini', 'gemini-2.5-flash']]) {
      const r = await postJson(`${demo.url}/api/models/test`, { provider, model });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.ok, true, r.text);
      assert.match(r.json.text, /^MOCK_OK/);
    }
  });

  test('the chat answers through the gateway', async () => {
    const conv = await postJson(`${demo.url}/api/chat/conversations`, {});
    assert.equal(conv.status, 201, conv.text);
    const res = await postJson(`${demo.url}/api/chat/conversations/${conv.json.id}/messages`, { content: 'Hello demo', model: 'demo-anthropic/claude-sonnet-4-5' });
    assert.equal(res.status, 200, res.text);
    const events = res.text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => JSON.parse(e.slice(6)) as { type: string; text?: string });
    assert.equal(events.filter((e) => e.type === 'delta').map((e) => e.text).join(''), 'MOCK_OK (anthropic claude-sonnet-4-5)');
    assert.ok(events.filter((e) => e.type === 'delta').length > 1, 'streamed in several deltas');
    assert.equal(events.at(-1)?.type, 'done');
  });

  test('a caller\'s own wrong key gets the provider\'s 401, a well-formed one is served', async () => {
    const body = { model: 'claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] };
    for (const key of ['sk-ant-test-wrong-key', 'sk-test-an-openai-key']) {
      const r = await postJson(`${demo.url}/v1/messages`, body, { 'x-api-key': key });
      assert.equal(r.status, 401, key);
      assert.deepEqual(r.json, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
    }
    assert.equal((await postJson(`${demo.url}/v1/messages`, body, { 'x-api-key': 'sk-ant-test-my-own-key' })).status, 200);
  });

  test('the usage totals count the requests and price them', async () => {
    const usage = await eventually(
      async () => (await (await fetch(`${demo.url}/api/usage`)).json()) as { totals: { requests: number; errors: number; costUsd: number } },
      (u) => u.totals.requests >= 10,
    );
    assert.ok(usage.totals.requests >= 10, JSON.stringify(usage.totals));
    assert.ok(usage.totals.errors >= 2, 'the two 401s');
    assert.ok(usage.totals.costUsd > 0, JSON.stringify(usage.totals));
    const logs = (await (await fetch(`${demo.url}/api/requests`)).json()) as { requests: unknown[] };
    assert.ok(logs.requests.length >= 10);
  });

  test('keeps to its own folder: the demo config is written there, the real one is untouched', async () => {
    assert.equal(await readFile(join(demoDir, 'config.hujson'), 'utf8'), DEMO_CONFIG);
    assert.equal(await readFile(join(realDir, 'config.hujson'), 'utf8'), realConfig);
    assert.deepEqual(await readdir(realDir), ['config.hujson']);
  });

  test('stops on SIGTERM with exit 0, mock included; a restart keeps an edited configuration', async () => {
    const mockUrl = /mock upstream (http:\/\/[\d.:]+)/.exec(demo.stderr())![1]!;
    assert.equal(await stop(demo), 0);
    await assert.rejects(fetch(`${mockUrl}/v1/models`), 'the mock stopped with it');

    const file = join(demoDir, 'config.hujson');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"gpt-4o-mini"', '"gpt-4o-mini", "gpt-5"'));
    demo = await startDemo(['--data-dir', demoDir, '--log-level', 'silent'], {}, await freePort());
    assert.equal(demo.stderr(), '', 'no start line when logging is silent');
    const r = await postJson(`${demo.url}/v1/chat/completions`, { model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 200, 'the edit survived and the new mock port was filled in');
    assert.equal(r.json.choices[0].message.content, 'MOCK_OK (openai-chat gpt-5)');
  });
});
