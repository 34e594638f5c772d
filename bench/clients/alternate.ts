/**
 * The alternating client: one gateway at concurrency 1, its configuration switched by
 * this client (a save through the admin API) between short rounds of `base` and
 * `variant`, in the order ABBA. The client stays one process with one warm connection
 * the whole time, so a round differs from the next only by the configuration: starting a
 * client per round gave each round its own JIT state and memory layout, and round p50s
 * that moved by ±100 µs. Many short rounds (the machine's speed drifts over seconds)
 * rather than a few long ones. Each round also reads the CPU the gateway's threads and
 * the hook server spent in it, from /proc.
 */
import { readFileSync } from 'node:fs';
import { readThreadCpu, type ThreadCpu } from '../lib/procs.js';
import { summarize } from '../lib/stats.js';
import { emit, keepAliveAgent, readSpec, timedPost } from './io.js';

export interface AlternateSpec {
  /** The gateway's base URL (its admin API on the same port). */
  url: string;
  path: string;
  headers: Record<string, string>;
  bodyFile: string;
  base: string;
  variant: string;
  /** Pairs of rounds (one of each). */
  pairs: number;
  /** Unmeasured requests after each switch, then measured ones. */
  warmup: number;
  requests: number;
  /** Pause after the last request of a round (its background work finishing: events delivered). */
  settleMs: number;
  timeoutMs: number;
  gatewayPid: number;
  hookPid?: number;
}

export interface AlternateRound {
  side: 'base' | 'variant';
  p50: number;
  p99: number;
  /** CPU ms of the round (warm-up included) and its settle pause. */
  mainMs: number;
  otherMs: number;
  hookMs: number;
  /** Requests of the round, warm-up included. */
  requests: number;
}

export interface AlternateResult {
  rounds: AlternateRound[];
}

async function main(): Promise<void> {
  const spec = readSpec<AlternateSpec>();
  const body = readFileSync(spec.bodyFile);
  const headers = { ...spec.headers, 'content-type': 'application/json', 'content-length': body.length };
  const agent = keepAliveAgent(1);
  let hash = ((await (await fetch(`${spec.url}/api/config`)).json()) as { hash: string }).hash;
  let current: string | undefined;
  const use = async (text: string) => {
    if (text === current) return;
    const res = await fetch(`${spec.url}/api/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config: text, hash }) });
    if (res.status !== 200) throw new Error(`switching the gateway's configuration: ${res.status} ${await res.text()}`);
    hash = ((await res.json()) as { hash: string }).hash;
    current = text;
  };
  const cpu = (pid: number | undefined): ThreadCpu => (pid === undefined ? undefined : readThreadCpu(pid)) ?? { mainMs: 0, otherMs: 0 };
  const rounds: AlternateRound[] = [];
  const url = spec.url + spec.path;
  for (let pair = 0; pair < spec.pairs; pair++) {
    const order: Array<'base' | 'variant'> = pair % 2 === 0 ? ['base', 'variant'] : ['variant', 'base'];
    for (const side of order) {
      await use(side === 'base' ? spec.base : spec.variant);
      const g0 = cpu(spec.gatewayPid);
      const h0 = cpu(spec.hookPid);
      const samples: number[] = [];
      for (let i = 0; i < spec.warmup + spec.requests; i++) {
        const outcome = await timedPost(url, agent, headers, body, spec.timeoutMs);
        if (typeof outcome !== 'number') throw new Error(`a request failed: ${outcome}`);
        if (i >= spec.warmup) samples.push(outcome);
      }
      await new Promise((r) => setTimeout(r, spec.settleMs));
      const g1 = cpu(spec.gatewayPid);
      const h1 = cpu(spec.hookPid);
      const s = summarize(samples);
      rounds.push({
        side,
        p50: s.p50,
        p99: s.p99,
        mainMs: g1.mainMs - g0.mainMs,
        otherMs: g1.otherMs - g0.otherMs,
        hookMs: h1.mainMs + h1.otherMs - h0.mainMs - h0.otherMs,
        requests: spec.warmup + spec.requests,
      });
    }
  }
  agent.destroy();
  emit({ rounds } satisfies AlternateResult);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
