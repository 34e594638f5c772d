/**
 * Sustained throughput with a 20 ms upstream at 64 connections (keyway must keep up with
 * direct), and maximum throughput with a 0 ms upstream (compared with nginx).
 */
import { compare, compareRow } from '../lib/compare.js';
import { loadRounds } from '../lib/measure.js';
import type { Row, Scenario } from '../lib/types.js';

export const throughputScenario: Scenario = {
  name: 'throughput',
  title: '20 ms upstream, c=64',
  async run(ctx) {
    const targets = await ctx.targets();
    const res = await loadRounds(ctx, targets, { headers: { 'x-mock-scenario': 'slow=20' }, connections: 64, bodyBytes: 1024 });
    const note = failures(res.failures);
    return [
      compareRow({ scenario: this.title, measure: 'requests/s', unit: 'req/s', target: '≥ 90 % of direct' }, res.rps, (c) => c.ratio! >= 0.9 && !note, note),
      compareRow({ scenario: this.title, measure: 'latency p99', unit: 'ms', target: '–' }, res.p99, () => 'info'),
    ];
  },
};

/**
 * CPU-bound runs swing by ±30 % with the host's scheduling of five processes on two
 * cores, so max-load alternates the targets in twice as many rounds of half the length
 * (same total time): ratios of neighbouring runs, then their median, absorb the swings.
 */
export const maxLoadScenario: Scenario = {
  name: 'max-load',
  title: '0 ms upstream, max load (c=64)',
  async run(ctx) {
    const targets = await ctx.targets(true);
    const rounds = ctx.opts.repeat * 2;
    const seconds = Math.max(1, Math.round(ctx.opts.loadSeconds / 2));
    const res = await loadRounds(ctx, targets, { headers: {}, connections: 64, bodyBytes: 1024, rounds, seconds });
    const hasNginx = targets.some((t) => t.name === 'nginx');
    let note = [failures(res.failures), hasNginx ? '' : 'nginx not installed: no reference (apt-get install -y nginx)', `load generator: ${ctx.load.tool}`]
      .filter(Boolean)
      .join('; ');
    const bare = compare(res.rps);
    if (bare.bare !== undefined && bare.nginx !== undefined) note += `; bare Node proxy: ${(bare.bare / bare.nginx * 100).toFixed(0)} % of nginx`;
    const rows: Row[] = [
      compareRow(
        { scenario: this.title, measure: 'requests/s', unit: 'req/s', target: '≥ 50 % of nginx' },
        res.rps,
        (c) => (c.vsNginx === undefined ? 'info' : c.vsNginx >= 0.5 && !failures(res.failures)),
        note,
      ),
      compareRow({ scenario: this.title, measure: 'latency p99', unit: 'ms', target: '–' }, res.p99, () => 'info'),
    ];
    return rows;
  },
};

function failures(f: Partial<Record<string, number>>): string {
  const bad = Object.entries(f).filter(([, n]) => (n ?? 0) > 0);
  return bad.length ? `failed requests: ${bad.map(([t, n]) => `${t} ${n}`).join(', ')}` : '';
}
