/**
 * Three replicas (real `keyway serve --database` processes) on one PostgreSQL, behind the
 * mock upstream, each reading the same configuration file: usage totals are the same read
 * from any replica; a quota bucket drained through one refuses on another within 1 s of
 * the charging answer; and kill -9 of one replica under load loses at most what it had
 * not flushed (nothing answered earlier than a batch interval before the kill) and nothing
 * of the other replicas.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { startMockUpstream } from '../src/mock-upstream/server.js';
import type { MockUpstream } from '../src/mock-upstream/types.js';
import { FAKE } from '../test/helpers.js';
import { usePostgres } from './use-postgres.js';
import { startReplicas, stopAll, type Replica } from './replicas.js';

const CAP = 'tailscale.com/cap/aperture';
/** The recorder's batch interval (telemetry/recorder.ts) and a margin for the insert itself. */
const BATCH_MS = 100;
const INSERT_MARGIN_MS = 150;

const server = usePostgres();
let upstream: MockUpstream;
let dir: string;
let databaseUrl: string;
let replicas: Replica[] = [];

before(async () => {
  upstream = await startMockUpstream({ record: false, acceptAnyKey: true });
  dir = await mkdtemp(join(tmpdir(), 'keyway-replicas-'));
  const config = {
    providers: {
      mock: { baseurl: upstream.url, apikey: FAKE.providerKey, models: ['claude-sonnet-4-5'], compatibility: { anthropic_messages: true } },
      metered: { baseurl: upstream.url, apikey: FAKE.providerKey, models: ['claude-sonnet-4-5'], compatibility: { anthropic_messages: true } },
    },
    grants: [
      { src: ['*', '(loopback)'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } },
      { src: ['*', '(loopback)'], app: { [CAP]: [{ models: 'metered/**', quotas: [{ bucket: 'team' }] }] } },
    ],
    // No refill: once drained, the bucket stays empty.
    quotas: { team: { capacity: '$0.01', rate: '$0.00/day' } },
  };
  const file = join(dir, 'config.hujson');
  await writeFile(file, JSON.stringify(config, null, 2));
  databaseUrl = await server.freshDatabase();
  replicas = await startReplicas(3, { databaseUrl, args: ['--config', file] });
});

after(async () => {
  await stopAll(replicas);
  await upstream?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function call(r: Replica, model: string, userAgent = 'keyway-replica-test'): Promise<number> {
  const res = await fetch(`${r.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'user-agent': userAgent },
    body: JSON.stringify({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await res.arrayBuffer();
  return res.status;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('usage totals are identical read from every replica', async () => {
  for (let i = 0; i < 30; i++) assert.equal(await call(replicas[i % 3]!, 'mock/claude-sonnet-4-5'), 200);
  await sleep(4 * BATCH_MS + 200);
  const totals = await Promise.all(
    replicas.map(async (r) => {
      const res = await fetch(`${r.url}/api/usage?group_by=login`);
      assert.equal(res.status, 200);
      return ((await res.json()) as { totals: unknown }).totals;
    }),
  );
  assert.equal((totals[0] as { requests: number }).requests, 30);
  assert.deepEqual(totals[1], totals[0]);
  assert.deepEqual(totals[2], totals[0]);
});

test('a quota bucket drained through one replica refuses on another within 1 s of the charging answer', async () => {
  const a = replicas[0]!;
  let charged = 0;
  let lastAnswer = 0;
  for (;;) {
    const status = await call(a, 'metered/claude-sonnet-4-5');
    if (status === 429) break;
    assert.equal(status, 200);
    charged++;
    lastAnswer = Date.now();
    assert.ok(charged < 500, 'the bucket drains');
  }
  assert.ok(charged >= 3, `several requests drained it (${charged})`);
  const b = await firstRefusal(replicas[1]!, lastAnswer);
  const c = await firstRefusal(replicas[2]!, lastAnswer);
  console.log(`quota: drained on one replica in ${charged} requests; the others refused ${b.after} ms and ${c.after} ms after the charging answer (${b.passed} and ${c.passed} passed meanwhile)`);
  for (const [name, r] of [['second', b], ['third', c]] as const) {
    assert.ok(r.after >= 0, `the ${name} replica refuses`);
    assert.ok(r.after <= 1000, `the ${name} replica refuses within 1 s of the charging answer (${r.after} ms)`);
    assert.ok(r.passed < charged, `the ${name} replica did not drain the bucket by itself (${r.passed} of ${charged})`);
  }
});

/** firstRefusal asks a replica every 25 ms until it refuses: how long after `since`, and how many passed before. */
async function firstRefusal(r: Replica, since: number): Promise<{ after: number; passed: number }> {
  let passed = 0;
  while (Date.now() - since < 3000) {
    if ((await call(r, 'metered/claude-sonnet-4-5')) === 429) return { after: Date.now() - since, passed };
    passed++;
    await sleep(25);
  }
  return { after: -1, passed };
}

test('kill -9 of one replica under load loses at most its unflushed batch, nothing of the others', async () => {
  const answered = new Map<string, number>(); // user agent → when the answer ended
  let stop = false;
  const victim = 1;
  let killedAt = 0;
  const loops = replicas.flatMap((r, i) =>
    Array.from({ length: 3 }, async (_, c) => {
      for (let n = 0; !stop; n++) {
        const ua = `keyway-load/${i}/${c}-${n}`;
        try {
          if ((await call(r, 'mock/claude-sonnet-4-5', ua)) === 200) answered.set(ua, Date.now());
        } catch {
          if (i === victim && killedAt > 0) return; // the victim is gone
          throw new Error(`replica ${i} failed a request`);
        }
      }
    }),
  );
  await sleep(800);
  killedAt = Date.now();
  await replicas[victim]!.kill('SIGKILL');
  await sleep(400);
  stop = true;
  await Promise.all(loops);
  await sleep(4 * BATCH_MS + 300);

  const client = new pg.Client(databaseUrl);
  await client.connect();
  const stored = new Set<string>();
  try {
    const { rows } = await client.query<{ user_agent: string }>("SELECT user_agent FROM requests WHERE user_agent LIKE 'keyway-load/%'");
    for (const r of rows) stored.add(r.user_agent);
  } finally {
    await client.end();
  }
  const of = (i: number) => [...answered].filter(([ua]) => ua.startsWith(`keyway-load/${i}/`));
  for (const i of [0, 2]) {
    const mine = of(i);
    assert.ok(mine.length > 5, `replica ${i} served load (${mine.length})`);
    const missing = mine.filter(([ua]) => !stored.has(ua));
    assert.deepEqual(missing, [], `replica ${i} lost nothing`);
    assert.equal([...stored].filter((ua) => ua.startsWith(`keyway-load/${i}/`)).length, mine.length);
  }
  const victims = of(victim);
  assert.ok(victims.length > 5, `the victim served load before the kill (${victims.length})`);
  const lostEarly = victims.filter(([ua, at]) => !stored.has(ua) && at < killedAt - BATCH_MS - INSERT_MARGIN_MS);
  assert.deepEqual(lostEarly, [], 'nothing answered earlier than a batch interval before the kill is lost');
  const lost = victims.filter(([ua]) => !stored.has(ua)).length;
  console.log(`kill -9: the victim answered ${victims.length}, ${lost} not flushed (answered within ${BATCH_MS + INSERT_MARGIN_MS} ms of the kill)`);
});
