/**
 * The quota ledger over a store shared by several replicas (PostgreSQL's semantics, in
 * memory: pg/quotas-pg.ts applyChange is the arithmetic the database store runs): two
 * ledgers charging one bucket see each other's charges after a refresh, refill is
 * counted once, and a clamp to a smaller capacity is not sent as a charge.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QuotaSpec } from '../src/config/types.js';
import { QuotaLedger } from '../src/governance/ledger.js';
import { createLogger } from '../src/log.js';
import { applyChange } from '../src/telemetry/pg/quotas-pg.js';
import type { QuotaBalanceChange, QuotaBalanceRow, QuotaBalanceStore } from '../src/telemetry/store.js';

/** A shared store in memory: deltas applied to one row per bucket, as the PostgreSQL store does. */
class SharedStore implements QuotaBalanceStore {
  readonly sharedBalances = true;
  readonly rows = new Map<string, QuotaBalanceRow>();
  readonly sent: QuotaBalanceChange[] = [];
  async loadQuotaBalances() {
    return [...this.rows.values()].map((r) => ({ ...r }));
  }
  async saveQuotaBalances(changes: QuotaBalanceChange[], forget: string[]) {
    for (const c of changes) {
      this.sent.push(c);
      const stored = this.rows.get(c.row.bucket);
      this.rows.set(c.row.bucket, stored ? applyChange(stored, c) : { ...c.row });
    }
    for (const b of forget) this.rows.delete(b);
  }
}

const spec = (capacityNanos: number, rateNanos: number): QuotaSpec => ({ name: 'team', base: 'team', template: undefined, capacityNanos, rateNanos, periodMs: 1000, capacity: '', rate: '' });
const log = createLogger('silent');

test('two replicas: charges from both land in the shared row; each takes the other\'s after a refresh', async () => {
  const store = new SharedStore();
  let now = 1_000_000;
  const clock = () => now;
  const team = spec(1_000_000, 0);
  const specs = new Map([['team', team]]);
  const a = new QuotaLedger(store, clock, log, 10_000, 10_000);
  const b = new QuotaLedger(store, clock, log, 10_000, 10_000);
  await Promise.all([a.load(specs), b.load(specs)]);
  a.charge(a.bucket('team', team), 300_000);
  b.charge(b.bucket('team', team), 200_000);
  await a.flush();
  await b.flush();
  assert.equal(store.rows.get('team')!.balanceNanos, 500_000, 'deltas, not balances: neither overwrote the other');
  b.charge(b.peek('team')!, 100_000); // not saved yet
  await b.refresh();
  assert.equal(b.peek('team')!.balance, 400_000, 'the stored row less what b has not saved');
  await a.refresh();
  assert.equal(a.peek('team')!.balance, 500_000);
  await b.flush();
  await a.refresh();
  assert.equal(a.peek('team')!.balance, 400_000);
  await Promise.all([a.close(), b.close()]);
});

test('refill is worked out once, from the stored time, however many replicas refresh', async () => {
  const store = new SharedStore();
  let now = 5_000_000;
  const clock = () => now;
  const team = spec(1_000_000, 1_000); // 1,000 nanodollars a second
  const specs = new Map([['team', team]]);
  const a = new QuotaLedger(store, clock, log, 10_000, 10_000);
  const b = new QuotaLedger(store, clock, log, 10_000, 10_000);
  await Promise.all([a.load(specs), b.load(specs)]);
  a.charge(a.bucket('team', team), 600_000);
  await a.flush();
  now += 10_000; // ten seconds: 10,000 earned
  await b.refresh();
  assert.equal(b.peek('team')!.balance, 410_000);
  b.charge(b.peek('team')!, 10_000);
  await b.flush();
  await a.refresh();
  assert.equal(a.peek('team')!.balance, 400_000, 'b\'s refill and a\'s are the same ten seconds, counted once');
  await Promise.all([a.close(), b.close()]);
});

test('a clamp to a smaller capacity is not sent as a charge; a bucket another replica made is taken on refresh', async () => {
  const store = new SharedStore();
  const clock = () => 1_000;
  const big = spec(1_000_000, 0);
  const a = new QuotaLedger(store, clock, log, 10_000, 10_000);
  await a.load(new Map([['team', big]]));
  a.bucket('team', big);
  await a.flush();
  const small = spec(400_000, 0);
  a.apply(new Map([['team', small]]));
  await a.flush();
  assert.equal(store.sent.at(-1)!.delta, 0, 'clamping takes nothing');
  assert.equal(store.rows.get('team')!.balanceNanos, 400_000, 'the store clamps by the rule');
  const b = new QuotaLedger(store, clock, log, 10_000, 10_000);
  await b.load(new Map([['team', small]]));
  store.rows.get('team')!.balanceNanos = -5;
  await b.refresh();
  assert.equal(b.peek('team')!.balance, -5);
  await Promise.all([a.close(), b.close()]);
});
