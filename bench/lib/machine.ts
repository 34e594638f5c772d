/** A description of the machine a run was measured on, for the report. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';
import { REPO_DIR } from './paths.js';

export interface Machine {
  date: string;
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  kernel: string;
  node: string;
  loadgen: string;
  nginx: string;
  commit: string;
  /** Share of both CPUs in use by other programs in the second before the run (0–100). */
  busyBeforePercent: number;
}

/** describeMachine gathers the facts; anything it cannot read is 'unknown'. */
export function describeMachine(loadgen: string, nginxBin: string | undefined, busyBeforePercent: number): Machine {
  return {
    busyBeforePercent,
    date: new Date().toISOString(),
    cpus: availableParallelism(),
    cpuModel: cpuModel(),
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    loadgen: loadgen === 'wrk' ? `wrk ${tryRun('wrk', ['-v'], /wrk (\S+)/) ?? ''}`.trim() : `autocannon ${autocannonVersion()}`,
    nginx: nginxBin ? tryRun(nginxBin, ['-v'], /nginx\/(\S+)/) ?? 'installed' : 'not installed',
    commit: gitCommit(),
  };
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    return line?.split(':')[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function autocannonVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../node_modules/autocannon/package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return '';
  }
}

function tryRun(cmd: string, args: string[], pattern: RegExp): string | undefined {
  // wrk and nginx print their version on stderr (and wrk exits 1): read both streams.
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
  return pattern.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1];
}

function gitCommit(): string {
  const r = spawnSync('git', ['-C', REPO_DIR, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', timeout: 5000 });
  if (r.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['-C', REPO_DIR, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8', timeout: 5000 });
  return `${r.stdout.trim()}${dirty.stdout?.trim() ? ' (src/ modified)' : ''}`;
}

function cpuTicks(): { busy: number; total: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/**
 * busyPercent measures how much of the machine other programs use over `ms` (from
 * /proc/stat), so that a run on a busy machine says so: its figures will be noisy.
 */
export async function busyPercent(ms = 1000): Promise<number> {
  const a = cpuTicks();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = cpuTicks();
  return b.total > a.total ? (100 * (b.busy - a.busy)) / (b.total - a.total) : 0;
}
