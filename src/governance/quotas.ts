/**
 * Quotas is what the request path asks: `admit` before a request is forwarded (is every
 * bucket it touches above zero?), and the returned ticket's `settle` after the answer
 * (take its estimated cost from every bucket at once, below zero if need be). The plan
 * (which buckets) is pure and per snapshot; the ledger keeps the balances.
 *
 * The check is best-effort by design: the cost of a request is known only after its
 * answer, so N requests started together against a nearly empty bucket may all pass, and
 * the bucket then goes into debt by what they cost; it refuses until refill brings it
 * above zero again. Charging itself is exact.
 */
import type { Logger } from 'pino';
import type { Access } from '../access/grants.js';
import type { CompiledProvider, Snapshot } from '../config/snapshot.js';
import type { QuotaSpec } from '../config/types.js';
import { GatewayError } from '../errors.js';
import type { Identity } from '../identity/identity.js';
import { estimateCost, priceSheet, pricingFor } from '../telemetry/pricing.js';
import type { PricingInput, QuotaEntry } from '../telemetry/record.js';
import type { Usage } from '../telemetry/usage.js';
import type { Bucket, QuotaLedger } from './ledger.js';
import { formatDollars, nanosFromUsd } from './money.js';
import { explainQuotas, type QuotaExplanation } from './quota-explain.js';
import { QuotaPlan, type BucketRef } from './quota-plan.js';

/** What counts quota events for /metrics (telemetry/metrics.ts implements it). */
export interface QuotaObserver {
  refused(quota: string, bucket: string): void;
  charged(quota: string, bucket: string, nanos: number): void;
  unmetered(quota: string, reason: 'unpriced' | 'no_usage'): void;
}

/** One request about to be forwarded, as the quota check sees it. */
export interface QuotaRequest {
  snapshot: Snapshot;
  access: Access;
  identity: Identity;
  provider: CompiledProvider;
  /** The API format's compatibility flag (it decides the price list under auto_cost_basis). */
  format: string;
  upstreamModel: string;
  /** The model as the caller named it, for the log. */
  model: string;
}

export type Admission =
  | { ok: true; ticket: QuotaTicket | undefined }
  | { ok: false; error: GatewayError; entries: QuotaEntry[] };

/** A reference a tailnet grant makes to a quota the configuration does not define. */
const UNDEFINED_RETRY_SECONDS = 60;

export class Quotas {
  private readonly plans = new WeakMap<Snapshot, QuotaPlan>();

  constructor(
    readonly ledger: QuotaLedger,
    private readonly log: Logger,
    /** Counts refusals and charges for /metrics (telemetry's metrics; undefined when it is off). */
    private readonly observer?: QuotaObserver,
  ) {}

  /** plan returns the snapshot's quota plan, built once per snapshot. */
  plan(snapshot: Snapshot): QuotaPlan {
    let p = this.plans.get(snapshot);
    if (!p) this.plans.set(snapshot, (p = new QuotaPlan(snapshot.config.quotas)));
    return p;
  }

  /** apply moves the balances to a newly applied configuration (clamp, forget). */
  apply(snapshot: Snapshot): void {
    this.ledger.apply(this.plan(snapshot).specs);
  }

  /**
   * admit decides whether a request may be forwarded: it may when every bucket it touches
   * is above zero. The ticket (undefined when no bucket applies) charges them afterwards.
   * A refusal is logged at warn and counted; the error is the 429 to send.
   */
  admit(r: QuotaRequest): Admission {
    const refs = this.plan(r.snapshot).bucketsFor(r.access, r.identity, r.provider.id, r.upstreamModel);
    if (refs.length === 0) return { ok: true, ticket: undefined };
    const now = this.ledger.now();
    let refused: Array<{ ref: BucketRef; bucket: Bucket | undefined }> | undefined;
    const buckets: Bucket[] = [];
    for (const ref of refs) {
      const bucket = ref.spec ? this.ledger.bucket(ref.bucket, ref.spec, now) : undefined;
      if (bucket && bucket.balance > 0) buckets.push(bucket);
      else (refused ??= []).push({ ref, bucket });
    }
    if (!refused) return { ok: true, ticket: new QuotaTicket(this, buckets, pricingFor(r.provider.spec, r.format, r.upstreamModel, r.snapshot.config.autoCostBasis)) };
    return this.refuse(r, refused);
  }

