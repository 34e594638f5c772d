/**
 * The token bucket behind every quota, as pure arithmetic on integer nanodollars: a
 * balance that refills continuously at `rate` per `period` up to `capacity`, and may be
 * charged below zero. Time is passed in (milliseconds), never read, so tests drive it.
 *
 * Refill is exact: the part of a nanodollar that elapsed time has earned but not yet
 * paid out is kept in `carry` (in nanodollar-milliseconds per period), so refilling
 * every millisecond adds up to the same balance as refilling once a day.
 */

/** What a bucket holds; mutated in place by refill and charge. */
export interface BucketState {
  /** Nanodollars; negative when the bucket is in debt. */
  balance: number;
  /** When the balance was last brought up to date (ms since the epoch). */
  updatedAt: number;
  /** Refill earned but not yet a whole nanodollar, in units of 1 / periodMs nanodollar. */
  carry: number;
}

/** The rule a quota sets for its buckets. */
export interface BucketRule {
  capacity: number;
  /** Nanodollars added every `periodMs`. */
  rateNanos: number;
  periodMs: number;
}

/** refill brings `state` up to `now`: it adds what the rate earned since, capped at capacity. */
export function refill(state: BucketState, rule: BucketRule, now: number): void {
  if (now <= state.updatedAt) return; // the clock went back: earn nothing rather than twice
  // A carry saved under another rate unit (a restart after the quota changed) is dropped:
  // it is worth less than a nanodollar.
  if (state.carry >= rule.periodMs || state.carry < 0) state.carry = 0;
  if (state.balance >= rule.capacity || rule.rateNanos === 0) {
    state.updatedAt = now;
    state.carry = 0;
    return;
  }
  const elapsed = now - state.updatedAt;
  const missing = rule.capacity - state.balance;
  let added: number;
  let carry: number;
  const earned = elapsed * rule.rateNanos + state.carry;
  if (Number.isSafeInteger(earned) && earned < 2 ** 52) {
    added = Math.floor(earned / rule.periodMs);
    carry = earned - added * rule.periodMs;
    // Float division can land one off for large operands; the remainder says which way.
    if (carry < 0) (added -= 1), (carry += rule.periodMs);
    else if (carry >= rule.periodMs) (added += 1), (carry -= rule.periodMs);
  } else {
    // Long idle buckets: the product leaves the exact range of a double.
    const big = BigInt(elapsed) * BigInt(rule.rateNanos) + BigInt(state.carry);
    const period = BigInt(rule.periodMs);
    const q = big / period;
    added = q > BigInt(missing) ? missing : Number(q);
    carry = Number(big % period);
  }
  if (added >= missing) {
    state.balance = rule.capacity;
    state.carry = 0;
  } else {
    state.balance += added;
    state.carry = carry;
  }
  state.updatedAt = now;
}

/**
 * secondsUntilPositive is how long refill takes to bring the balance above zero, in whole
 * seconds, at least 1 (a `Retry-After` value). A bucket that never refills by itself
 * (rate zero) answers one period of its rate unit.
 */
export function secondsUntilPositive(state: BucketState, rule: BucketRule): number {
  if (rule.rateNanos === 0) return Math.max(1, Math.ceil(rule.periodMs / 1000));
  const need = 1 - state.balance; // nanodollars until the balance is at least 1
  if (need <= 0) return 1;
  const ms = (need * rule.periodMs - state.carry) / rule.rateNanos;
  return Math.max(1, Math.ceil(ms / 1000));
}
