/**
 * Telemetry on vs off: two gateways on the same mock, one with `--telemetry off`. In the
 * comparison the gateway without telemetry stands in the "direct" column, so "added" and
 * "ratio" are what recording costs: max throughput at 64 connections, and p50 latency.
 */
import { compareRow, push, type PerRepeat } from '../lib/compare.js';
import { latency, loadRounds } from '../lib/measure.js';
import { readThreadCpu } from '../lib/procs.js';
import { median } from '../lib/stats.js';
import type { BenchContext, Row, Scenario, Service } from '../lib/types.js';

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
      // CPU per request moves by up to 2× from one minute to the next on a shared VM, and
      // a round of 3 s against a round of 3 s swung from 35 to 157 µs of difference: so
      // at least seven rounds, the order swapped every round (a drift within a pair then
      // counts against each gateway in turn), and recording's cost is the median of the
      // rounds' differences, the pairs measured closest together in time.
      const maxLoad = await alternatingRounds(ctx, off, on, ctx.opts.quick ? 1 : Math.max(CPU_ROUNDS, ctx.opts.repeat));
      const { off: cpuOff, on: cpuOn, differences, perRound } = maxLoad;
      const cpuRow = (measure: string, pick: Figure): Row => ({
        scenario: this.title,
        measure,
        unit: 'µs',
        direct: pick(cpuOff),
        keyway: pick(cpuOn),
        added: median(differences(pick)),
        ratio: pick(cpuOn) / pick(cpuOff),
        target: '–',
        status: 'info',
        note: `${note}; CPU time per request at max load (medians of ${maxLoad.count} alternating rounds, ${Math.round(cpuOff.rps)} and ${Math.round(cpuOn.rps)} req/s; "added" is the median of the rounds' differences); on − off per round: ${perRound(pick)} µs`,
      });
      // Recording's CPU in all threads, and as a share of what the gateway without it spends:
      // the share is what carries over between machines of different speeds.
      const recordingUs = median(differences(allThreads));
      const recordingRow: Row = {
        scenario: this.title,
        measure: 'recording CPU per request, all threads',
        ...allThreadsColumns(maxLoad),
        target: '≤ 24 µs added',
        status: recordingUs <= 24 ? 'meets' : 'misses',
        note: `${note}; on − off per round: ${perRound(allThreads)} µs; recording is ${((100 * recordingUs) / allThreads(cpuOff)).toFixed(0)} % of the off path's CPU (on the day the target was set: 47 of about 51 µs, 92 %, and the 24 µs target 47 %)`,
      };
      // The same two at one rate, below what either reaches: each does the same work per
      // second, so the difference is what recording executes, without the share of the
      // gateway's per-turn and wake-up costs that a lower maximum spreads over fewer requests.
      const rate = Math.max(100, Math.round((EQUAL_RATE_SHARE * cpuOn.rps) / 100) * 100);
      let equalRateRow: Row;
      if (ctx.load.tool !== 'wrk') {
        equalRateRow = { scenario: this.title, measure: 'recording CPU per request at one rate', unit: 'µs', target: '–', status: 'skipped', note: 'needs wrk (apt-get install -y wrk): autocannon has no even schedule' };
      } else {
        const paced = await alternatingRounds(ctx, off, on, ctx.opts.quick ? 1 : EQUAL_RATE_ROUNDS, rate);
        equalRateRow = {
          scenario: this.title,
          measure: `recording CPU per request at ${rate} req/s, all threads`,
          ...allThreadsColumns(paced),
          target: '–',
          status: 'info',
          note: `${note}; both paced at ${rate} req/s (${Math.round(EQUAL_RATE_SHARE * 100)} % of the on gateway's maximum; reached ${Math.round(paced.off.rps)} and ${Math.round(paced.on.rps)}), ${paced.count} alternating rounds; on − off per round: ${paced.perRound(allThreads)} µs (main thread ${paced.perRound((c) => c.mainUs)})`,
        };
      }
      // What captures cost: a third gateway recording everything but bodies and headers.
      const noCaptures = await ctx.startKeyway({ serveArgs: ['--capture-limit', '0'] });
      let cpuBare: CpuPerRequest;
      try {
        await cpuPerRequest(ctx, noCaptures); // warm-up
        cpuBare = await cpuPerRequest(ctx, noCaptures);
      } finally {
        await noCaptures.stop();
      }
      const capturesRow: Row = {
        scenario: this.title,
        measure: 'requests/s with captures off',
        unit: 'req/s',
        direct: cpuOff.rps,
        keyway: cpuBare.rps,
        added: cpuBare.rps - cpuOff.rps,
        ratio: cpuBare.rps / cpuOff.rps,
        target: '–',
        status: 'info',
        note: `${note}; "keyway" here is --capture-limit 0 (one run each); CPU per request main ${cpuBare.mainUs.toFixed(1)} µs, other threads ${cpuBare.otherUs.toFixed(1)} µs`,
      };
      return [
        compareRow({ scenario: this.title, measure: 'max requests/s (off → on)', unit: 'req/s', target: '≤ 5 % lower' }, load.rps, (c) => c.ratio! >= 0.95, note),
        compareRow({ scenario: this.title, measure: 'latency p50 (off → on)', unit: 'ms', target: 'added ≤ 0.1 ms' }, p50, (c) => c.added! <= 0.1, note),
        cpuRow('CPU per request, main thread', (c) => c.mainUs),
        cpuRow('CPU per request, other threads', (c) => c.otherUs),
        recordingRow,
        equalRateRow,
        capturesRow,
      ];
    } finally {
      await on.stop();
      await off.stop();
    }
  },
};

