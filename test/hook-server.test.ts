/**
 * `keyway hook-server`, the reference guardrail, as an operator runs it: its own process,
 * in front of which a keyway blocks prompts that match the pattern (fail_closed), lets the
 * rest through, and logs the events it is sent; --help, a bad pattern, a required key.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { postJson, startStack } from './helpers.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const CAP = 'tailscale.com/cap/aperture';

async function keyway(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** startServer runs `keyway hook-server` on a free port and resolves with its URL and its stdout lines. */
async function startServer(args: string[]): Promise<{ url: string; lines: string[]; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, 'hook-server', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  const [line] = (await Promise.race([once(createInterface({ input: child.stderr! }), 'line'), once(child, 'exit').then(() => ['exited'])])) as string[];
  const url = /listening on (http:\/\/\S+):/.exec(line ?? '')?.[1];
  assert.ok(url, `started: ${line}`);
  return { url, lines, child };
}

describe('keyway hook-server', () => {
  test('--help, and wrong command lines exit 2 with the usage', async () => {
    const help = await keyway(['hook-server', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: keyway hook-server --pattern REGEX/);
    assert.match(help.stdout, /--apikey KEY/);
    assert.match((await keyway(['--help'])).stdout, /keyway hook-server --pattern REGEX/);
    const none = await keyway(['hook-server']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /hook-server needs --pattern REGEX/);
    const bad = await keyway(['hook-server', '--pattern', '(unclosed']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--pattern is not a regular expression/);
    const status = await keyway(['hook-server', '--pattern', 'x', '--status', '200']);
    assert.equal(status.code, 2);
    assert.match(status.stderr, /--status must be between 400 and 599/);
  });

  test('in front of keyway: blocks the prompts that match, allows the rest, acknowledges events', async () => {
    const server = await startServer(['--pattern', 'password|secret', '--apikey', 'hk-test-reference-1', '--status', '422']);
    const stack = await startStack((u) =>
      JSON.stringify({
        providers: { p: { baseurl: u, apikey: 'sk-test-ref', models: ['gpt-4o', 'claude-sonnet-4-5'], compatibility: { openai_chat: true, anthropic_messages: true } } },
        hooks: { guard: { url: `${server.url}/`, apikey: 'hk-test-reference-1', fail_policy: 'fail_closed' }, wrongkey: { url: `${server.url}/`, apikey: 'hk-test-wrong', fail_policy: 'fail_closed' } },
        grants: [
          { src: ['(loopback)'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }, { models: 'p/gpt-4o', send_hooks: [{ name: 'guard', events: ['pre_request', 'entire_request'], send: ['user_message'] }] }, { models: 'p/claude-sonnet-4-5', send_hooks: [{ name: 'wrongkey', events: ['pre_request'], send: [] }] }] } },
        ],
      }),
    );
    try {
      const blocked = await postJson(`${stack.url}/v1/chat/completions`, { model: 'p/gpt-4o', messages: [{ role: 'user', content: 'my PASSWORD is hunter2' }] });
      assert.equal(blocked.status, 422);
      assert.equal(blocked.json.error.type, 'guardrail_blocked');
      assert.equal(blocked.json.error.message, 'request blocked by guardrail: the prompt matches a blocked pattern');
      const allowed = await postJson(`${stack.url}/v1/chat/completions`, { model: 'p/gpt-4o', messages: [{ role: 'user', content: 'what is the weather' }] });
      assert.equal(allowed.status, 200, allowed.text);
      assert.equal(stack.upstream.requests.length, 1, 'only the allowed prompt reached the provider');
      // The hook refuses callers without its key: with fail_closed, keyway answers 503.
      const refused = await postJson(`${stack.url}/v1/messages`, { model: 'p/claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(refused.status, 503);
      assert.match(refused.json.error.message, /guardrail hook "wrongkey" failed \(answered HTTP 401\)/);
      const until = Date.now() + 5_000;
      while (!server.lines.some((l) => l.startsWith('entire_request')) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.ok(server.lines.some((l) => /^pre_request req_\w+ local-owner p\/gpt-4o → block$/.test(l)), server.lines.join('\n'));
      assert.ok(server.lines.some((l) => /^pre_request req_\w+ local-owner p\/gpt-4o → allow$/.test(l)), server.lines.join('\n'));
      assert.ok(server.lines.some((l) => /^entire_request req_\w+ local-owner p\/gpt-4o$/.test(l)), server.lines.join('\n'));
    } finally {
      await stack.close();
      server.child.kill('SIGTERM');
      const [code] = await once(server.child, 'exit');
      assert.equal(code, 0, 'stops cleanly on SIGTERM');
    }
  });
});
