/**
 * SIGTERM on a real replica process with a slow stream in flight: it stops accepting,
 * the stream finishes whole, the record of it is written before the process exits 0.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startMockUpstream } from '../src/mock-upstream/index.js';
import type { MockUpstream } from '../src/mock-upstream/types.js';
import { configText, FAKE } from '../test/helpers.js';
import { usePostgres } from './use-postgres.js';
import { startReplica, stopAll } from './replicas.js';

const server = usePostgres();
let upstream: MockUpstream;
let scratch: string;
before(async () => {
  upstream = await startMockUpstream();
  scratch = await mkdtemp(join(tmpdir(), 'keyway-lifecycle-test-'));
});
after(async () => {
  await upstream?.close();
  await rm(scratch, { recursive: true, force: true });
});

/** refused tells whether a new TCP connection to the URL's port is refused. */
function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

test('SIGTERM drains: no new connections, the stream in flight ends whole, its record is kept, exit 0', async () => {
  const url = await server.freshDatabase();
  const file = join(scratch, 'config.hujson');
  await writeFile(file, configText({ anthropic: { baseurl: upstream.url, authorization: 'x-api-key', auth_mode: 'passthrough', models: ['claude-test'], compatibility: { anthropic_messages: true } } }));
  const replica = await startReplica({ databaseUrl: url, args: ['--config', file] });
  const replicas = [replica];
  try {
    const res = await fetch(`${replica.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': FAKE.anthropicKey, 'anthropic-version': '2023-06-01', 'x-mock-scenario': 'chunks=12,interval=150' },
      body: JSON.stringify({ model: 'claude-test', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'drain me' }] }),
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.ok(!first.done);
    let text = Buffer.from(first.value).toString();
    const signalled = performance.now();
    const exited = replica.kill('SIGTERM');
    await (async () => {
      for (let i = 0; i < 100 && !(await refused(replica.url)); i++) await new Promise((r) => setTimeout(r, 20));
    })();
    assert.ok(await refused(replica.url), 'new connections are refused while draining');
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    assert.match(text, /event: message_stop/, 'the stream ended whole');
    const streamEnded = performance.now();
    assert.equal(await exited, 0, 'exit 0 after draining');
    const exitedAt = performance.now();
    assert.ok(streamEnded - signalled > 1_000, 'the stream outlived the signal');
    assert.ok(exitedAt - streamEnded < 3_000, `exited ${Math.round(exitedAt - streamEnded)} ms after the stream ended, not at the end of the grace`);
    assert.ok(replica.logs.some((l) => l.includes('"shutting down"')));

    // The record was written before the exit: a replica on the same data reports it.
    const again = await startReplica({ databaseUrl: url, dataDir: replica.dataDir });
    replicas.push(again);
    const list = (await (await fetch(`${again.url}/api/requests`)).json()) as { requests: { model: string; status: number }[] };
    assert.equal(list.requests.length, 1);
    assert.equal(list.requests[0]!.status, 200);
  } finally {
    await stopAll(replicas);
  }
});