  private refuse(r: QuotaRequest, refused: Array<{ ref: BucketRef; bucket: Bucket | undefined }>): Admission {
    const first = refused[0]!;
    let retryAfter = 1;
    for (const { bucket } of refused) retryAfter = Math.max(retryAfter, bucket ? this.ledger.retryAfter(bucket) : UNDEFINED_RETRY_SECONDS);
    const message = first.bucket
      ? `quota exceeded: bucket "${first.ref.bucket}" is at ${formatDollars(first.bucket.balance)} (capacity ${first.bucket.spec.capacity}, refills ${first.bucket.spec.rate}); try again in ${retryAfter} s`
      : `quota exceeded: bucket "${first.ref.ref}" is not a quota of this gateway's configuration, so requests charged to it are refused`;
    const buckets = refused.map(({ ref }) => ref.bucket);
    for (const { ref } of refused) this.observer?.refused(ref.spec?.name ?? ref.ref, ref.bucket);
    this.log.warn({ detail: message, login_name: r.identity.login, model: r.model, provider: r.provider.id, bucket: first.ref.bucket, buckets }, 'request refused: quota exceeded');
    const error = new GatewayError('QUOTA_EXCEEDED', message, {
      headers: { 'retry-after': String(retryAfter) },
      details: { bucket: first.ref.bucket, buckets, retry_after: retryAfter },
    });
    return { ok: false, error, entries: refused.map(({ ref }) => ({ bucket: ref.bucket, quota: ref.spec?.name ?? ref.ref, nanos: 0, outcome: 'refused' })) };
  }

  /**
   * charge settles a ticket (QuotaTicket.settle): it prices the usage once and takes that
   * from every bucket, or counts the request as unmetered when its cost is unknown.
   */
  charge(buckets: readonly Bucket[], pricing: PricingInput | null, usage: Usage | undefined, status: number): QuotaEntry[] {
    let nanos = 0;
    let outcome: QuotaEntry['outcome'] = 'charged';
    if (!usage) {
      // An error answer without usage cost nothing; a successful one that reported no usage
      // (a stream cut before its first usage event) is a request the bucket cannot see.
      if (status >= 200 && status < 300) outcome = 'no_usage';
    } else if (hasTokens(usage)) {
      const cost = pricing ? estimateCost(pricing, usage) : null;
      if (cost) nanos = Math.max(0, nanosFromUsd(cost.usd));
      else outcome = 'unpriced';
    }
    const now = this.ledger.now();
    return buckets.map((b) => {
      if (outcome === 'charged') {
        this.ledger.charge(b, nanos, now);
        this.observer?.charged(b.spec.name, b.name, nanos);
      } else {
        this.ledger.countUnmetered(b);
        this.observer?.unmetered(b.spec.name, outcome);
      }
      return { bucket: b.name, quota: b.spec.name, nanos, outcome };
    });
  }

  /** explain says which buckets a request for provider/model would touch, and whether it would pass now. */
  explain(snapshot: Snapshot, access: Access, identity: Identity, provider: CompiledProvider, format: string, model: string): QuotaExplanation {
    const priced = isPriced(snapshot, provider, format, model);
    return explainQuotas(this.plan(snapshot), access, identity, provider.id, model, priced, (name) => this.ledger.peek(name)?.balance);
  }

  /** views lists what GET /api/quotas shows a caller (see BucketView). */
  views(snapshot: Snapshot, access: Access, identity: Identity): BucketView[] {
    const plan = this.plan(snapshot);
    const mine = plan.attachedTo(access, identity);
    const seen = new Set<string>();
    const out: BucketView[] = [];
    const push = (name: string, spec: QuotaSpec, attached: boolean) => {
      if (seen.has(name)) return;
      seen.add(name);
      out.push(this.view(name, spec, attached));
    };
    for (const ref of mine) if (ref.spec) push(ref.bucket, ref.spec, true);
    if (access.role === 'admin') {
      for (const b of this.ledger.all()) {
        const spec = plan.specs.get(b.spec.name);
        if (spec) push(b.name, spec, false);
      }
      // Shared buckets exist whether or not anyone has used them yet.
      for (const spec of plan.specs.values()) if (!spec.template) push(spec.name, spec, false);
    }
    return out;
  }

