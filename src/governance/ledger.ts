/**
 * QuotaLedger holds the balance of every bucket in memory, where requests check and
 * charge them synchronously: on one thread, a charge cannot be lost to another in flight,
 * however many run at once. Changes are written behind, in batches a quarter of a second
 * apart, to a QuotaBalanceStore (the telemetry database, or later a shared one); a
 * restart loads them back. A crash loses at most the last batch.
 *
 * Buckets are created on first use, full. A bucket's rule comes from its quota: when the
 * configuration changes, `apply` moves buckets to the new rule (capacity clamps the
 * balance, excess lost) and forgets the buckets whose quota is gone.
 */
import type { Logger } from 'pino';
import type { QuotaSpec } from '../config/types.js';
import type { QuotaBalanceRow, QuotaBalanceStore } from '../telemetry/store.js';
import { refill, secondsUntilPositive, type BucketRule, type BucketState } from './bucket.js';

/** One bucket, as the ledger keeps it. */
export interface Bucket extends BucketState {
  readonly name: string;
  spec: QuotaSpec;
  /** Requests charged nothing because their cost was unknown (unpriced model, no usage). */
  unmetered: number;
  /** Net nanodollars taken since the last save (charges minus refills). */
  unsaved: number;
  dirty: boolean;
}

export type Clock = () => number;

export const DEFAULT_FLUSH_MS = 250;

function rule(spec: QuotaSpec): BucketRule {
  return { capacity: spec.capacityNanos, rateNanos: spec.rateNanos, periodMs: spec.periodMs };
}

