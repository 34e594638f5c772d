/** 1 KB non-streaming chat request at concurrency 1: what keyway adds to one request. */
import { compareRow, push, type PerRepeat } from '../lib/compare.js';
import { latency } from '../lib/measure.js';
import type { Scenario } from '../lib/types.js';

export const latencyScenario: Scenario = {
  name: 'latency',
  title: '1 KB non-streaming, c=1',
  async run(ctx) {
    const targets = await ctx.targets(true);
    const p50: PerRepeat = {};
    const p99: PerRepeat = {};
    for (let r = 0; r < ctx.opts.repeat; r++) {
      const res = await latency(ctx, { targets, bodyBytes: 1024, warmup: 200, requests: ctx.opts.quick ? 500 : 1500 });
      for (const t of targets) {
        push(p50, t.name, res[t.name]!.ms.p50);
        push(p99, t.name, res[t.name]!.ms.p99);
      }
      ctx.log(`    repeat ${r + 1}: ${targets.map((t) => `${t.name} p50 ${res[t.name]!.ms.p50.toFixed(3)} p99 ${res[t.name]!.ms.p99.toFixed(3)} ms`).join(', ')}`);
    }
    const head = { scenario: this.title, unit: 'ms' };
    return [
      compareRow({ ...head, measure: 'latency p50', target: 'added ≤ 0.3 ms' }, p50, (c) => c.added! <= 0.3),
      compareRow({ ...head, measure: 'latency p99', target: 'added ≤ 1.0 ms' }, p99, (c) => c.added! <= 1.0),
    ];
  },
};
