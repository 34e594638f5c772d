/** The migration runner against a real PostgreSQL: once per component, safe under concurrency. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrate, withAdvisoryLock, type Migration } from '../src/pg/migrate.js';
import { describePgError, openPool, redactUrl, type Pool } from '../src/pg/pool.js';
import { usePostgres } from './use-postgres.js';

const server = usePostgres();

async function withPools<T>(n: number, fn: (pools: Pool[]) => Promise<T>): Promise<T> {
  const url = await server.freshDatabase();
  const pools = Array.from({ length: n }, () => openPool(url, { max: 2 }));
  try {
    return await fn(pools);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
}

test('migrations run once each, in order, and a second start finds nothing to do', async () => {
  await withPools(1, async ([pool]) => {
    const steps: Migration[] = ['CREATE TABLE a (x INT)', 'ALTER TABLE a ADD COLUMN y INT'];
    assert.deepEqual(await migrate(pool, 'demo', steps), { from: 0, to: 2 });
    assert.deepEqual(await migrate(pool, 'demo', steps), { from: 2, to: 2 });
    const more = [...steps, 'CREATE INDEX a_x ON a (x)'];
    assert.deepEqual(await migrate(pool, 'demo', more), { from: 2, to: 3 });
    const { rows } = await pool.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'a' ORDER BY column_name");
    assert.deepEqual(rows.map((r) => r.column_name), ['x', 'y']);
  });
});

test('five replicas migrating at once: each step runs exactly once', async () => {
  await withPools(5, async (pools) => {
    const steps: Migration[] = [
      'CREATE TABLE runs (n SERIAL PRIMARY KEY)',
      async (client) => {
        await client.query('INSERT INTO runs DEFAULT VALUES');
        await new Promise((r) => setTimeout(r, 50)); // widen the window a race would need
      },
    ];
    const results = await Promise.all(pools.map((p) => migrate(p, 'race', steps)));
    assert.equal(results.filter((r) => r.from === 0).length, 1, 'one replica migrated');
    assert.equal(results.filter((r) => r.from === 2).length, 4, 'the others found the schema current');
    const { rows } = await pools[0].query('SELECT count(*)::int AS n FROM runs');
    assert.equal(rows[0].n, 1);
  });
});

test('a failing migration leaves the schema as it was', async () => {
  await withPools(1, async ([pool]) => {
    await migrate(pool, 'fail', ['CREATE TABLE ok (x INT)']);
    await assert.rejects(migrate(pool, 'fail', ['CREATE TABLE ok (x INT)', 'CREATE TABLE half (x INT)', 'SELECT nonsense FROM nowhere']));
    const { rows } = await pool.query("SELECT version FROM keyway_schema WHERE component = 'fail'");
    assert.equal(rows[0].version, 1);
    const half = await pool.query("SELECT to_regclass('half') AS t");
    assert.equal(half.rows[0].t, null);
  });
});

test('a database newer than this keyway is refused with a clear message', async () => {
  await withPools(1, async ([pool]) => {
    await migrate(pool, 'newer', ['SELECT 1', 'SELECT 2']);
    await assert.rejects(migrate(pool, 'newer', ['SELECT 1']), /version 2, newer than this keyway knows \(1\)/);
  });
});

test('withAdvisoryLock serialises work across pools', async () => {
  await withPools(3, async (pools) => {
    let inside = 0;
    let most = 0;
    await Promise.all(
      pools.map((p) =>
        withAdvisoryLock(p, 'seed', async () => {
          inside++;
          most = Math.max(most, inside);
          await new Promise((r) => setTimeout(r, 30));
          inside--;
        }),
      ),
    );
    assert.equal(most, 1);
  });
});

test('URLs and errors never show the password', async () => {
  assert.equal(redactUrl('postgres://keyway:hunter2-test@db.example:5432/keyway'), 'postgres://keyway:***@db.example:5432/keyway');
  assert.equal(redactUrl('postgres://db/k?password=test-secret&sslmode=require'), 'postgres://db/k?password=***&sslmode=require');
  const pool = openPool('postgres://keyway:test-pass@127.0.0.1:1/none', {});
  try {
    const err = await pool.query('SELECT 1').catch((e: unknown) => e);
    const line = describePgError(err);
    assert.ok(line.length > 0);
    assert.doesNotMatch(line, /test-pass/);
  } finally {
    await pool.end();
  }
});
