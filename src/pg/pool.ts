/**
 * The PostgreSQL connection pool keyway uses when it runs with `--database postgres://…`.
 * One pool per process (per thread that needs one); its size is bounded so several
 * replicas stay well under the server's max_connections.
 */
import pg from 'pg';

// BIGINT and NUMERIC come back as strings by default; keyway's counters and times
// (milliseconds since the epoch, token counts) fit a double exactly, so parse them.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  /** Connections at most (default 10). */
  max?: number;
  /** Name shown in pg_stat_activity, to tell replicas and threads apart. */
  applicationName?: string;
}

/** isPostgresUrl tells a PostgreSQL URL (postgres:// or postgresql://) from a file path. */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/** redactUrl is the URL as it may appear in a log line or an error: never the password. */
export function redactUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    for (const key of [...url.searchParams.keys()]) if (/pass|secret|key/i.test(key)) url.searchParams.set(key, '***');
    return url.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** openPool makes a pool; connections are opened lazily, on first use. */
export function openPool(url: string, opts: PoolOptions = {}): Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'keyway',
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // A connection the server closes (restart, failover, a cut network) emits 'error': on
  // the pool when it is idle, on its client when it is checked out between two queries
  // (inside a transaction, say). Without a listener either would end the process (or the
  // worker thread). The query in flight, if any, fails on its own; the next one reconnects.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/**
 * describePgError is a database error as one line fit for a log: never the URL or password.
 * A host name with two addresses (localhost: ::1 and 127.0.0.1) fails to connect with an
 * AggregateError whose own message is empty; its errors are described instead.
 */
export function describePgError(err: unknown): string {
  const e = err as { code?: string; message?: string; errors?: unknown[] };
  if (e?.message === '' && Array.isArray(e.errors) && e.errors.length > 0) return e.errors.map((inner) => describePgError(inner)).join('; ');
  const message = (e?.message ?? String(err)).replace(/postgres(ql)?:\/\/\S+/gi, (m) => redactUrl(m));
  return e?.code ? `${message} (${e.code})` : message;
}
