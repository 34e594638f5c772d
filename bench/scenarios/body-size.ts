/**
 * Request body size: 1 KB, 100 KB and 1 MB chat histories at concurrency 1. keyway reads
 * and parses every body once, so its added latency should grow linearly with the size.
 */
import { compareRow, compare, push, type PerRepeat } from '../lib/compare.js';
import { latency } from '../lib/measure.js';
import type { Row, Scenario } from '../lib/types.js';

const SIZES = [
  { kb: 1, requests: 600 },
  { kb: 100, requests: 300 },
  { kb: 1024, requests: 80 },
];

export const bodySizeScenario: Scenario = {
  name: 'body-size',
  title: 'body 1 KB → 100 KB → 1 MB',
  async run(ctx) {
    const targets = await ctx.targets(true);
    const p50 = SIZES.map((): PerRepeat => ({}));
    for (let r = 0; r < ctx.opts.repeat; r++) {
      for (const [i, size] of SIZES.entries()) {
        const requests = ctx.opts.quick ? Math.ceil(size.requests / 4) : size.requests;
        const res = await latency(ctx, { targets, bodyBytes: size.kb * 1024, warmup: 10, requests });
        for (const t of targets) push(p50[i]!, t.name, res[t.name]!.ms.p50);
      }
    }
    const rows: Row[] = SIZES.map((size, i) =>
      compareRow({ scenario: this.title, measure: `latency p50, ${label(size.kb)}`, unit: 'ms', target: '–' }, p50[i]!, () => 'info'),
    );
    const added = p50.map((p) => compare(p).added!);
    // Slopes in µs per KB between consecutive sizes, and over the whole range.
    const slope = (a: number, b: number) => ((added[b]! - added[a]!) * 1000) / (SIZES[b]!.kb - SIZES[a]!.kb);
    const low = slope(0, 1);
    const high = slope(1, 2);
    const whole = slope(0, 2);
    const linear = Math.abs(high - low) <= Math.max(0.5, 0.5 * Math.abs(whole));
    rows.push({
      scenario: this.title,
      measure: 'added latency per KB',
      unit: 'µs/KB',
      added: whole,
      target: 'linear, ≤ 2 µs/KB',
      status: whole <= 2 && linear ? 'meets' : 'misses',
      note: `slope 1→100 KB ${low.toFixed(2)} µs/KB, 100 KB→1 MB ${high.toFixed(2)} µs/KB (${linear ? 'linear' : 'not linear'} within max(0.5 µs/KB, 50 %))`,
      detail: { addedMs: added, slopes: { low, high, whole } },
    });
    return rows;
  },
};

function label(kb: number): string {
  return kb >= 1024 ? `${kb / 1024} MB` : `${kb} KB`;
}