export class QuotaLedger {
  private readonly buckets = new Map<string, Bucket>();
  /** The quotas of the configuration in force, by name. */
  private specs: ReadonlyMap<string, QuotaSpec> = new Map();
  /** Buckets removed since the last save, to delete from the store. */
  private forgotten = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly store: QuotaBalanceStore | undefined,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly flushMs = DEFAULT_FLUSH_MS,
  ) {}

  now(): number {
    return Math.floor(this.clock());
  }

  /** load reads the stored balances and applies `specs` to them (see apply). */
  async load(specs: ReadonlyMap<string, QuotaSpec>): Promise<void> {
    this.specs = specs;
    const rows = this.store ? await this.store.loadQuotaBalances() : [];
    for (const row of rows) {
      const spec = specs.get(row.quota);
      if (!spec) {
        this.forgotten.add(row.bucket);
        continue;
      }
      const excess = Math.max(0, row.balanceNanos - spec.capacityNanos);
      this.buckets.set(row.bucket, {
        name: row.bucket,
        spec,
        balance: row.balanceNanos - excess,
        updatedAt: row.updatedAt,
        carry: excess > 0 ? 0 : row.carry,
        unmetered: row.unmetered,
        unsaved: excess,
        dirty: false,
      });
      if (excess > 0) this.touch(this.buckets.get(row.bucket)!);
    }
    if (this.forgotten.size > 0) this.schedule();
  }

  /**
   * apply moves every bucket to the quota of the same name in `specs`: the balance is
   * refilled under the old rule up to now, then clamped to the new capacity. Buckets whose
   * quota is gone are forgotten (a quota added back later starts full).
   */
  apply(specs: ReadonlyMap<string, QuotaSpec>): void {
    this.specs = specs;
    const now = this.now();
    for (const b of this.buckets.values()) {
      const next = specs.get(b.spec.name);
      if (!next) {
        this.buckets.delete(b.name);
        this.forgotten.add(b.name);
        continue;
      }
      if (next === b.spec) continue;
      refill(b, rule(b.spec), now);
      b.spec = next;
      if (b.balance > next.capacityNanos) {
        b.unsaved += b.balance - next.capacityNanos;
        b.balance = next.capacityNanos;
        b.carry = 0;
      }
      this.touch(b);
    }
    this.schedule();
  }

  /**
   * bucket returns the bucket `name` of quota `spec`, refilled up to now, and creates it
   * full on first use. A request still running on an older configuration whose quota has
   * since been removed gets a bucket of its own that is not kept: its quota is gone.
   */
  bucket(name: string, spec: QuotaSpec, now = this.now()): Bucket {
    const current = this.specs.get(spec.name);
    let b = this.buckets.get(name);
    if (!b) {
      b = { name, spec: current ?? spec, balance: spec.capacityNanos, updatedAt: now, carry: 0, unmetered: 0, unsaved: 0, dirty: false };
      if (!current) return b;
      this.buckets.set(name, b);
      this.forgotten.delete(name);
      this.touch(b);
    }
    refill(b, rule(b.spec), now);
    return b;
  }

  /** peek returns a bucket as it stands, refilled up to now, without creating it. */
  peek(name: string): Bucket | undefined {
    const b = this.buckets.get(name);
    if (b) refill(b, rule(b.spec), this.now());
    return b;
  }

  /** charge takes `nanos` from a bucket, below zero if need be: debt is repaid by refill. */
  charge(b: Bucket, nanos: number, now = this.now()): void {
    refill(b, rule(b.spec), now);
    b.balance -= nanos;
    b.unsaved += nanos;
    this.touch(b);
  }

  /** countUnmetered notes a request the bucket could not be charged for. */
  countUnmetered(b: Bucket): void {
    b.unmetered++;
    this.touch(b);
  }

  /** add gives a bucket `nanos`, up to its capacity (an admin refill); returns what was added. */
  add(b: Bucket, nanos: number): number {
    refill(b, rule(b.spec), this.now());
    const added = Math.max(0, Math.min(nanos, b.spec.capacityNanos - b.balance));
    b.balance += added;
    if (b.balance >= b.spec.capacityNanos) b.carry = 0;
    b.unsaved -= added;
    this.touch(b);
    return added;
  }

  /** retryAfter is the Retry-After, in seconds, for a bucket at or below zero. */
  retryAfter(b: Bucket): number {
    return secondsUntilPositive(b, rule(b.spec));
  }

  /** all lists every bucket, refilled up to now. */
  all(): Bucket[] {
    const now = this.now();
    for (const b of this.buckets.values()) refill(b, rule(b.spec), now);
    return [...this.buckets.values()];
  }

  private touch(b: Bucket): void {
    if (!b.dirty) {
      b.dirty = true;
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.timer || this.closed || !this.store) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushMs);
    this.timer.unref();
  }

  /** flush writes every changed bucket now; saves never overlap. */
  flush(): Promise<void> {
    const run = this.saving.then(() => this.save());
    this.saving = run.catch(() => {});
    return run;
  }

  private async save(): Promise<void> {
    if (!this.store) return;
    const changed: Array<{ row: QuotaBalanceRow; delta: number }> = [];
    const taken: Array<[Bucket, number]> = [];
    for (const b of this.buckets.values()) {
      if (!b.dirty) continue;
      changed.push({ row: { bucket: b.name, quota: b.spec.name, balanceNanos: b.balance, carry: b.carry, updatedAt: b.updatedAt, unmetered: b.unmetered }, delta: b.unsaved });
      taken.push([b, b.unsaved]);
      b.dirty = false;
      b.unsaved = 0;
    }
    const forget = [...this.forgotten];
    this.forgotten.clear();
    if (changed.length === 0 && forget.length === 0) return;
    try {
      await this.store.saveQuotaBalances(changed, forget);
    } catch (err) {
      // Keep the changes for the next attempt.
      for (const [b, delta] of taken) {
        b.unsaved += delta;
        this.touch(b);
      }
      for (const name of forget) if (!this.buckets.has(name)) this.forgotten.add(name);
      this.log.error({ err: (err as Error).message, buckets: changed.length }, 'quota balances could not be saved; retrying');
      if (!this.closed) this.schedule();
    }
  }

  /** close writes what is pending and stops the timer. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
    this.closed = true;
  }
}
