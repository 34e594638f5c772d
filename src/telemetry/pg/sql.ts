/**
 * Small helpers the PostgreSQL telemetry modules share: numbered parameters for queries
 * built from a filter (values always travel as parameters, never in the SQL text), one
 * transaction on one connection, and which errors are worth retrying.
 */
import type { Pool, PoolClient } from '../../pg/pool.js';

/** Params collects a query's values and hands out their `$n` placeholders. */
export class Params {
  readonly values: unknown[] = [];
  /** add appends a value and returns its placeholder, with a cast when the type must be stated. */
  add(value: unknown, cast = ''): string {
    this.values.push(value);
    return `$${this.values.length}${cast}`;
  }
}

/** inTransaction runs `fn` in one transaction on one connection; an error rolls it back. */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * retryable: the database could not be reached or went away (connection refused or
 * reset, server shutting down, too many connections), as against a statement it refused.
 * A batch that failed for the first reason is written again later; one that failed for
 * the second would fail the same way forever.
 */
export function retryable(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string') return true; // a socket error or timeout of the driver
  if (/^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, ETIMEDOUT, …
  // 08: connection exception; 53: insufficient resources; 57P: operator intervention (shutdown); 40: serialization/deadlock.
  return code.startsWith('08') || code.startsWith('53') || code.startsWith('57P') || code.startsWith('40');
}

/** PostgreSQL text cannot hold NUL; a body that has one keeps the rest (U+FFFD in its place). */
export function pgText(s: string): string;
export function pgText(s: string | null): string | null;
export function pgText(s: string | null): string | null {
  return s !== null && s.includes('\0') ? s.replaceAll('\0', '\uFFFD') : s;
}

/** The day (UTC, `YYYY-MM-DD`) of a column of milliseconds since the epoch. */
export const dayOf = (column: string) => `to_char(to_timestamp(${column} / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
/** The hour (UTC, `YYYY-MM-DDTHH:00`) of a column of milliseconds since the epoch. */
export const hourOf = (column: string) => `to_char(to_timestamp(${column} / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:00')`;
