/**
 * Quotas on vs off: two gateways on the same mock, identical but for a grant that attaches
 * three quota buckets (`daily:<user>`, `device:<node>`, `team`) to the caller, so every
 * request is checked before forwarding and charged to all three after the answer. In the
 * comparison the gateway without quotas stands in the "direct" column: "added" is what the
 * check and the charge cost, end to end, measured side by side in one run. Both price the
 * bench model, so the cost estimate runs in both. A third row times the check and the
 * charge alone, in this process, without HTTP around them.
 */
import { Writable } from 'node:stream';
import { compareRow, push, type PerRepeat } from '../lib/compare.js';
import { latency } from '../lib/measure.js';
import { median } from '../lib/stats.js';
import type { Row, Scenario } from '../lib/types.js';
import { compileSnapshot } from '../../src/config/snapshot.js';
import { validateConfigText } from '../../src/config/validate.js';
import { QuotaLedger } from '../../src/governance/ledger.js';
import { Quotas } from '../../src/governance/quotas.js';
import { LOCAL_OWNER } from '../../src/identity/identity.js';
import { createLogger } from '../../src/log.js';
import { keywayConfig } from '../lib/keyway-config.js';
import { cpuPerRequest, type CpuPerRequest } from './telemetry.js';
import { BENCH_MODEL } from '../lib/bodies.js';

const TARGET_US = 20;

export const quotasScenario: Scenario = {
  name: 'quotas',
  title: 'quotas off vs a grant with three buckets',
  async run(ctx) {
    const off = await ctx.startKeyway({ shape: { models: 1, grants: 1, priced: true } });
    const on = await ctx.startKeyway({ shape: { models: 1, grants: 1, priced: true, quotaBuckets: 3 } });
    try {
      const targets = [
        { name: 'direct' as const, url: off.url },
        { name: 'keyway' as const, url: on.url },
      ];
      const p50: PerRepeat = {};
      const p99: PerRepeat = {};
      const repeats = Math.max(ctx.opts.repeat, ctx.opts.quick ? 1 : 5);
      for (let r = 0; r < repeats; r++) {
        const res = await latency(ctx, { targets, bodyBytes: 1024, warmup: r > 0 ? 200 : ctx.opts.quick ? 300 : 1500, requests: ctx.opts.quick ? 500 : 2000 });
        for (const t of targets) {
          push(p50, t.name, res[t.name]!.ms.p50 * 1000);
          push(p99, t.name, res[t.name]!.ms.p99 * 1000);
        }
      }
      const note = '"direct" here is keyway without quotas; values in µs';
      const inProcess = measureInProcess(ctx.opts.quick ? 20_000 : 200_000);
      // CPU per request at full load: the main thread's share of the check and the charge,
      // and the telemetry writer's share of the quota row each record now carries. One run
      // each is at the mercy of the load generator on two cores: alternate, take medians.
      await cpuPerRequest(ctx, off); // warm-up
      await cpuPerRequest(ctx, on);
      const runs: Array<{ off: CpuPerRequest; on: CpuPerRequest }> = [];
      for (let r = 0; r < repeats; r++) runs.push({ off: await cpuPerRequest(ctx, off), on: await cpuPerRequest(ctx, on) });
      const mid = (pick: (c: CpuPerRequest) => number, side: 'off' | 'on') => median(runs.map((x) => pick(x[side])));
      const cpuOff: CpuPerRequest = { rps: mid((c) => c.rps, 'off'), mainUs: mid((c) => c.mainUs, 'off'), otherUs: mid((c) => c.otherUs, 'off') };
      const cpuOn: CpuPerRequest = { rps: mid((c) => c.rps, 'on'), mainUs: mid((c) => c.mainUs, 'on'), otherUs: mid((c) => c.otherUs, 'on') };
      const cpuRow = (measure: string, pick: (c: CpuPerRequest) => number): Row => ({
        scenario: this.title,
        measure,
        unit: 'µs',
        direct: pick(cpuOff),
        keyway: pick(cpuOn),
        added: pick(cpuOn) - pick(cpuOff),
        ratio: pick(cpuOn) / pick(cpuOff),
        target: '–',
        status: 'info',
        note: `${note}; CPU time per request at max load, median of ${runs.length} alternating runs (${Math.round(cpuOff.rps)} and ${Math.round(cpuOn.rps)} req/s)`,
      });
      return [
        compareRow({ scenario: this.title, measure: 'latency p50 (off → 3 buckets)', unit: 'µs', target: `added ≤ ${TARGET_US} µs` }, p50, (c) => c.added! <= TARGET_US, note),
        compareRow({ scenario: this.title, measure: 'latency p99 (off → 3 buckets)', unit: 'µs', target: '–' }, p99, () => 'info', note),
        {
          scenario: this.title,
          measure: 'check + charge, 3 buckets, in process',
          unit: 'µs',
          keyway: inProcess,
          target: `≤ ${TARGET_US} µs`,
          status: inProcess <= TARGET_US ? 'meets' : 'misses',
          note: 'Quotas.admit then QuotaTicket.settle with a priced usage, median of 5 runs, no HTTP',
        },
        cpuRow('CPU per request, main thread', (c) => c.mainUs),
        cpuRow('CPU per request, other threads', (c) => c.otherUs),
      ];
    } finally {
      await on.stop();
      await off.stop();
    }
  },
};

/**
 * measureInProcess times what a request adds with three buckets: the admission (plan
 * lookup, three refills and checks, the ticket) and the settlement (the cost estimate and
 * three charges), in µs per request.
 */
function measureInProcess(requests: number): number {
  const text = keywayConfig('http://127.0.0.1:9', { models: 1, grants: 1, priced: true, quotaBuckets: 3 });
  const { config, problems } = validateConfigText(text, { env: {} });
  if (!config) throw new Error('bench quota config is not valid');
  const snapshot = compileSnapshot(text, config, problems);
  const log = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));
  const quotas = new Quotas(new QuotaLedger(undefined, Date.now, log), log);
  const provider = snapshot.providers.get('mock')!;
  const access = snapshot.accessFor(LOCAL_OWNER);
  const usage = { inputTokens: 260, outputTokens: 40, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0, webSearchCount: 0 };
  const one = () => {
    const a = quotas.admit({ snapshot, access, identity: LOCAL_OWNER, provider, format: 'openai_chat', upstreamModel: BENCH_MODEL, model: BENCH_MODEL });
    if (!a.ok || !a.ticket) throw new Error('the bench request must pass and be charged');
    a.ticket.settle(usage, 200);
  };
  for (let i = 0; i < 20_000; i++) one(); // JIT warm-up, first price lookup
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < requests; i++) one();
    runs.push(((performance.now() - t0) * 1000) / requests);
  }
  return median(runs);
}
