/**
 * Configuration size: added latency with 10, 1,000 and 10,000 configured models and
 * with 1,000 grants. Lookups are compiled into maps once per configuration, so the
 * added latency should stay flat. Each shape gets a gateway of its own.
 */
import { compare, compareRow, push, type PerRepeat } from '../lib/compare.js';
import { latency } from '../lib/measure.js';
import { readMemory } from '../lib/procs.js';
import type { ConfigShape, Row, Scenario } from '../lib/types.js';

const SHAPES: Array<{ label: string; shape: ConfigShape }> = [
  { label: '10 models, 1 grant', shape: { models: 10, grants: 1 } },
  { label: '1,000 models', shape: { models: 1000, grants: 1 } },
  { label: '10,000 models', shape: { models: 10_000, grants: 1 } },
  { label: '1,000 grants (others)', shape: { models: 10, grants: 1000, grantsMatch: 'others' } },
  { label: '1,000 grants (all match caller)', shape: { models: 10, grants: 1000, grantsMatch: 'caller' } },
];

/** Below this, a difference in added latency counts as noise whatever the repeats say. */
const NOISE_FLOOR_MS = 0.05;

export const configScaleScenario: Scenario = {
  name: 'config-scale',
  title: 'models 10 → 10,000; grants 1 → 1,000',
  async run(ctx) {
    const measured: Array<{ label: string; p50: PerRepeat; p99: PerRepeat; startMs: number; rssMb: number }> = [];
    for (const { label, shape } of SHAPES) {
      const started = performance.now();
      const keyway = await ctx.startKeyway({ shape });
      const startMs = performance.now() - started;
      try {
        const targets = [{ name: 'direct' as const, url: ctx.mock.url }, { name: 'keyway' as const, url: keyway.url }];
        const p50: PerRepeat = {};
        const p99: PerRepeat = {};
        for (let r = 0; r < ctx.opts.repeat; r++) {
          // A fresh process: the first repeat's warm-up also brings the JIT up to speed.
          const warmup = r > 0 ? 100 : ctx.opts.quick ? 300 : 1000;
          const res = await latency(ctx, { targets, bodyBytes: 1024, warmup, requests: ctx.opts.quick ? 400 : 1000 });
          for (const t of targets) {
            push(p50, t.name, res[t.name]!.ms.p50);
            push(p99, t.name, res[t.name]!.ms.p99);
          }
        }
        const rssMb = readMemory(keyway.pid)?.rssMb ?? Number.NaN;
        measured.push({ label, p50, p99, startMs, rssMb });
        ctx.log(`    ${label}: added p50 ${compare(p50).added!.toFixed(3)} ms, start ${startMs.toFixed(0)} ms, RSS ${rssMb.toFixed(0)} MB`);
      } finally {
        await keyway.stop();
      }
    }
    return measured.map((m, i): Row => {
      const base = compare(measured[0]!.p50);
      const [lo, hi] = base.addedSpread ?? [0, 0];
      const tolerance = Math.max(NOISE_FLOOR_MS, hi - lo);
      const note = `ready in ${m.startMs.toFixed(0)} ms, RSS ${m.rssMb.toFixed(0)} MB; added p99 ${compare(m.p99).added!.toFixed(3)} ms`;
      const target = i === 0 ? 'baseline' : `flat: within ±${tolerance.toFixed(2)} ms of baseline`;
      return compareRow({ scenario: this.title, measure: `latency p50, ${m.label}`, unit: 'ms', target }, m.p50, (c) => (i === 0 ? 'info' : Math.abs(c.added! - base.added!) <= tolerance), note);
    });
  },
};
