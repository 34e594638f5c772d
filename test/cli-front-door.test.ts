/** The front door's serve flags, through the real command: host names, timeouts, per-peer cap. */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

function status(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request(`${url}/api/whoami`, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

test('--host-name and KEYWAY_HOSTNAMES add names; the start log lists them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-hosts-'));
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dir, '--host-name', 'c.example', '--host-name', 'd.example', '--header-timeout', '5s', '--body-timeout', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KEYWAY_HOSTNAMES: 'a.example, b.example' },
  });
  try {
    const started = await new Promise<{ url: string; hosts: string[] }>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const entry = JSON.parse(line) as { msg: string; url?: string; hosts?: string[] };
        if (entry.msg === 'keyway listening' && entry.url) resolve({ url: entry.url, hosts: entry.hosts ?? [] });
      });
      child.on('exit', (code) => reject(new Error(`keyway exited with ${code}`)));
    });
    for (const name of ['a.example', 'b.example', 'c.example', 'd.example', 'localhost']) assert.ok(started.hosts.includes(name), name);
    for (const name of ['a.example', 'b.example:8080', 'c.example', 'd.example']) assert.equal(await status(started.url, name), 200, name);
    assert.equal(await status(started.url, 'e.example'), 421);
  } finally {
    child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});

test('bad timeout and cap values stop keyway with a message naming the flag', async () => {
  const run = promisify(execFile);
  for (const [args, pattern] of [
    [['--header-timeout', 'soon'], /--header-timeout must be a duration like 30s/],
    [['--header-timeout', '0'], /--header-timeout must be more than zero/],
    [['--body-timeout', 'forever'], /--body-timeout must be a duration/],
    [['--max-connections-per-peer', 'many'], /--max-connections-per-peer must be a whole number/],
  ] as const) {
    const r = await run(process.execPath, [CLI, 'serve', '--port', '0', ...args]).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, pattern);
  }
});
