/**
 * QuotaLedger holds the balance of every bucket in memory, where requests check and
 * charge them synchronously: on one thread, a charge cannot be lost to another in flight,
 * however many run at once. Changes are written behind, in batches a quarter of a second
 * apart, to a QuotaBalanceStore (the telemetry database); a restart loads them back. A
 * crash loses at most the last batch.
 *
 * A store shared by several replicas (PostgreSQL, `sharedBalances`) gets what each bucket
 * was charged since the last save, every 100 ms, and applies it to the stored balance;
 * every 250 ms the ledger reads the stored balances back and takes them (less what it has
 * not saved yet), so a bucket drained through one replica refuses on the others within
 * well under a second. Admission still decides from memory alone.
 *
 * Buckets are created on first use, full. A bucket's rule comes from its quota: when the
 * configuration changes, `apply` moves buckets to the new rule (capacity clamps the
 * balance, excess lost) and forgets the buckets whose quota is gone.
 */
import type { Logger } from 'pino';
import type { QuotaSpec } from '../config/types.js';
import type { QuotaBalanceChange, QuotaBalanceRow, QuotaBalanceStore } from '../telemetry/store.js';
import { refill, secondsUntilPositive, type BucketRule, type BucketState } from './bucket.js';

/** One bucket, as the ledger keeps it. */
export interface Bucket extends BucketState {
  readonly name: string;
  spec: QuotaSpec;
  /** Requests charged nothing because their cost was unknown (unpriced model, no usage). */
  unmetered: number;
  /** Net nanodollars taken since the last save (charges minus admin refills). */
  unsaved: number;
  /** Requests counted unmetered since the last save. */
  unsavedUnmetered: number;
  dirty: boolean;
}

export type Clock = () => number;

export const DEFAULT_FLUSH_MS = 250;
/** With a shared store: how often changes are saved, and the stored balances read back. */
export const SHARED_FLUSH_MS = 100;
export const SHARED_REFRESH_MS = 250;

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
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshFailed = false;

  constructor(
    private readonly store: QuotaBalanceStore | undefined,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly flushMs = store?.sharedBalances ? SHARED_FLUSH_MS : DEFAULT_FLUSH_MS,
    private readonly refreshMs = SHARED_REFRESH_MS,
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
        // A clamp is not a charge: a shared store clamps by the rule itself.
        unsaved: 0,
        unsavedUnmetered: 0,
        dirty: false,
      });
      if (excess > 0) this.touch(this.buckets.get(row.bucket)!);
    }
    if (this.forgotten.size > 0) this.schedule();
    if (this.store?.sharedBalances && !this.refreshTimer) {
      this.refreshTimer = setInterval(() => void this.refresh(), this.refreshMs);
      this.refreshTimer.unref();
    }
  }

  /**
   * refresh takes the balances other replicas left in a shared store: each bucket becomes
   * the stored row less what this replica took and has not saved yet, and refills from the
   * stored time (so refill is never counted twice). A stored bucket this replica has not
   * used yet is taken too, so its first request is judged by the shared balance. Runs in
   * turn with the saves, never beside one.
   */
  refresh(): Promise<void> {
    const run = this.saving.then(async () => {
      if (!this.store || this.closed) return;
      let rows: QuotaBalanceRow[];
      try {
        rows = await this.store.loadQuotaBalances();
      } catch (err) {
        if (!this.refreshFailed) this.log.warn({ err: (err as Error).message }, 'quota balances could not be read back from the shared store; admitting from this replica\'s balances');
        this.refreshFailed = true;
        return;
      }
      this.refreshFailed = false;
      for (const row of rows) {
        const spec = this.specs.get(row.quota);
        if (!spec) continue; // another replica's configuration; `apply` forgets buckets here
        let b = this.buckets.get(row.bucket);
        if (!b) {
          b = { name: row.bucket, spec, balance: 0, updatedAt: 0, carry: 0, unmetered: 0, unsaved: 0, unsavedUnmetered: 0, dirty: false };
          this.buckets.set(row.bucket, b);
          this.forgotten.delete(row.bucket);
        }
        b.balance = Math.min(row.balanceNanos, b.spec.capacityNanos) - b.unsaved;
        b.carry = row.balanceNanos >= b.spec.capacityNanos ? 0 : row.carry;
        b.updatedAt = row.updatedAt;
        b.unmetered = row.unmetered + b.unsavedUnmetered;
      }
    });
    this.saving = run.catch(() => {});
    return run;
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
        // Not in `unsaved`: a clamp is not a charge, and every replica clamps (a shared store by the rule).
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
      b = { name, spec: current ?? spec, balance: spec.capacityNanos, updatedAt: now, carry: 0, unmetered: 0, unsaved: 0, unsavedUnmetered: 0, dirty: false };
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
    b.unsavedUnmetered++;
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
    const changed: QuotaBalanceChange[] = [];
    const taken: Array<[Bucket, number, number]> = [];
    for (const b of this.buckets.values()) {
      if (!b.dirty) continue;
      changed.push({
        row: { bucket: b.name, quota: b.spec.name, balanceNanos: b.balance, carry: b.carry, updatedAt: b.updatedAt, unmetered: b.unmetered },
        delta: b.unsaved,
        rule: rule(b.spec),
        unmeteredDelta: b.unsavedUnmetered,
      });
      taken.push([b, b.unsaved, b.unsavedUnmetered]);
      b.dirty = false;
      b.unsaved = 0;
      b.unsavedUnmetered = 0;
    }
    const forget = [...this.forgotten];
    this.forgotten.clear();
    if (changed.length === 0 && forget.length === 0) return;
    try {
      await this.store.saveQuotaBalances(changed, forget);
    } catch (err) {
      // Keep the changes for the next attempt.
      for (const [b, delta, unmetered] of taken) {
        b.unsaved += delta;
        b.unsavedUnmetered += unmetered;
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
    clearInterval(this.refreshTimer);
    this.timer = undefined;
    await this.flush();
    this.closed = true;
  }
}
