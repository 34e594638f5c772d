/**
 * Durations as the Aperture document and keyway's flags write them: Go's syntax
 * (`30s`, `1h30m`, `500ms`) plus `d` for days. One parser for every such value.
 */
const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g;

/** parseDurationMs returns the duration in milliseconds, or undefined when `text` is not one. `0` alone is zero. */
export function parseDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  if (text === '') return undefined;
  let total = 0;
  let matched = '';
  for (const m of text.matchAll(PART)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched += m[0];
  }
  return matched === text ? total : undefined;
}
