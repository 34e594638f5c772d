/**
 * Profile (opt-in: --profile or --only profile): keyway under `node --cpu-prof` at
 * maximum load (0 ms upstream, c=64), and the bare Node reference proxy the same way,
 * then a summary of where each one's CPU time went. The .cpuprofile files are kept in
 * bench/results/ for Chrome DevTools; the summaries go to bench/results/profile.txt.
 *
 * Reading it: V8's sampler is signalled from another thread, and in a VM the signal tends
 * to land as a syscall returns, so the native `writev` (and `(program)`) shares come out
 * inflated; `perf` on the same load puts all kernel time at about a quarter. Compare the
 * JS entries with each other and with the bare proxy, not with `writev`.
 */
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RESULTS_DIR } from '../lib/paths.js';
import { formatProfile, summarizeProfile, type ProfileSummary } from '../lib/profile.js';
import type { BenchContext, Row, Scenario, Service } from '../lib/types.js';

export const profileScenario: Scenario = {
  name: 'profile',
  title: 'under --cpu-prof, max load',
  optIn: true,
  async run(ctx) {
    const keyway = await profiled(ctx, 'keyway', (args) => ctx.startKeyway({ nodeArgs: args }));
    // The same gateway with telemetry off, so what recording costs the main thread shows
    // as the difference between the two profiles.
    const off = await profiled(ctx, 'keyway-telemetry-off', (args) => ctx.startKeyway({ nodeArgs: args, serveArgs: ['--telemetry', 'off'] }));
    const bare = await profiled(ctx, 'bare', (args) => ctx.startBare(args));
    const text = [
      `== keyway (${keyway.file})`,
      formatProfile(keyway.summary),
      ...keyway.workers.flatMap((w) => ['', `== keyway worker thread (${w.file})`, formatProfile(w.summary)]),
      '',
      `== keyway --telemetry off (${off.file})`,
      formatProfile(off.summary),
      '',
      `== bare Node proxy (${bare.file})`,
      formatProfile(bare.summary),
    ].join('\n');
    await writeFile(join(RESULTS_DIR, 'profile.txt'), `${text}\n`);
    ctx.log(text.split('\n').map((l) => `    ${l}`).join('\n'));
    const share = (s: ProfileSummary, area: string) => s.areas.find((a) => a.area.startsWith(area))?.percent ?? 0;
    const row = (name: 'keyway' | 'bare', p: Profiled, label = name === 'keyway' ? 'keyway' : 'bare Node proxy'): Row => ({
      scenario: this.title,
      measure: `requests/s, ${label} profiled`,
      unit: 'req/s',
      [name]: p.rps,
      target: '–',
      status: 'info',
      note: `bench/results/${p.file}: own JS ${share(p.summary, name === 'keyway' ? 'keyway' : 'bench').toFixed(1)} %, undici ${share(p.summary, 'undici').toFixed(1)} %, Node core JS ${share(p.summary, 'Node core').toFixed(1)} %, GC ${share(p.summary, 'GC').toFixed(1)} % of busy time`,
      detail: p.summary,
    });
    return [row('keyway', keyway), row('keyway', off, 'keyway --telemetry off'), row('bare', bare)];
  },
};

interface Profiled {
  rps: number;
  file: string;
  summary: ProfileSummary;
  /** Worker threads' profiles (keyway's telemetry writer), in thread order. */
  workers: Array<{ file: string; summary: ProfileSummary }>;
}

async function profiled(ctx: BenchContext, name: string, start: (nodeArgs: string[]) => Promise<Service>): Promise<Profiled> {
  const dir = join(ctx.tmp, `cpuprofile-${name}`);
  await mkdir(dir, { recursive: true });
  const service = await start(['--cpu-prof', '--cpu-prof-dir', dir]);
  let rps: number;
  try {
    const spec = { url: `${service.url}/v1/chat/completions`, headers: {}, bodyFile: await ctx.bodyFile(1024), connections: 64 };
    await ctx.load.run({ ...spec, seconds: 1 });
    rps = (await ctx.load.run({ ...spec, seconds: ctx.opts.loadSeconds * 2 })).rps;
  } finally {
    await service.stop(); // the profile is written when the process exits
  }
  // Node writes one profile per thread, named CPU.<date>.<time>.<pid>.<thread>.<seq>: the
  // main thread is thread 0; keyway's telemetry writer is a worker thread.
  const written = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort((a, b) => threadOf(a) - threadOf(b));
  if (written.length === 0) throw new Error(`node --cpu-prof wrote no profile for ${name}`);
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = `max-load-${name}.cpuprofile`;
  await copyFile(join(dir, written[0]!), join(RESULTS_DIR, file));
  const workers: Profiled['workers'] = [];
  for (const [i, w] of written.slice(1).entries()) {
    const workerFile = `max-load-${name}-worker${i + 1}.cpuprofile`;
    await copyFile(join(dir, w), join(RESULTS_DIR, workerFile));
    workers.push({ file: workerFile, summary: await summarizeProfile(join(RESULTS_DIR, workerFile)) });
  }
  return { rps, file, summary: await summarizeProfile(join(RESULTS_DIR, file)), workers };
}

function threadOf(file: string): number {
  return Number(file.split('.').at(-3) ?? 0);
}
