/**
 * Money in quotas is integer nanodollars (1 USD = 1,000,000,000 nanodollars), the unit
 * the reference's hook payloads use. Amounts are parsed from their decimal text digit by
 * digit, never through a float, so "$0.10" is exactly 100,000,000 and a million charges
 * add up to exactly what they should. JavaScript numbers are exact integers up to 2^53
 * (about $9.0 million in nanodollars); configured amounts are capped at MAX_AMOUNT_NANOS
 * so that balances, which may go into debt, stay far inside that range.
 */

export const NANOS_PER_DOLLAR = 1_000_000_000;

/** The largest capacity or rate amount a configuration may name: $1,000,000. */
export const MAX_AMOUNT_NANOS = 1_000_000 * NANOS_PER_DOLLAR;

/** Rate units of the reference and their length; a month is 30 days. */
export const RATE_UNITS: Readonly<Record<string, number>> = Object.freeze({
  min: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
  month: 30 * 86_400_000,
});

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const DOLLARS = /^\$(\d+)(?:\.(\d+))?$/;

/**
 * parseDollars reads `"$5"`, `"$5.00"` or `"$0.000000001"` as nanodollars. It fails for
 * anything else, for more than nine decimal places (finer than a nanodollar) and for
 * amounts above MAX_AMOUNT_NANOS.
 */
export function parseDollars(text: string): Parsed<number> {
  const m = DOLLARS.exec(text);
  if (!m) return { ok: false, reason: 'must be a dollar amount like "$5.00"' };
  const whole = m[1]!.replace(/^0+(?=\d)/, '');
  const fraction = m[2] ?? '';
  if (fraction.length > 9) return { ok: false, reason: `has more than 9 decimal places (amounts are counted in nanodollars)` };
  if (whole.length > 7) return { ok: false, reason: `is above the largest supported amount, ${formatDollars(MAX_AMOUNT_NANOS)}` };
  const nanos = Number(whole) * NANOS_PER_DOLLAR + Number(fraction.padEnd(9, '0'));
  if (nanos > MAX_AMOUNT_NANOS) return { ok: false, reason: `is above the largest supported amount, ${formatDollars(MAX_AMOUNT_NANOS)}` };
  return { ok: true, value: nanos };
}

/** A refill rate: `nanos` every `periodMs` milliseconds. */
export interface Rate {
  nanos: number;
  periodMs: number;
  unit: string;
}

/** parseRate reads `"$5.00/day"` (units: min, hour, day, week, month). */
export function parseRate(text: string): Parsed<Rate> {
  const slash = text.lastIndexOf('/');
  const unit = slash < 0 ? '' : text.slice(slash + 1);
  const periodMs = Object.hasOwn(RATE_UNITS, unit) ? RATE_UNITS[unit]! : undefined;
  if (slash < 0 || periodMs === undefined) return { ok: false, reason: 'must look like "$5.00/day" (units: min, hour, day, week, month)' };
  const amount = parseDollars(text.slice(0, slash));
  if (!amount.ok) return { ok: false, reason: amount.reason === 'must be a dollar amount like "$5.00"' ? 'must look like "$5.00/day" (units: min, hour, day, week, month)' : `amount ${amount.reason}` };
  return { ok: true, value: { nanos: amount.value, periodMs, unit } };
}

/**
 * formatDollars writes nanodollars as dollars with at least two and at most nine decimal
 * places, exactly (`-$0.000123`, `$5.00`, `$4.999999999`).
 */
export function formatDollars(nanos: number): string {
  const sign = nanos < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(nanos));
  const whole = Math.floor(abs / NANOS_PER_DOLLAR);
  let fraction = String(abs % NANOS_PER_DOLLAR).padStart(9, '0').replace(/0+$/, '');
  if (fraction.length < 2) fraction = fraction.padEnd(2, '0');
  return `${sign}$${whole}.${fraction}`;
}

/** nanosFromUsd turns a cost estimate in (floating-point) dollars into whole nanodollars. */
export function nanosFromUsd(usd: number): number {
  return Number.isFinite(usd) ? Math.round(usd * NANOS_PER_DOLLAR) : 0;
}
