/**
 * The concurrency-1 latency client. It sends one request at a time and rotates between
 * the targets on every request (direct, keyway, nginx, direct, …), so every target sees
 * the same machine at the same moment; the added latency of a proxy is then the
 * difference of two distributions measured side by side. Times are from handing the
 * request to the socket to the last byte of the response.
 */
import { readFileSync } from 'node:fs';
import { summarize, type Summary } from '../lib/stats.js';
import { emit, keepAliveAgent, readSpec, timedPost, type ClientTarget } from './io.js';

export interface LatencySpec {
  targets: ClientTarget[];
  path: string;
  headers: Record<string, string>;
  bodyFile: string;
  /** Unmeasured requests per target first (connection setup, JIT warm-up). */
  warmup: number;
  /** Measured requests per target. */
  requests: number;
  timeoutMs: number;
}

export interface LatencyResult {
  /** Per target: latency in milliseconds, and failed requests. */
  [target: string]: { ms: Summary; errors: number; firstError?: string };
}

async function main(): Promise<void> {
  const spec = readSpec<LatencySpec>();
  const bodies = spec.targets.map((t) => readFileSync(t.bodyFile ?? spec.bodyFile));
  const headers = bodies.map((body) => ({ ...spec.headers, 'content-type': 'application/json', 'content-length': body.length }));
  const agents = spec.targets.map(() => keepAliveAgent(1));
  const samples = spec.targets.map(() => [] as number[]);
  const errors = spec.targets.map(() => 0);
  const firstErrors: Array<string | undefined> = spec.targets.map(() => undefined);
  const n = spec.targets.length;

  for (let round = 0; round < spec.warmup + spec.requests; round++) {
    for (let k = 0; k < n; k++) {
      const t = (round + k) % n; // rotate who goes first, so no target always follows another
      const target = spec.targets[t]!;
      const outcome = await timedPost(target.url + (target.path ?? spec.path), agents[t]!, headers[t]!, bodies[t]!, spec.timeoutMs);
      if (round < spec.warmup) continue;
      if (typeof outcome === 'number') samples[t]!.push(outcome);
      else {
        errors[t]!++;
        firstErrors[t] ??= outcome;
      }
    }
  }
  const result: LatencyResult = {};
  spec.targets.forEach((t, i) => {
    result[t.name] = { ms: summarize(samples[i]!), errors: errors[i]!, ...(firstErrors[i] ? { firstError: firstErrors[i] } : {}) };
  });
  for (const a of agents) a.destroy();
  emit(result);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
