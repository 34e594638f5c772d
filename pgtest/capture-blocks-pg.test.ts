/**
 * Captures in blocks on PostgreSQL (migration 2, src/telemetry/pg/capture-blocks-pg.ts):
 * one zstd block per written batch, each request row pointing into it. What the storage
 * contract checks through the store is checked here on the tables: no capture rows, the
 * purge leaving no purged body inside a kept block, a second replica's cache never stale
 * after another replica rewrote a block, and a database from before the migration keeping
 * its captures.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { unpackBlock } from '../src/telemetry/capture-block.js';
import { PgTelemetryDb } from '../src/telemetry/pg/telemetry-pg.js';
import { PG_MIGRATIONS } from '../src/telemetry/pg/schema.js';
import { migrate } from '../src/pg/migrate.js';
import { openPool } from '../src/pg/pool.js';
import { capture, item, record } from '../test/capture-fixtures.js';
import { usePostgres } from './use-postgres.js';

const server = usePostgres();

const body = async (db: PgTelemetryDb, id: string) => (await db.request(id))?.capture?.requestBody ?? null;

async function withDatabase(fn: (url: string, sql: (text: string, values?: unknown[]) => Promise<unknown[]>) => Promise<void>): Promise<void> {
  const url = await server.freshDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await fn(url, async (text, values) => (await client.query(text, values)).rows);
  } finally {
    await client.end();
  }
}

/** Every block's text, decompressed: what is on disk. */
async function blockText(sql: (text: string) => Promise<unknown[]>): Promise<string> {
  const rows = (await sql('SELECT data FROM capture_blocks ORDER BY id')) as Array<{ data: Buffer }>;
  return rows.map((r) => unpackBlock(r.data).toString('utf8')).join('\n');
}

test('postgres: a batch is one compressed block, no capture rows; every capture reads back whole', async () => {
  await withDatabase(async (url, sql) => {
    const db = await PgTelemetryDb.open(url);
    try {
      const now = Date.now();
      const long = `{"messages":"${'the same conversation again '.repeat(200)}"}`;
      await db.insert([item(record('req_a', now), capture('req_a', '{"a":"Grüße 😀 \\u0000"}')), item(record('req_b', now + 1), null), item(record('req_c', now + 2), capture('req_c', long))]);
      await db.insert([item(record('req_d', now + 3), capture('req_d', '{"d":1}'))]);
      assert.deepEqual(await sql('SELECT count(*)::int AS n FROM capture_blocks'), [{ n: 2 }]);
      assert.deepEqual(await sql('SELECT count(*)::int AS n FROM captures'), [{ n: 0 }], 'no capture rows any more');
      const [{ stored }] = (await sql('SELECT octet_length(data) AS stored FROM capture_blocks ORDER BY id LIMIT 1')) as Array<{ stored: number }>;
      assert.ok(stored < long.length / 4, `the block is compressed: ${stored} bytes for a ${long.length}-byte body`);
      const { requestId: _a, ...a } = capture('req_a', '{"a":"Grüße 😀 \\u0000"}');
      assert.deepEqual((await db.request('req_a'))!.capture, a);
      assert.equal(await body(db, 'req_c'), long);
      assert.equal((await db.request('req_b'))!.capture, null);
      assert.equal(await body(db, 'req_d'), '{"d":1}');
      const slots = (await sql("SELECT id, capture_block IS NULL AS none FROM requests ORDER BY id")) as Array<{ id: string; none: boolean }>;
      assert.deepEqual(slots.map((s) => s.none), [false, true, false, false]);
    } finally {
      await db.close();
    }
  });
});

test('postgres: the purge deletes an all-old block and writes a mixed one again without the old, under a new id; another replica reads the kept capture right', async () => {
  await withDatabase(async (url, sql) => {
    const a = await PgTelemetryDb.open(url);
    const b = await PgTelemetryDb.open(url);
    try {
      const now = Date.now();
      const old = now - 2 * 3_600_000;
      // A long stream that started two hours ago is written in the same batch as requests of now.
      await a.insert([
        item(record('req_old', old), capture('req_old', '{"secret":"old-body-test"}')),
        item(record('req_new', now), capture('req_new', '{"new":"kept-body-test"}')),
        item(record('req_new2', now + 1), capture('req_new2', '{"new":"kept-too-test"}')),
      ]);
      await a.insert([item(record('req_old2', old + 1), capture('req_old2', '{"old":2}'))]);
      // Replica b reads (and caches) the mixed block as it was.
      assert.equal(await body(b, 'req_new2'), '{"new":"kept-too-test"}');
      const [before] = (await sql("SELECT capture_block FROM requests WHERE id = 'req_new'")) as Array<{ capture_block: number }>;
      assert.deepEqual(await a.purge(now - 3_600_000, undefined), { captures: 2, tools: 0 });
      assert.equal((await a.request('req_old'))!.capture, null);
      assert.equal((await a.request('req_old2'))!.capture, null);
      const [moved] = (await sql("SELECT capture_block, capture_offset FROM requests WHERE id = 'req_new'")) as Array<{ capture_block: number; capture_offset: number }>;
      assert.notEqual(moved!.capture_block, before!.capture_block, 'kept captures live in a new block');
      assert.equal(moved!.capture_offset, 0, 'at its start');
      assert.equal(await body(b, 'req_new2'), '{"new":"kept-too-test"}', 'replica b does not read its cached copy of the old block at the new offset');
      assert.equal(await body(b, 'req_new'), '{"new":"kept-body-test"}');
      assert.deepEqual(await sql('SELECT count(*)::int AS n FROM capture_blocks'), [{ n: 1 }], 'the all-old block is gone');
      const text = await blockText(sql);
      assert.ok(!text.includes('old-body-test'), 'the purged body is not on disk inside the kept block');
      assert.ok(text.includes('kept-body-test'));
      assert.deepEqual(await b.purge(now - 3_600_000, undefined), { captures: 0, tools: 0 }, 'nothing twice, whichever replica purges');
      assert.deepEqual(await b.purge(now + 2, undefined), { captures: 2, tools: 0 });
      assert.deepEqual(await sql('SELECT count(*)::int AS n FROM capture_blocks'), [{ n: 0 }]);
      assert.equal((await a.requests({}, 10)).requests.length, 4, 'records are never purged');
    } finally {
      await a.close();
      await b.close();
    }
  });
});

