/**
 * Running the measuring clients (bench/clients/) in their own processes. Each call
 * writes a spec file, runs the client to its end under a deadline and returns its JSON.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AlternateResult, AlternateSpec } from '../clients/alternate.js';
import type { LatencyResult, LatencySpec } from '../clients/latency.js';
import type { PairedResult, PairedSpec } from '../clients/paired.js';
import type { SseResult, SseSpec } from '../clients/sse.js';
import { push, type PerRepeat } from './compare.js';
import type { LoadResult, LoadSpec } from './load.js';
import { clientScript } from './paths.js';
import { runJsonChild } from './procs.js';
import type { BenchContext, Target, TargetName } from './types.js';

let specs = 0;

async function runClient<T>(ctx: BenchContext, name: string, spec: unknown, timeoutMs: number): Promise<T> {
  const file = join(ctx.tmp, `${name}-${++specs}.json`);
  await writeFile(file, JSON.stringify(spec));
  return runJsonChild<T>(process.execPath, [clientScript(name), file], timeoutMs);
}

/** alternate runs the alternating client (clients/alternate.ts): one gateway, its configuration switched between rounds by the client. */
export async function alternate(ctx: BenchContext, run: Omit<AlternateSpec, 'path' | 'bodyFile' | 'timeoutMs' | 'headers'> & { bodyBytes: number }): Promise<AlternateResult> {
  const { bodyBytes, ...rest } = run;
  const spec: AlternateSpec = { ...rest, path: '/v1/chat/completions', headers: {}, bodyFile: await ctx.bodyFile(bodyBytes), timeoutMs: 30_000 };
  return runClient<AlternateResult>(ctx, 'alternate', spec, 15 * 60_000);
}

/** paired runs the paired client (clients/paired.ts): one gateway, one configuration, several callers taking turns in short runs. */
export async function paired(ctx: BenchContext, run: Omit<PairedSpec, 'path' | 'bodyFile' | 'timeoutMs'> & { bodyBytes: number }): Promise<PairedResult> {
  const { bodyBytes, ...rest } = run;
  const spec: PairedSpec = { ...rest, path: '/v1/chat/completions', bodyFile: await ctx.bodyFile(bodyBytes), timeoutMs: 30_000 };
  return runClient<PairedResult>(ctx, 'paired', spec, 15 * 60_000);
}

export interface LatencyRun {
  targets: Target[];
  bodyBytes: number;
  headers?: Record<string, string>;
  warmup: number;
  requests: number;
}

/** latency runs the concurrency-1 client once over `targets`, interleaved. */
export async function latency(ctx: BenchContext, run: LatencyRun): Promise<LatencyResult> {
  const spec: LatencySpec = {
    targets: run.targets.map((t) => ({ name: t.name, url: t.url, ...(t.path ? { path: t.path } : {}), ...(t.bodyFile ? { bodyFile: t.bodyFile } : {}) })),
    path: '/v1/chat/completions',
    headers: run.headers ?? {},
    bodyFile: await ctx.bodyFile(run.bodyBytes),
    warmup: run.warmup,
    requests: run.requests,
    timeoutMs: 30_000,
  };
  const result = await runClient<LatencyResult>(ctx, 'latency', spec, 5 * 60_000);
  for (const t of run.targets) {
    const r = result[t.name];
    if (!r || r.errors > 0) throw new Error(`${t.name}: ${r?.errors ?? 'all'} failed requests (${r?.firstError ?? 'no result'})`);
  }
  return result;
}

export interface SseRun {
  targets: Target[];
  /** x-mock-scenario value, e.g. `chunks=200,interval=5`. */
  scenario: string;
  streams: number;
  concurrency: number;
  rampMs: number;
  stallMs: number;
  deadlineMs: number;
  expectEvents: number;
  stopStartingMs?: number;
  /** Open the connections first with unmeasured streams of this x-mock-scenario. */
  warmupScenario?: string;
  /** Leave out this many gaps at each end of every stream (format-specific framing events). */
  trimGaps?: number;
}

