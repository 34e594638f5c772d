/**
 * explainQuotas answers the quota half of "would this request work for me?": which
 * buckets a request would be checked against and charged to, and whether each would let
 * it through now. Pure: the caller says how to read a balance (the running ledger, or the
 * database for `keyway explain --data-dir`); without balances it says only which buckets.
 */
import type { Access } from '../access/grants.js';
import type { QuotaSpec } from '../config/types.js';
import type { Identity } from '../identity/identity.js';
import { formatDollars } from './money.js';
import type { QuotaPlan } from './quota-plan.js';

export interface BucketExplanation {
  bucket: string;
  quota: string;
  capacity: string | null;
  rate: string | null;
  /** Balance now; null when unknown (no balances to read) or the quota is not defined. */
  balance: string | null;
  balance_nanos: number | null;
  /** Whether this bucket would let the request through now; null when unknown. */
  passes: boolean | null;
}

export interface QuotaExplanation {
  buckets: BucketExplanation[];
  /** Whether the quota check would pass now: true with no buckets; null when balances are unknown. */
  passes: boolean | null;
  /** Whether keyway knows the model's price; without one its requests are charged $0.00. */
  priced: boolean;
  summary: string;
}

/** Reads a bucket's balance now (undefined: never used, so full), or null when balances are unknown. */
export type BalanceReader = (bucket: string, spec: QuotaSpec) => number | undefined | null;

export function explainQuotas(plan: QuotaPlan, access: Access, identity: Identity, provider: string, model: string, priced: boolean, balanceOf: BalanceReader): QuotaExplanation {
  const refs = plan.bucketsFor(access, identity, provider, model);
  if (refs.length === 0) return { buckets: [], passes: true, priced, summary: 'no quota bucket applies' };
  const buckets = refs.map((ref): BucketExplanation => {
    if (!ref.spec) return { bucket: ref.bucket, quota: ref.ref, capacity: null, rate: null, balance: null, balance_nanos: null, passes: false };
    const read = balanceOf(ref.bucket, ref.spec);
    const balance = read === undefined ? ref.spec.capacityNanos : read;
    return {
      bucket: ref.bucket,
      quota: ref.spec.name,
      capacity: ref.spec.capacity,
      rate: ref.spec.rate,
      balance: balance === null ? null : formatDollars(balance),
      balance_nanos: balance,
      passes: balance === null ? null : balance > 0,
    };
  });
  const refusing = buckets.filter((b) => b.passes === false);
  const unknown = buckets.some((b) => b.passes === null);
  const passes = refusing.length > 0 ? false : unknown ? null : true;
  const list = buckets.map((b) => (b.capacity === null ? `${b.bucket} (not a configured quota)` : b.balance === null ? `${b.bucket} (capacity ${b.capacity})` : `${b.bucket} (${b.balance} of ${b.capacity})`)).join(', ');
  const verdict = passes === true ? 'would pass now' : passes === false ? `would be refused now with 429: ${refusing.map((b) => b.bucket).join(', ')} ${refusing.length > 1 ? 'are' : 'is'} not above $0` : 'balances unknown here (ask the running gateway: GET /api/explain)';
  const unpriced = priced ? '' : `; ${provider}/${model} has no known price, so its requests are charged $0.00 (price it with cost_basis or model_cost_map)`;
  return { buckets, passes, priced, summary: `charges ${list}; ${verdict}${unpriced}` };
}
