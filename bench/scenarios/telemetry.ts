/**
 * Telemetry on vs off: two gateways on the same mock, one with `--telemetry off`. In the
 * comparison the gateway without telemetry stands in the "direct" column, so "added" and
 * "ratio" are what recording costs: max throughput at 64 connections, and p50 latency.
 */
import { compareRow, push, type PerRepeat } from '../lib/compare.js';
import { latency, loadRounds } from '../lib/measure.js';
import type { Scenario } from '../lib/types.js';

export const telemetryScenario: Scenario = {
  name: 'telemetry',
  title: 'telemetry on vs off',
  async run(ctx) {
    const off = await ctx.startKeyway({ serveArgs: ['--telemetry', 'off'] });
    const on = await ctx.startKeyway();
    try {
      const targets = [
        { name: 'direct' as const, url: off.url },
        { name: 'keyway' as const, url: on.url },
      ];
      const load = await loadRounds(ctx, targets, { headers: {}, connections: 64, bodyBytes: 1024 });
      const p50: PerRepeat = {};
      for (let r = 0; r < ctx.opts.repeat; r++) {
        const res = await latency(ctx, { targets, bodyBytes: 1024, warmup: r > 0 ? 100 : 500, requests: ctx.opts.quick ? 400 : 1000 });
        for (const t of targets) push(p50, t.name, res[t.name]!.ms.p50);
      }
      const note = '"direct" here is keyway with --telemetry off';
      return [
        compareRow({ scenario: this.title, measure: 'max requests/s (off → on)', unit: 'req/s', target: '≤ 5 % lower' }, load.rps, (c) => c.ratio! >= 0.95, note),
        compareRow({ scenario: this.title, measure: 'latency p50 (off → on)', unit: 'ms', target: 'added ≤ 0.1 ms' }, p50, (c) => c.added! <= 0.1, note),
      ];
    } finally {
      await on.stop();
      await off.stop();
    }
  },
};
