/**
 * Schema migrations for PostgreSQL, safe when several replicas start at once: each set
 * of migrations (a "component": telemetry, config, ...) runs under a transaction-scoped
 * advisory lock, so one replica migrates while the others wait and then find nothing to
 * do. Versions are kept per component in `keyway_schema`. Append migrations; never edit
 * one that has shipped.
 */
import type { Pool, PoolClient } from './pool.js';

/** One migration: SQL text, or a function for steps that need more than SQL. */
export type Migration = string | ((client: PoolClient) => Promise<void>);

// Any constant works as long as every keyway uses the same one; this is "keyway" in ASCII.
const LOCK_NAMESPACE = 0x6b6579;

/**
 * migrate brings `component` up to date and returns the version it found and the one it
 * left. Everything runs in one transaction: a failed migration leaves the schema as it was.
 */
export async function migrate(pool: Pool, component: string, migrations: readonly Migration[]): Promise<{ from: number; to: number }> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_NAMESPACE, component]);
    await client.query('CREATE TABLE IF NOT EXISTS keyway_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)');
    const { rows } = await client.query<{ version: number }>('SELECT version FROM keyway_schema WHERE component = $1', [component]);
    const from = rows[0]?.version ?? 0;
    if (from > migrations.length) {
      throw new Error(`the database's ${component} schema is version ${from}, newer than this keyway knows (${migrations.length}); upgrade keyway`);
    }
    for (let v = from; v < migrations.length; v++) {
      const step = migrations[v];
      if (typeof step === 'string') await client.query(step);
      else await step(client);
    }
    await client.query(
      'INSERT INTO keyway_schema (component, version) VALUES ($1, $2) ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version',
      [component, migrations.length],
    );
    await client.query('COMMIT');
    return { from, to: migrations.length };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * withAdvisoryLock runs `fn` holding a session lock named `name` on one connection, for
 * work that must happen once across replicas but is not a migration (seeding an empty
 * database with the starter configuration, say).
 */
export async function withAdvisoryLock<T>(pool: Pool, name: string, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_NAMESPACE, name]);
    try {
      return await fn(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_NAMESPACE, name]);
    }
  } finally {
    client.release();
  }
}
