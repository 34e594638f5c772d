/**
 * Quota balances shared by every replica on one PostgreSQL database, and the quota
 * entries of each request (telemetry; the quota history).
 *
 * Each replica's ledger admits from memory and sends, every 100 ms, what it took from each
 * bucket since its last save (`delta`: charges minus admin refills), never its balance:
 * saving a balance would overwrite the charges another replica made meanwhile. The stored
 * row is the balance as of `updated_at`; a save locks the rows, refills each from its own
 * `updated_at` with the bucket's rule (governance/bucket.ts, the same arithmetic as the
 * ledger), takes the delta and clamps to the capacity. Refill is worked out only here, from
 * the one stored time, so time earned is never counted once per replica. Replicas read
 * the rows back every 250 ms (governance/ledger.ts refresh).
 */
import { refill, type BucketState } from '../../governance/bucket.js';
import type { Pool } from '../../pg/pool.js';
import type { QuotaEntry, QuotaOutcome } from '../record.js';
import type { QuotaBalanceChange, QuotaBalanceRow, QuotaHistoryFilter, QuotaHistoryRow } from '../store.js';
import { hourOf, dayOf, inTransaction, Params } from './sql.js';

const SELECT_BALANCES = 'SELECT bucket, quota, balance_nanos AS "balanceNanos", carry, updated_at AS "updatedAt", unmetered FROM quota_balances';

export class PgQuotas {
  constructor(private readonly pool: Pool) {}

  async load(): Promise<QuotaBalanceRow[]> {
    const { rows } = await this.pool.query<QuotaBalanceRow>({ name: 'quota-load', text: `${SELECT_BALANCES} ORDER BY bucket`, values: [] });
    return rows;
  }

  /** save applies each change as a delta to the shared row (created from the change when there is none), in one transaction. */
  async save(changes: QuotaBalanceChange[], forget: string[]): Promise<void> {
    // Rows are locked in bucket order, so two replicas saving the same buckets cannot deadlock.
    const sorted = [...changes].sort((a, b) => (a.row.bucket < b.row.bucket ? -1 : a.row.bucket > b.row.bucket ? 1 : 0));
    await inTransaction(this.pool, async (client) => {
      if (sorted.length > 0) {
        const rows = sorted.map((c) => c.row);
        // A bucket no replica has stored yet is stored as this one holds it (its charges are in it).
        const created = await client.query<{ bucket: string }>({
          name: 'quota-create',
          text: `INSERT INTO quota_balances (bucket, quota, balance_nanos, carry, updated_at, unmetered)
            SELECT * FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[]) ON CONFLICT (bucket) DO NOTHING RETURNING bucket`,
          values: [rows.map((r) => r.bucket), rows.map((r) => r.quota), rows.map((r) => r.balanceNanos), rows.map((r) => r.carry), rows.map((r) => r.updatedAt), rows.map((r) => r.unmetered)],
        });
        const fresh = new Set(created.rows.map((r) => r.bucket));
        const existing = sorted.filter((c) => !fresh.has(c.row.bucket));
        if (existing.length > 0) {
          const locked = await client.query<QuotaBalanceRow>({
            name: 'quota-lock',
            text: `${SELECT_BALANCES} WHERE bucket = ANY($1::text[]) ORDER BY bucket FOR UPDATE`,
            values: [existing.map((c) => c.row.bucket)],
          });
          const stored = new Map(locked.rows.map((r) => [r.bucket, r]));
          const next: QuotaBalanceRow[] = [];
          for (const change of existing) {
            const row = stored.get(change.row.bucket);
            if (row) next.push(applyChange(row, change));
          }
          await client.query({
            name: 'quota-update',
            text: `UPDATE quota_balances q SET quota = u.quota, balance_nanos = u.balance, carry = u.carry, updated_at = u.at, unmetered = u.unmetered
              FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int8[]) AS u (bucket, quota, balance, carry, at, unmetered) WHERE q.bucket = u.bucket`,
            values: [next.map((r) => r.bucket), next.map((r) => r.quota), next.map((r) => r.balanceNanos), next.map((r) => r.carry), next.map((r) => r.updatedAt), next.map((r) => r.unmetered)],
          });
        }
      }
      if (forget.length > 0) await client.query({ name: 'quota-forget', text: 'DELETE FROM quota_balances WHERE bucket = ANY($1::text[])', values: [forget] });
    });
  }

  /** entriesOf returns the quota entries of the given requests ([started_at…], [id…]), by request id. */
  async entriesOf(keys: unknown[][]): Promise<Map<string, QuotaEntry[]>> {
    const { rows } = await this.pool.query<{ request_id: string; entries: Array<[string, string, number, QuotaOutcome]> }>({
      name: 'entries-request_quotas',
      text: 'SELECT request_id, entries FROM request_quotas WHERE (started_at, request_id) IN (SELECT * FROM unnest($1::int8[], $2::text[]))',
      values: keys,
    });
    return new Map(rows.map((r) => [r.request_id, r.entries.map(([bucket, quota, nanos, outcome]) => ({ bucket, quota, nanos, outcome }))]));
  }

  /** history counts requests, refusals and charges per bucket and hour or day. */
  async history(f: QuotaHistoryFilter): Promise<QuotaHistoryRow[]> {
    if (f.buckets && f.buckets.length === 0) return [];
    const p = new Params();
    const clauses = [`q.started_at >= ${p.add(f.from, '::int8')}`, `q.started_at < ${p.add(f.to, '::int8')}`];
    if (f.buckets) clauses.push(`e.value ->> 0 = ANY(${p.add(f.buckets, '::text[]')})`);
    const period = f.every === 'hour' ? hourOf('q.started_at') : dayOf('q.started_at');
    const { rows } = await this.pool.query<QuotaHistoryRow>(
      `SELECT ${period} AS period, e.value ->> 0 AS bucket, count(*) AS requests,
        sum(CASE WHEN e.value ->> 3 = 'refused' THEN 1 ELSE 0 END) AS refused,
        sum(CASE WHEN e.value ->> 3 IN ('unpriced', 'no_usage') THEN 1 ELSE 0 END) AS unmetered,
        coalesce(sum((e.value ->> 2)::int8), 0) AS "chargedNanos"
      FROM request_quotas q, jsonb_array_elements(q.entries) e WHERE ${clauses.join(' AND ')}
      GROUP BY 1, 2 ORDER BY 1, (e.value ->> 0) COLLATE "C"`,
      p.values,
    );
    return rows;
  }
}

/**
 * applyChange is the stored row after one replica's change: refilled (by the change's
 * rule) up to the later of the stored time and the replica's, less the delta, no more
 * than the capacity.
 */
export function applyChange(stored: QuotaBalanceRow, change: QuotaBalanceChange): QuotaBalanceRow {
  const state: BucketState = { balance: stored.balanceNanos, carry: stored.carry, updatedAt: stored.updatedAt };
  const at = Math.max(stored.updatedAt, change.row.updatedAt);
  const rule = change.rule;
  if (rule) refill(state, rule, at);
  else state.updatedAt = at;
  state.balance -= change.delta;
  if (rule && state.balance >= rule.capacity) {
    state.balance = rule.capacity;
    state.carry = 0;
  }
  return {
    bucket: stored.bucket,
    quota: change.row.quota,
    balanceNanos: state.balance,
    carry: state.carry,
    updatedAt: state.updatedAt,
    unmetered: stored.unmetered + (change.unmeteredDelta ?? 0),
  };
}