test('postgres: two replicas purging the same blocks at once purge each capture once', async () => {
  await withDatabase(async (url, sql) => {
    const a = await PgTelemetryDb.open(url);
    const b = await PgTelemetryDb.open(url);
    try {
      const old = Date.now() - 3_600_000;
      for (let i = 0; i < 20; i++) {
        await a.insert([item(record(`req_${i}a`, old + i), capture(`req_${i}a`, `{"i":${i}}`)), item(record(`req_${i}b`, Date.now() + i), capture(`req_${i}b`, `{"kept":${i}}`))]);
      }
      const [x, y] = await Promise.all([a.purge(old + 1_000, undefined), b.purge(old + 1_000, undefined)]);
      assert.equal(x.captures + y.captures, 20);
      assert.deepEqual(await sql('SELECT count(*)::int AS n FROM capture_blocks'), [{ n: 20 }]);
      for (let i = 0; i < 20; i++) {
        assert.equal(await body(a, `req_${i}a`), null);
        assert.equal(await body(b, `req_${i}b`), `{"kept":${i}}`);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});

test('postgres: a database from before migration 2 keeps its capture rows: read, filtered by header, exported and purged', async () => {
  await withDatabase(async (url, sql) => {
    const pool = openPool(url);
    await migrate(pool, 'telemetry', PG_MIGRATIONS.slice(0, 1));
    await pool.end();
    const old = Date.now() - 2 * 3_600_000;
    await sql(
      `INSERT INTO requests (id, started_at, duration_ms, login, node_id, tags, user_agent, client, format, path, requested_model, status, stream, has_usage,
        input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, web_search_count, tool_call_count,
        session_id, credential_source) VALUES ('req_legacy', $1, 5, 'alice@example.com', '', '', 'test', 'api', 'openai_chat', '/v1/chat/completions', 'gpt-test', 200, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 's', 'provider')`,
      [old],
    );
    await sql("INSERT INTO captures VALUES ('req_legacy', $1, $2, '{\"legacy\":1}', 0, '{}', '{}', 0, NULL, NULL)", [old, JSON.stringify({ 'x-team': 'platform' })]);
    const db = await PgTelemetryDb.open(url);
    try {
      await db.insert([item(record('req_new', Date.now()), capture('req_new', '{"new":1}', 'platform'))]);
      assert.equal(await body(db, 'req_legacy'), '{"legacy":1}');
      const ids = async (value: string) => (await db.requests({ header: { name: 'x-team', value } }, 10)).requests.map((r) => r.id);
      assert.deepEqual(await ids('platform'), ['req_new', 'req_legacy'], 'old rows and blocks, newest first');
      assert.deepEqual(await ids('data'), []);
      assert.deepEqual((await db.requests({ header: { name: 'constructor', value: 'x' } }, 10)).requests, [], 'a name is a key, not a property lookup');
      assert.equal((await db.usage({ header: { name: 'x-team', value: 'platform' } }, undefined)).totals.requests, 2);
      // Tool Use runs its queries at once with one header filter: they share one scan of the blocks.
      const tools = await db.toolUse({ header: { name: 'x-team', value: 'platform' } }, 60_000);
      assert.equal(tools.totals.calls, 0, 'no MCP calls among them');
      assert.equal(tools.models.totals.requests, 0);
      const batch = await db.exports.next(100, Date.now());
      assert.equal(batch?.count, 2, 'both exported');
      assert.deepEqual(await db.purge(Date.now() - 3_600_000, undefined), { captures: 1, tools: 0 });
      assert.equal((await db.request('req_legacy'))!.capture, null);
      assert.equal(await body(db, 'req_new'), '{"new":1}');
    } finally {
      await db.close();
    }
  });
});

test('postgres: the header filter reads past one page of rows (5,000) and counts every match once', async () => {
  await withDatabase(async (url) => {
    const db = await PgTelemetryDb.open(url);
    try {
      const t0 = Date.now() - 60_000;
      for (let b = 0; b < 61; b++) {
        const batch = [];
        for (let i = 0; i < 100; i++) {
          const n = b * 100 + i;
          batch.push(item(record(`req_${String(n).padStart(5, '0')}`, t0 + n), capture(`req_${n}`, '{}', n % 3 === 0 ? 'red' : 'blue')));
        }
        await db.insert(batch);
      }
      assert.equal((await db.usage({ header: { name: 'x-team', value: 'red' } }, undefined)).totals.requests, 2_034, 'every third of 6,100');
      assert.equal((await db.usage({ header: { name: 'x-team', value: 'blue' } }, undefined)).totals.requests, 4_066);
      const page = await db.requests({ header: { name: 'x-team', value: 'red' } }, 3);
      assert.deepEqual(page.requests.map((r) => r.id), ['req_06099', 'req_06096', 'req_06093'], 'newest first');
    } finally {
      await db.close();
    }
  });
});
