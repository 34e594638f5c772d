/** Number, money and time formatting shared by the screens. */

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat('en');

/** tokens formats a token count: 1234 → "1.2K" (exact in the title attribute by callers). */
export function tokens(n: number): string {
  return n < 10_000 ? whole.format(n) : compact.format(n);
}

export function integer(n: number): string {
  return whole.format(n);
}

/** usd formats an estimated cost; tiny amounts keep enough digits to be non-zero. */
export function usd(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n === 0) return '$0.00';
  if (Math.abs(n) < 0.01) return `$${n.toPrecision(2)}`;
  return `$${n.toFixed(2)}`;
}

/** perMillion turns a per-token USD decimal string into "$3.00" per million tokens. */
export function perMillion(perToken: string | undefined): string {
  if (perToken === undefined || perToken === '') return '—';
  const n = Number(perToken) * 1_000_000;
  if (!Number.isFinite(n)) return '—';
  return `$${n < 0.1 && n > 0 ? n.toPrecision(2) : n.toFixed(2)}`;
}

const dateTime = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat('en', { timeStyle: 'medium' });

export function when(ms: number | string): string {
  return dateTime.format(new Date(ms));
}

export function clock(ms: number): string {
  return timeOnly.format(new Date(ms));
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return m < 60 ? `${m} min ${Math.round((ms % 60_000) / 1000)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** isoDay is the UTC calendar day "YYYY-MM-DD" of a time, as the usage API groups by. */
export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
