/**
 * Streaming: 200 SSE events 5 ms apart (time to first byte and inter-event gaps added by
 * keyway), and 1,000 streams open at once through one keyway (its peak memory, and
 * whether any stream stalls).
 */
import type { SseResult } from '../clients/sse.js';
import { compare, compareRow, push, type PerRepeat } from '../lib/compare.js';
import { latency, sse } from '../lib/measure.js';
import { readMemory, sleep } from '../lib/procs.js';
import type { Row, Scenario, Target } from '../lib/types.js';

/** Events in an OpenAI chat stream of n deltas: role, n deltas, finish, [DONE]. */
const eventsFor = (chunks: number) => chunks + 3;

export const sseScenario: Scenario = {
  name: 'sse',
  title: 'SSE 200 chunks at 5 ms',
  async run(ctx) {
    const targets = await ctx.targets(true);
    const ttfb: PerRepeat = {};
    const gap: PerRepeat = {};
    const ttfb50: PerRepeat = {};
    const problems: string[] = [];
    for (let r = 0; r < ctx.opts.repeat; r++) {
      const res = await sse(ctx, {
        targets,
        scenario: 'chunks=200,interval=5',
        streams: ctx.opts.quick ? 12 : 40,
        concurrency: 8 * targets.length,
        rampMs: 1000,
        stallMs: 1000,
        deadlineMs: 120_000,
        expectEvents: eventsFor(200),
        warmupScenario: 'chunks=1',
      });
      for (const t of targets) {
        const x = res[t.name]!;
        push(ttfb, t.name, x.ttfbMs.p99);
        push(ttfb50, t.name, x.ttfbMs.p50);
        push(gap, t.name, x.gapMs.p99);
        if (x.stalled + x.incomplete + x.errors > 0) problems.push(`${t.name}: ${x.stalled} stalled, ${x.incomplete} incomplete, ${x.errors} errors ${x.firstError ?? ''}`.trim());
      }
      ctx.log(`    repeat ${r + 1}: ${targets.map((t) => `${t.name} ttfb p50 ${res[t.name]!.ttfbMs.p50.toFixed(2)} p99 ${res[t.name]!.ttfbMs.p99.toFixed(2)} gap p99 ${res[t.name]!.gapMs.p99.toFixed(2)} ms`).join(', ')}`);
    }
    const note = problems.join('; ');
    const p50 = compare(ttfb50);
    const p50Note = `p50: ${targets.map((t) => `${t.name} ${p50[t.name]!.toFixed(2)}`).join(', ')} ms`;
    return [
      compareRow({ scenario: this.title, measure: 'time to first byte p99', unit: 'ms', target: 'added ≤ 1 ms' }, ttfb, (c) => c.added! <= 1 && !note, [p50Note, note].filter(Boolean).join('; ')),
      compareRow({ scenario: this.title, measure: 'inter-chunk gap p99', unit: 'ms', target: 'added ≤ 0.5 ms' }, gap, (c) => c.added! <= 0.5 && !note),
    ];
  },
};

export const manyStreamsScenario: Scenario = {
  name: 'sse-1000',
  title: '1,000 concurrent SSE streams',
  async run(ctx) {
    const streams = 1000;
    const chunks = ctx.opts.quick ? 20 : 100;
    const run = (target: Target) =>
      sse(ctx, {
        targets: [target],
        scenario: `chunks=${chunks},interval=50`,
        streams,
        concurrency: streams,
        rampMs: 1000,
        stallMs: 2000,
        deadlineMs: 90_000,
        expectEvents: eventsFor(chunks),
      });
    const direct = await run({ name: 'direct', url: ctx.mock.url });
    // A gateway of its own, so that its peak RSS (VmHWM) belongs to this scenario alone.
    // All 1,000 streams come from one loopback address, which the default per-peer cap
    // (256 connections, a tailnet peer's fair share) would refuse with 503s.
    const keyway = await ctx.startKeyway({ serveArgs: ['--max-connections-per-peer', String(streams)] });
    try {
      await latency(ctx, { targets: [{ name: 'keyway', url: keyway.url }], bodyBytes: 1024, warmup: 0, requests: 200 });
      const before = readMemory(keyway.pid)!;
      let peakRss = before.rssMb;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peakRss = Math.max(peakRss, readMemory(keyway.pid)?.rssMb ?? 0);
          await sleep(100);
        }
      })();
      const via = await run({ name: 'keyway', url: keyway.url }).finally(() => (sampling = false));
      await sampler;
      const after = readMemory(keyway.pid)!;
      ctx.log(`    keyway RSS before ${before.rssMb.toFixed(1)} MB, peak (VmHWM) ${after.hwmMb.toFixed(1)} MB`);
      return rows(this.title, streams, direct, via, before.rssMb, after.hwmMb, peakRss);
    } finally {
      await keyway.stop();
    }
  },
};

function rows(title: string, streams: number, direct: SseResult, via: SseResult, beforeMb: number, hwmMb: number, sampledMb: number): Row[] {
  const d = direct.direct!;
  const k = via.keyway!;
  const bad = (x: typeof d) => x.stalled + x.incomplete + x.errors;
  const perStreamKb = ((hwmMb - beforeMb) * 1024) / streams;
  return [
    {
      scenario: title,
      measure: 'keyway peak RSS (VmHWM)',
      unit: 'MB',
      keyway: hwmMb,
      target: '≤ 200 MB',
      status: hwmMb <= 200 ? 'meets' : 'misses',
      note: `RSS ${beforeMb.toFixed(1)} MB before the streams (≈ ${perStreamKb.toFixed(0)} KB per stream at peak; sampled peak ${sampledMb.toFixed(1)} MB); ${k.maxOpen} streams open at once`,
      detail: { beforeMb, hwmMb, sampledMb, direct: d, keyway: k },
    },
    {
      scenario: title,
      measure: 'streams stalled or failed',
      unit: 'streams',
      direct: bad(d),
      keyway: bad(k),
      target: '0 (no gap > 2 s)',
      status: bad(k) === 0 ? 'meets' : 'misses',
      note: `longest gap: direct ${d.gapMs.max.toFixed(0)} ms, keyway ${k.gapMs.max.toFixed(0)} ms; gap p99 direct ${d.gapMs.p99.toFixed(1)} ms, keyway ${k.gapMs.p99.toFixed(1)} ms${k.firstError ? `; first error: ${k.firstError}` : ''}`,
    },
  ];
}
