/**
 * Small helpers the PostgreSQL telemetry modules share: numbered parameters for queries
 * built from a filter (values always travel as parameters, never in the SQL text), one
 * transaction on one connection, and which errors are worth retrying.
 */
import { unreachable } from '../../pg/errors.js';
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
 * retryable: worth writing the batch again later. The database could not be reached
 * (pg/errors.ts `unreachable`), or the failure passes by itself: a socket error or
 * timeout of the driver (no code), a serialization failure or deadlock (40), insufficient
 * resources (53: disk full, out of memory). A statement the database refused would fail
 * the same way forever.
 */
export function retryable(err: unknown): boolean {
  if (unreachable(err)) return true;
  const code = (err as { code?: unknown })?.code;
  return typeof code !== 'string' || code.startsWith('40') || code.startsWith('53');
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
