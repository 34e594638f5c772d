/**
 * Telling a database that cannot be reached from a query that failed. Free of the driver,
 * so the telemetry worker loads it on SQLite too.
 */
import { StoreUnavailableError } from '../errors.js';

/**
 * unreachable tells a database that cannot be reached (refused, reset, timed out, shutting
 * down, out of connections) from a query that failed: only the first is worth a 503 and a
 * retry. The driver's own connection failures carry no code, only their message.
 */
export function unreachable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown[] } | null;
  if (Array.isArray(e?.errors) && e.errors.length > 0) return e.errors.every(unreachable); // localhost's two addresses
  const code = e?.code;
  if (typeof code === 'string') {
    // 55000 is also how a database closed to connections (ALLOW_CONNECTIONS false) refuses one.
    if (code === '55000') return typeof e?.message === 'string' && e.message.includes('accepting connections');
    return /^E[A-Z]+$/.test(code) || code.startsWith('08') || code.startsWith('57P') || code === '53300';
  }
  return typeof e?.message === 'string' && /connection terminated|timeout exceeded when trying to connect|connection timeout/i.test(e.message);
}

/** rethrowUnreachable makes a failure to reach the database a StoreUnavailableError (described by `describe`); other errors pass unchanged. */
export function rethrowUnreachable(describe: (err: unknown) => string): (err: unknown) => never {
  return (err) => {
    throw unreachable(err) ? new StoreUnavailableError(describe(err)) : err;
  };
}