  /** view describes one bucket as it stands now (full when never used). */
  view(name: string, spec: QuotaSpec, attached: boolean): BucketView {
    const b = this.ledger.peek(name);
    const balance = b ? b.balance : spec.capacityNanos;
    return {
      bucket: name,
      quota: spec.name,
      template: spec.template ?? null,
      attached,
      balance: formatDollars(balance),
      balance_nanos: balance,
      capacity: formatDollars(spec.capacityNanos),
      capacity_nanos: spec.capacityNanos,
      rate: spec.rate,
      rate_nanos: spec.rateNanos,
      rate_period_seconds: spec.periodMs / 1000,
      updated_at: b ? new Date(b.updatedAt).toISOString() : null,
      passes: balance > 0,
      retry_after_seconds: b && b.balance <= 0 ? this.ledger.retryAfter(b) : null,
      unmetered_requests: b?.unmetered ?? 0,
    };
  }

  /**
   * refill adds `nanos` to the bucket named `name` (its capacity when undefined), clamped
   * at capacity. The name is a bucket (`daily:bob@example.com`) or a shared quota's name.
   */
  refill(snapshot: Snapshot, name: string, nanos: number | undefined): { view: BucketView; added: number } {
    const spec = specOfBucket(this.plan(snapshot).specs, name);
    if (!spec) throw new GatewayError('UNKNOWN_BUCKET', `no quota bucket "${name}": name a bucket as GET /api/quotas lists it (e.g. "daily:alice@example.com")`);
    const bucket = this.ledger.bucket(name, spec);
    const added = this.ledger.add(bucket, nanos ?? spec.capacityNanos);
    return { view: this.view(name, spec, false), added };
  }
}

/** A ticket charges the buckets a request was admitted against, once. */
export class QuotaTicket {
  private settled: QuotaEntry[] | undefined;

  constructor(
    private readonly quotas: Quotas,
    readonly buckets: readonly Bucket[],
    private readonly pricing: PricingInput | null,
  ) {}

  /** settle takes the request's estimated cost from every bucket; later calls change nothing. */
  settle(usage: Usage | undefined, status: number): QuotaEntry[] {
    return (this.settled ??= this.quotas.charge(this.buckets, this.pricing, usage, status));
  }
}

/** What GET /api/quotas says about one bucket. Money is given as text and in nanodollars. */
export interface BucketView {
  bucket: string;
  quota: string;
  template: string | null;
  /** Whether the caller's own grants attach this bucket. */
  attached: boolean;
  balance: string;
  balance_nanos: number;
  capacity: string;
  capacity_nanos: number;
  rate: string;
  rate_nanos: number;
  rate_period_seconds: number;
  /** When the balance last changed; null for a bucket nobody has used yet (it is full). */
  updated_at: string | null;
  /** Whether a request charged to it would be let through now (balance above zero). */
  passes: boolean;
  retry_after_seconds: number | null;
  /** Requests charged nothing because their cost was unknown (unpriced model, no usage). */
  unmetered_requests: number;
}

/** specOfBucket finds the quota a bucket name belongs to: `daily:bob` → `daily:<user>`. */
export function specOfBucket(specs: ReadonlyMap<string, QuotaSpec>, name: string): QuotaSpec | undefined {
  const colon = name.indexOf(':');
  if (colon < 0) {
    const spec = specs.get(name);
    return spec && !spec.template ? spec : undefined;
  }
  if (colon === name.length - 1) return undefined;
  const base = name.slice(0, colon);
  for (const spec of specs.values()) if (spec.template && spec.base === base && !name.endsWith(':<user>') && !name.endsWith(':<node>')) return spec;
  return undefined;
}

/** isPriced says whether keyway knows what a model costs through a provider and format. */
export function isPriced(snapshot: Snapshot, provider: CompiledProvider, format: string, model: string): boolean {
  const pricing = pricingFor(provider.spec, format, model, snapshot.config.autoCostBasis);
  return pricing !== null && priceSheet(pricing) !== undefined;
}

function hasTokens(u: Usage): boolean {
  return u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheWrite5mTokens + u.cacheWrite1hTokens + u.webSearchCount > 0;
}
