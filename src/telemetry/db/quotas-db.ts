/**
 * Quota balances and per-request quota charges in the telemetry database (worker thread
 * only). Balances are state, saved by the ledger in batches; the charges are telemetry,
 * written with their request records, and answer "rejections and charges over time".
 */
import Database from 'better-sqlite3';
import type { QuotaEntry, QuotaOutcome } from '../record.js';
import type { QuotaBalanceChange, QuotaBalanceRow, QuotaHistoryFilter, QuotaHistoryRow } from '../store.js';

export class QuotasDb {
  private readonly upsert: Database.Statement;
  private readonly remove: Database.Statement;
  private readonly insertEntry: Database.Statement;
  private readonly entryOf: Database.Statement;
  private readonly saveMany: (changes: QuotaBalanceChange[], forget: string[]) => void;

  constructor(private readonly db: Database.Database) {
    // The ledger is the only writer and sends whole rows; a shared backend (PostgreSQL, for
    // several replicas) would apply each change's `delta` to the stored balance instead.
    this.upsert = db.prepare(
      `INSERT INTO quota_balances (bucket, quota, balance_nanos, carry, updated_at, unmetered) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (bucket) DO UPDATE SET quota = excluded.quota, balance_nanos = excluded.balance_nanos, carry = excluded.carry,
       updated_at = excluded.updated_at, unmetered = excluded.unmetered`,
    );
    this.remove = db.prepare('DELETE FROM quota_balances WHERE bucket = ?');
    this.insertEntry = db.prepare('INSERT OR REPLACE INTO request_quotas VALUES (?, ?, ?)');
    this.entryOf = db.prepare('SELECT entries FROM request_quotas WHERE started_at = ? AND request_id = ?').pluck();
    this.saveMany = db.transaction((changes: QuotaBalanceChange[], forget: string[]) => {
      for (const { row: r } of changes) this.upsert.run(r.bucket, r.quota, r.balanceNanos, r.carry, r.updatedAt, r.unmetered);
      for (const bucket of forget) this.remove.run(bucket);
    });
  }

  load(): QuotaBalanceRow[] {
    return loadBalances(this.db);
  }

  save(changes: QuotaBalanceChange[], forget: string[]): void {
    this.saveMany(changes, forget);
  }

  /** insertEntries writes a request's quota entries (inside the caller's transaction). */
  insertEntries(requestId: string, startedAt: number, entries: readonly QuotaEntry[]): void {
    this.insertEntry.run(startedAt, requestId, JSON.stringify(entries.map((e) => [e.bucket, e.quota, e.nanos, e.outcome])));
  }

  /** entriesOf returns the quota entries of one request ([] when it touched none). */
  entriesOf(requestId: string, startedAt: number): QuotaEntry[] {
    const text = this.entryOf.get(startedAt, requestId) as string | undefined;
    if (text === undefined) return [];
    return (JSON.parse(text) as Array<[string, string, number, QuotaOutcome]>).map(([bucket, quota, nanos, outcome]) => ({ bucket, quota, nanos, outcome }));
  }

  /** history counts requests, refusals and charges per bucket and hour or day. */
  history(f: QuotaHistoryFilter): QuotaHistoryRow[] {
    const clauses = ['q.started_at >= ?', 'q.started_at < ?'];
    const params: unknown[] = [f.from, f.to];
    if (f.buckets) {
      if (f.buckets.length === 0) return [];
      clauses.push(`e.value ->> 0 IN (${f.buckets.map(() => '?').join(', ')})`);
      params.push(...f.buckets);
    }
    const period = f.every === 'hour' ? "strftime('%Y-%m-%dT%H:00', q.started_at / 1000, 'unixepoch')" : "strftime('%Y-%m-%d', q.started_at / 1000, 'unixepoch')";
    return this.db
      .prepare(
        `SELECT ${period} AS period, e.value ->> 0 AS bucket, count(*) AS requests,
          sum(CASE WHEN e.value ->> 3 = 'refused' THEN 1 ELSE 0 END) AS refused,
          sum(CASE WHEN e.value ->> 3 IN ('unpriced', 'no_usage') THEN 1 ELSE 0 END) AS unmetered,
          coalesce(sum(e.value ->> 2), 0) AS chargedNanos
        FROM request_quotas q, json_each(q.entries) e WHERE ${clauses.join(' AND ')} GROUP BY period, bucket ORDER BY period, bucket`,
      )
      .all(...params) as QuotaHistoryRow[];
  }
}

/**
 * readQuotaBalances reads the stored balances of a gateway's database without writing to
 * it (for `keyway explain --data-dir`); undefined when there is no database or no quota
 * table. A running gateway saves its balances a quarter of a second behind.
 */
export function readQuotaBalances(path: string): QuotaBalanceRow[] | undefined {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch {
    return undefined;
  }
  try {
    return loadBalances(db);
  } catch {
    return undefined;
  } finally {
    db.close();
  }
}

function loadBalances(db: Database.Database): QuotaBalanceRow[] {
  return db
    .prepare('SELECT bucket, quota, balance_nanos AS balanceNanos, carry, updated_at AS updatedAt, unmetered FROM quota_balances ORDER BY bucket')
    .all() as QuotaBalanceRow[];
}