/** sse runs the streaming client once over `targets`, interleaved. */
export async function sse(ctx: BenchContext, run: SseRun): Promise<SseResult> {
  const spec: SseSpec = {
    targets: run.targets.map((t) => ({ name: t.name, url: t.url, ...(t.path ? { path: t.path } : {}), ...(t.bodyFile ? { bodyFile: t.bodyFile } : {}), ...(t.endMarker ? { endMarker: t.endMarker } : {}) })),
    path: '/v1/chat/completions',
    headers: { 'x-mock-scenario': run.scenario },
    bodyFile: await ctx.bodyFile(1024, true),
    streams: run.streams,
    concurrency: run.concurrency,
    rampMs: run.rampMs,
    stallMs: run.stallMs,
    deadlineMs: run.deadlineMs,
    expectEvents: run.expectEvents,
    ...(run.stopStartingMs !== undefined ? { stopStartingMs: run.stopStartingMs } : {}),
    ...(run.warmupScenario !== undefined ? { warmupScenario: run.warmupScenario } : {}),
    ...(run.trimGaps !== undefined ? { trimGaps: run.trimGaps } : {}),
  };
  return runClient<SseResult>(ctx, 'sse', spec, run.deadlineMs + 30_000);
}

export interface LoadRounds {
  /** Requests per second, one value per repeat and target. */
  rps: PerRepeat;
  /** p99 latency in ms, one value per repeat and target. */
  p99: PerRepeat;
  /** Failed or non-2xx requests per target, over all repeats. */
  failures: Partial<Record<TargetName, number>>;
  runs: LoadResult[];
}

export interface LoadRun {
  path?: string;
  headers: Record<string, string>;
  connections: number;
  bodyBytes: number;
  /** Rounds (each target once per round); default ctx.opts.repeat. */
  rounds?: number;
  /** Seconds per run; default ctx.opts.loadSeconds. */
  seconds?: number;
}

/** Warm-up slices: until three in a row agree within SETTLED, at most WARMUP_MAX_S. */
const WARMUP_SLICE_S = 1;
const WARMUP_MAX_S = 30;
const SETTLED = 0.05;

/**
 * warmUp runs `slice` (a load run of `WARMUP_SLICE_S` seconds) until three figures in a
 * row agree within 5 % (or 30 s have passed), and logs how long that took. A fixed second
 * was not enough: a gateway's JIT, pools and database warm up over thousands of
 * requests (keyway at a 20 ms upstream: 2,018, then 2,502 and 2,638 requests/s in the
 * rounds after a one-second warm-up), so the first measured round was a cold one.
 */
export async function warmUp(ctx: BenchContext, what: string, slice: (seconds: number) => Promise<LoadResult>): Promise<void> {
  const figures: number[] = [];
  while (figures.length * WARMUP_SLICE_S < WARMUP_MAX_S) {
    figures.push((await slice(WARMUP_SLICE_S)).rps);
    const last = figures.slice(-3);
    if (last.length === 3 && Math.max(...last) <= Math.min(...last) * (1 + SETTLED)) break;
  }
  ctx.log(`    warm-up ${what}: ${figures.length * WARMUP_SLICE_S} s (${figures.map((f) => Math.round(f)).join(', ')} req/s)`);
}

/**
 * loadRounds runs the load generator against each target in turn, round after round,
 * rotating which target goes first, after an unmeasured warm-up of each until its
 * figure settles (warmUp; one second each with --quick).
 */
export async function loadRounds(ctx: BenchContext, targets: Target[], run: LoadRun): Promise<LoadRounds> {
  const bodyFile = await ctx.bodyFile(run.bodyBytes);
  const spec = (t: Target, seconds: number): LoadSpec => ({
    url: t.url + (run.path ?? '/v1/chat/completions'),
    headers: run.headers,
    bodyFile,
    connections: run.connections,
    seconds,
  });
  for (const t of targets) {
    if (ctx.opts.quick) await ctx.load.run(spec(t, 1));
    else await warmUp(ctx, t.name, (seconds) => ctx.load.run(spec(t, seconds)));
  }
  const out: LoadRounds = { rps: {}, p99: {}, failures: {}, runs: [] };
  for (let r = 0; r < (run.rounds ?? ctx.opts.repeat); r++) {
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(r + k) % targets.length]!;
      const res = await ctx.load.run(spec(t, run.seconds ?? ctx.opts.loadSeconds));
      ctx.log(`    ${t.name.padEnd(6)} ${Math.round(res.rps)} req/s, p99 ${res.p99Ms.toFixed(2)} ms, ${res.errors + res.non2xx} failed`);
      push(out.rps, t.name, res.rps);
      push(out.p99, t.name, res.p99Ms);
      out.failures[t.name] = (out.failures[t.name] ?? 0) + res.errors + res.non2xx;
      out.runs.push(res);
    }
  }
  return out;
}
