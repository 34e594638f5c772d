/**
 * The paired client: one gateway with one configuration, at concurrency 1, called as
 * several callers in turn (each side is a set of request headers: here the identity
 * headers of `tailscale serve`, so one caller's grant wires a hook and the next one's
 * does not). The sides take turns in short runs, rotating which goes first, so every
 * side meets the same machine within milliseconds of the others: the drift of the
 * machine's speed over seconds, which moved round-based figures by ±25 µs, falls on all
 * sides alike.
 *
 * A run's first request is not counted: it follows another side's request, whose work
 * after its answer (on the gateway's request thread) would delay it. Every counted
 * request follows one of its own side, so it pays for its predecessor's after-answer work
 * as a client calling back to back would. The samples are kept in `chunks` slices of
 * the whole run in time order, so the caller can judge the spread.
 */
import { readFileSync } from 'node:fs';
import { summarize } from '../lib/stats.js';
import { emit, keepAliveAgent, readSpec, timedPost } from './io.js';

export interface PairedSpec {
  url: string;
  path: string;
  bodyFile: string;
  /** Each side's extra request headers, by name. */
  sides: Record<string, Record<string, string>>;
  /** Unmeasured requests of every side first (JIT, connections, the gateway's threads). */
  warmup: number;
  /** Requests per run (the first one not counted) and runs per side. */
  runLength: number;
  runs: number;
  chunks: number;
  timeoutMs: number;
}

export interface PairedResult {
  /** Per side: the p50 and p99 (ms) of each chunk, in time order, and of all counted requests. */
  sides: Record<string, { chunkP50: number[]; chunkP99: number[]; p50: number; p99: number; n: number }>;
}

async function main(): Promise<void> {
  const spec = readSpec<PairedSpec>();
  const body = readFileSync(spec.bodyFile);
  const names = Object.keys(spec.sides);
  const headers = Object.fromEntries(names.map((n) => [n, { ...spec.sides[n], 'content-type': 'application/json', 'content-length': body.length }]));
  const agent = keepAliveAgent(1);
  const url = spec.url + spec.path;
  const send = async (side: string) => {
    const outcome = await timedPost(url, agent, headers[side]!, body, spec.timeoutMs);
    if (typeof outcome !== 'number') throw new Error(`a request as ${side} failed: ${outcome}`);
    return outcome;
  };
  for (let i = 0; i < spec.warmup; i++) for (const side of names) await send(side);
  const samples = Object.fromEntries(names.map((n) => [n, [] as number[][]]));
  const perChunk = Math.ceil(spec.runs / spec.chunks);
  for (let run = 0; run < spec.runs; run++) {
    const chunk = Math.floor(run / perChunk);
    for (let k = 0; k < names.length; k++) {
      const side = names[(run + k) % names.length]!;
      const into = (samples[side]![chunk] ??= []);
      for (let i = 0; i < spec.runLength; i++) {
        const ms = await send(side);
        if (i > 0) into.push(ms);
      }
    }
  }
  agent.destroy();
  const result: PairedResult = { sides: {} };
  for (const side of names) {
    const chunks = samples[side]!.map((c) => summarize(c));
    const all = summarize(samples[side]!.flat());
    result.sides[side] = { chunkP50: chunks.map((c) => c.p50), chunkP99: chunks.map((c) => c.p99), p50: all.p50, p99: all.p99, n: all.n };
  }
  emit(result);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
