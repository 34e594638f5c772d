/**
 * What only a shared database has: two stores (as two replicas would have) on one
 * PostgreSQL. Quota deltas from both add up and refill is counted once; one replica
 * exports at a time; the fingerprint secret is the first replica's; and a database that
 * goes away holds writes back (retried with backoff, the status says so) instead of
 * losing them or failing the caller.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import pg from 'pg';
import { WorkerTelemetryStore } from '../src/telemetry/store.js';
import type { RequestRecord } from '../src/telemetry/record.js';
import { usePostgres } from './use-postgres.js';

const server = usePostgres();

async function twoStores(): Promise<{ url: string; a: WorkerTelemetryStore; b: WorkerTelemetryStore; close(): Promise<void> }> {
  const url = await server.freshDatabase();
  const [a, b] = await Promise.all([WorkerTelemetryStore.openPostgres(url), WorkerTelemetryStore.openPostgres(url)]);
  return { url, a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
}

function record(id: string, startedAt: number): RequestRecord {
  return {
    id, startedAt, durationMs: 5, ttfbMs: 1, login: 'alice@example.com', nodeId: 'n1', tags: [], userAgent: 'test', client: 'api', format: 'anthropic_messages',
    providerFormat: null, path: '/v1/messages', requestedModel: 'm', provider: 'p', upstreamModel: 'm', status: 200, errorCode: null, errorClass: null, stream: false,
    usage: null, toolCalls: [], stopReason: null, sessionId: 's', credentialSource: 'provider', credentialFingerprint: null, pricing: null, quotas: [],
  };
}

test('the fingerprint secret is created once and shared: the first candidate wins', async () => {
  const s = await twoStores();
  try {
    const [x, y] = await Promise.all([s.a.fingerprintSecret('aa'.repeat(32)), s.b.fingerprintSecret('bb'.repeat(32))]);
    assert.equal(x, y);
    assert.equal(await s.b.fingerprintSecret('cc'.repeat(32)), x);
  } finally {
    await s.close();
  }
});

test('quota charges from two replicas are applied as deltas; refill is counted once, from the stored time', async () => {
  const s = await twoStores();
  try {
    const T = 1_800_000_000_000;
    // 1,000 nanodollars a second, capacity 1,000,000.
    const rule = { capacity: 1_000_000, rateNanos: 1_000, periodMs: 1_000 };
    const row = (balanceNanos: number, updatedAt: number) => ({ bucket: 'team', quota: 'team', balanceNanos, carry: 0, updatedAt, unmetered: 0 });
    await s.a.saveQuotaBalances([{ row: row(900_000, T), delta: 100_000, rule }], []);
    // 20 saves of 1,000 from each replica, all at once, each believing a different balance.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => [
        s.a.saveQuotaBalances([{ row: row(123, T), delta: 1_000, rule }], []),
        s.b.saveQuotaBalances([{ row: row(456, T + i), delta: 1_000, rule, unmeteredDelta: 1 }], []),
      ]).flat(),
    );
    const [stored] = await s.b.loadQuotaBalances();
    assert.equal(stored!.unmetered, 20);
    // Refill from T to T+19 ms earns 19 nanodollars once (not once per replica or per save).
    assert.equal(stored!.balanceNanos, 900_000 - 40_000 + 19);
    assert.equal(stored!.updatedAt, T + 19);
    // Ten seconds later, a charge of 0 refills 10,000; a refill past capacity stops at it.
    await s.a.saveQuotaBalances([{ row: row(0, T + 10_019), delta: 0, rule }], []);
    assert.equal((await s.a.loadQuotaBalances())[0]!.balanceNanos, 860_019 + 10_000);
    await s.a.saveQuotaBalances([{ row: row(0, T + 10_000_000), delta: 0, rule }], []);
    assert.equal((await s.a.loadQuotaBalances())[0]!.balanceNanos, 1_000_000);
  } finally {
    await s.close();
  }
});

test('one replica exports at a time: the other finds the export taken until it is committed', async () => {
  const s = await twoStores();
  try {
    const now = Date.now();
    await s.a.insert([1, 2, 3].map((i) => ({ record: record(`req_${i}`, now + i), capture: null })));
    const first = await s.a.exportNext(2, now);
    assert.equal(first?.count, 2);
    assert.equal(await s.b.exportNext(2, now), null, 'taken by the other replica');
    await s.a.exportCommit(first!.keySeconds, first!.toSeq, now);
    const second = await s.b.exportNext(2, now);
    assert.equal(second?.count, 1, 'after the commit the other replica goes on from the shared cursor');
    await s.b.exportCommit(second!.keySeconds, second!.toSeq, now);
    assert.equal((await s.a.exportState()).exportedRecords, 3);
  } finally {
    await s.close();
  }
});

test('inserts from several replicas commit in seq order, so the export cursor never passes a row', async () => {
  const s = await twoStores();
  try {
    const now = Date.now();
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? s.a : s.b).insert(Array.from({ length: 25 }, (_, j) => ({ record: record(`req_${i}_${j}`, now + j), capture: null })))),
    );
    const client = new pg.Client(s.url);
    await client.connect();
    try {
      const { rows } = await client.query('SELECT count(*)::int AS n, min(seq)::int AS lo, max(seq)::int AS hi FROM requests');
      assert.equal(rows[0].n, 1000);
      assert.equal(rows[0].hi - rows[0].lo + 1, 1000, 'no gaps: one batch drew its numbers at a time');
    } finally {
      await client.end();
    }
    let exported = 0;
    for (let batch = await s.a.exportNext(300, now); batch; batch = await s.a.exportNext(300, now)) {
      exported += batch.count;
      await s.a.exportCommit(batch.keySeconds, batch.toSeq, now);
    }
    assert.equal(exported, 1000);
  } finally {
    await s.close();
  }
});

/** A TCP relay in front of PostgreSQL that can be cut, as a network outage or a database restart would. */
async function relay(target: URL): Promise<{ url: string; cut(): void; restore(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let down = false;
  const proxy: Server = createServer((client) => {
    if (down) return void client.destroy();
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.host = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
  return {
    url: url.toString(),
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      down = false;
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        proxy.close(() => resolve());
      }),
  };
}

test('a database outage holds writes back and retries them; the status says so; nothing is lost', async () => {
  const real = new URL(await server.freshDatabase());
  const net = await relay(real);
  const store = await WorkerTelemetryStore.openPostgres(net.url);
  try {
    assert.equal((await store.status()).available, true);
    net.cut();
    let written = false;
    const insert = store.insert([{ record: record('req_during_outage', Date.now()), capture: null }]).then(() => (written = true));
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(written, false, 'the batch waits for the database');
    const down = await store.status();
    assert.equal(down.available, false);
    assert.ok(down.retries >= 2, `retried with backoff (${down.retries})`);
    assert.ok(down.lastError && !down.lastError.includes('postgres://'), down.lastError ?? '');
    net.restore();
    await insert;
    assert.equal((await store.status()).available, true);
    const detail = await store.request('req_during_outage');
    assert.equal(detail?.request.id, 'req_during_outage');
  } finally {
    net.restore();
    await store.close();
    await net.close();
  }
});