export interface CpuPerRequest {
  rps: number;
  mainUs: number;
  /** The SQLite writer thread, GC helpers and libuv's pool. */
  otherUs: number;
}

/** Alternating rounds of CPU per request at max load, at the least. */
const CPU_ROUNDS = 7;
/** Rounds at one rate for both gateways, and that rate as a share of the slower one's maximum. */
const EQUAL_RATE_ROUNDS = 5;
const EQUAL_RATE_SHARE = 0.6;

type Figure = (c: CpuPerRequest) => number;

/** What alternating rounds measured: each gateway's medians, and on − off round by round. */
interface Rounds {
  count: number;
  off: CpuPerRequest;
  on: CpuPerRequest;
  differences(pick: Figure): number[];
  /** The differences for a note: `12.3 / 14.0 / …`. */
  perRound(pick: Figure): string;
}

/** All threads together: what the ≤ 24 µs target counts. */
const allThreads: Figure = (c) => c.mainUs + c.otherUs;

/** The table's columns for the CPU of all threads: each gateway's median, and "added" as the median of the rounds' differences. */
function allThreadsColumns(rounds: Rounds): Pick<Row, 'unit' | 'direct' | 'keyway' | 'added' | 'ratio'> {
  return { unit: 'µs', direct: allThreads(rounds.off), keyway: allThreads(rounds.on), added: median(rounds.differences(allThreads)), ratio: allThreads(rounds.on) / allThreads(rounds.off) };
}

/**
 * alternatingRounds measures both gateways `count` times, at max load or at `rate`, the
 * order swapped every round: a drift of the machine within a pair then counts against each
 * gateway in turn.
 */
async function alternatingRounds(ctx: BenchContext, off: Service, on: Service, count: number, rate?: number): Promise<Rounds> {
  const rounds: { off: CpuPerRequest; on: CpuPerRequest }[] = [];
  for (let r = 0; r < count; r++) {
    if (r % 2 === 0) {
      const offRun = await cpuPerRequest(ctx, off, rate);
      rounds.push({ off: offRun, on: await cpuPerRequest(ctx, on, rate) });
    } else {
      const onRun = await cpuPerRequest(ctx, on, rate);
      rounds.push({ off: await cpuPerRequest(ctx, off, rate), on: onRun });
    }
  }
  const differences = (pick: Figure) => rounds.map((r) => pick(r.on) - pick(r.off));
  return {
    count,
    off: medianCpu(rounds.map((r) => r.off)),
    on: medianCpu(rounds.map((r) => r.on)),
    differences,
    perRound: (pick) => differences(pick).map((d) => d.toFixed(1)).join(' / '),
  };
}

/** medianCpu is the median of each figure over rounds (each figure on its own). */
function medianCpu(rounds: readonly CpuPerRequest[]): CpuPerRequest {
  return { rps: median(rounds.map((r) => r.rps)), mainUs: median(rounds.map((r) => r.mainUs)), otherUs: median(rounds.map((r) => r.otherUs)) };
}

/** cpuPerRequest runs one max-load run (or one at `rate` requests a second) and divides the CPU the gateway used by its requests. */
export async function cpuPerRequest(ctx: BenchContext, gateway: Service, rate?: number): Promise<CpuPerRequest> {
  const spec = { url: `${gateway.url}/v1/chat/completions`, headers: {}, bodyFile: await ctx.bodyFile(1024), connections: 64, seconds: ctx.opts.loadSeconds, rate };
  const before = readThreadCpu(gateway.pid);
  const res = await ctx.load.run(spec);
  // The writer thread finishes the last batches a moment after the load stops.
  await new Promise((r) => setTimeout(r, 500));
  const after = readThreadCpu(gateway.pid);
  if (!before || !after || res.requests === 0) return { rps: res.rps, mainUs: Number.NaN, otherUs: Number.NaN };
  return {
    rps: res.rps,
    mainUs: ((after.mainMs - before.mainMs) * 1000) / res.requests,
    otherUs: ((after.otherMs - before.otherMs) * 1000) / res.requests,
  };
}
