/**
 * The arithmetic under quotas: dollar amounts parsed exactly into nanodollars, and the
 * token bucket's refill, which must come to the same balance however often it runs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { refill, secondsUntilPositive, type BucketRule, type BucketState } from '../src/governance/bucket.js';
import { formatDollars, MAX_AMOUNT_NANOS, nanosFromUsd, parseDollars, parseRate } from '../src/governance/money.js';

describe('money', () => {
  test('dollar amounts become exact nanodollars', () => {
    const cases: Array<[string, number]> = [
      ['$0', 0],
      ['$0.00', 0],
      ['$5', 5_000_000_000],
      ['$5.00', 5_000_000_000],
      ['$0.10', 100_000_000],
      ['$0.000000001', 1],
      ['$123.456789012', 123_456_789_012],
      ['$007.5', 7_500_000_000],
      ['$1000000', MAX_AMOUNT_NANOS],
    ];
    for (const [text, nanos] of cases) assert.deepEqual(parseDollars(text), { ok: true, value: nanos }, text);
  });

  test('malformed, too precise and too large amounts are refused with a reason', () => {
    const cases: Array<[string, RegExp]> = [
      ['5.00', /dollar amount like "\$5.00"/],
      ['$', /dollar amount/],
      ['$-1', /dollar amount/],
      ['$1e3', /dollar amount/],
      ['$ 5', /dollar amount/],
      ['$0.0000000001', /more than 9 decimal places/],
      ['$1000000.01', /above the largest supported amount, \$1000000.00/],
      ['$99999999', /above the largest supported amount/],
    ];
    for (const [text, reason] of cases) {
      const r = parseDollars(text);
      assert.equal(r.ok, false, text);
      if (!r.ok) assert.match(r.reason, reason, text);
    }
  });

  test('rates name a unit; a month is 30 days', () => {
    assert.deepEqual(parseRate('$5.00/day'), { ok: true, value: { nanos: 5_000_000_000, periodMs: 86_400_000, unit: 'day' } });
    assert.deepEqual(parseRate('$1/min'), { ok: true, value: { nanos: 1_000_000_000, periodMs: 60_000, unit: 'min' } });
    assert.equal((parseRate('$1/month') as { value: { periodMs: number } }).value.periodMs, 30 * 86_400_000);
    assert.equal((parseRate('$1/week') as { value: { periodMs: number } }).value.periodMs, 7 * 86_400_000);
    for (const bad of ['$5.00', '$5.00/year', '5/day', '$5.00/', '$5.00/toString', '$5.00/Day']) assert.equal(parseRate(bad).ok, false, bad);
    const precise = parseRate('$0.0000000001/day');
    assert.ok(!precise.ok && /more than 9 decimal places/.test(precise.reason));
  });

  test('formatting is exact, with two to nine decimals', () => {
    assert.equal(formatDollars(5_000_000_000), '$5.00');
    assert.equal(formatDollars(4_999_999_999), '$4.999999999');
    assert.equal(formatDollars(-123_000), '-$0.000123');
    assert.equal(formatDollars(0), '$0.00');
    assert.equal(formatDollars(MAX_AMOUNT_NANOS), '$1000000.00');
    for (const n of [1, 10, 123_456_789_012, 7_500_000_000]) assert.deepEqual(parseDollars(formatDollars(n)), { ok: true, value: n });
    assert.equal(nanosFromUsd(0.000075), 75_000);
    assert.equal(nanosFromUsd(Number.NaN), 0);
  });
});

describe('token bucket', () => {
  const perDay = (dollars: number): BucketRule => ({ capacity: 10 * 1e9, rateNanos: dollars * 1e9, periodMs: 86_400_000 });

  test('refilling every millisecond adds up to exactly what one refill gives', () => {
    // $5/day is 57.87… nanodollars a millisecond: without the carry, the fractions would be lost.
    const rule = perDay(5);
    const often: BucketState = { balance: 0, updatedAt: 0, carry: 0 };
    const once: BucketState = { balance: 0, updatedAt: 0, carry: 0 };
    for (let t = 1; t <= 100_000; t++) refill(often, rule, t);
    refill(once, rule, 100_000);
    assert.equal(often.balance, once.balance);
    assert.equal(often.balance, Math.floor((100_000 * 5e9) / 86_400_000));
    assert.equal(often.carry, once.carry);
  });

  test('refill stops at capacity, and a bucket in debt climbs back from below zero', () => {
    const rule: BucketRule = { capacity: 10_000, rateNanos: 864_000_000, periodMs: 86_400_000 }; // 10 nanodollars a millisecond
    const s: BucketState = { balance: -65_000, updatedAt: 1_000, carry: 0 };
    refill(s, rule, 7_000);
    assert.equal(s.balance, -5_000);
    assert.equal(secondsUntilPositive(s, rule), 1);
    refill(s, rule, 7_600);
    assert.equal(s.balance, 1_000);
    refill(s, rule, 1_000_000_000);
    assert.equal(s.balance, 10_000, 'never above capacity');
    assert.equal(s.carry, 0);
  });

  test('long idle buckets refill exactly too (past the range of exact doubles)', () => {
    const rule: BucketRule = { capacity: 1_000_000 * 1e9, rateNanos: 999_999 * 1e9, periodMs: 30 * 86_400_000 };
    const s: BucketState = { balance: -500_000 * 1e9, updatedAt: 0, carry: 0 };
    const elapsed = 20 * 86_400_000; // 2/3 of a month: elapsed × rate is about 1.7e24
    refill(s, rule, elapsed);
    const expected = -500_000 * 1e9 + Number((BigInt(elapsed) * BigInt(999_999 * 1e9)) / BigInt(30 * 86_400_000));
    assert.equal(s.balance, expected);
  });

  test('time going backwards earns nothing', () => {
    const rule = perDay(5);
    const s: BucketState = { balance: 100, updatedAt: 5_000, carry: 7 };
    refill(s, rule, 4_000);
    assert.deepEqual(s, { balance: 100, updatedAt: 5_000, carry: 7 });
  });

  test('Retry-After: whole seconds until the balance is above zero, at least 1', () => {
    const rule: BucketRule = { capacity: 1e9, rateNanos: 1e9, periodMs: 3_600_000 }; // $1/hour
    assert.equal(secondsUntilPositive({ balance: 0, updatedAt: 0, carry: 0 }, rule), 1);
    // Above zero means at least one nanodollar: 0.5e9 nanodollars at 1e9 an hour is 1800 s.
    assert.equal(secondsUntilPositive({ balance: -0.5e9 + 1, updatedAt: 0, carry: 0 }, rule), 1800);
    assert.equal(secondsUntilPositive({ balance: -0.5e9, updatedAt: 0, carry: 0 }, rule), 1801);
    // A bucket that never refills by itself: one period of its unit.
    assert.equal(secondsUntilPositive({ balance: 0, updatedAt: 0, carry: 0 }, { ...rule, rateNanos: 0 }), 3600);
  });
});
