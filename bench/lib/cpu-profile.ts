/**
 * Where the CPU went during one load run, per process and thread kind, from /proc: each
 * gateway's main thread and its other threads grouped by thread name (keyway's telemetry
 * worker, V8's GC and compiler helpers, libuv's pool), the PostgreSQL backends grouped by
 * what they serve, the mock upstream, and the load generator (a child of this process,
 * counted from its reaped-children time once it has ended).
 */
import { readFileSync } from 'node:fs';
import type { PgServer } from './postgres-procs.js';
import { readThreadTimes } from './procs.js';

const MS_PER_TICK = 1000 / 100;

/** A CPU reading of the processes of interest. */
interface Reading {
  /** ms by `label/thread name`, summed over threads. */
  threads: Map<string, Map<string, number>>;
  pg?: { byPid: Map<number, number>; totalMs: number };
  reapedMs: number;
}

export interface Watched {
  /** A label for each process (`replica 1`, `mock`), by pid. */
  processes: ReadonlyArray<{ label: string; pid: number }>;
  pg?: PgServer;
}

function threadName(pid: number, tid: string): string {
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** reapedChildrenMs is the CPU of this process's children that have ended (wrk, after its run). */
function reapedChildrenMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * MS_PER_TICK;
}

function read(w: Watched): Reading {
  const threads = new Map<string, Map<string, number>>();
  for (const { label, pid } of w.processes) {
    const byName = new Map<string, number>();
    for (const [tid, ms] of readThreadTimes(pid) ?? []) {
      // The main thread is the one whose id is the process id; the others by their name.
      const name = tid === String(pid) ? 'main' : threadName(pid, tid);
      byName.set(name, (byName.get(name) ?? 0) + ms);
    }
    threads.set(label, byName);
  }
  return { threads, pg: w.pg?.read(), reapedMs: reapedChildrenMs() };
}

/** A CPU profile of one run: µs of CPU per request by `process: part`, and in all. */
export interface CpuProfile {
  perRequestUs: Map<string, number>;
  totalUs: number;
}

/**
 * profileRun reads the CPU before and after `run` and divides what each part used by the
 * requests `run` reports. Parts that used less than 1 µs a request are left out.
 */
export async function profileRun<T extends { requests: number }>(w: Watched, run: () => Promise<T>): Promise<{ result: T; profile: CpuProfile }> {
  const before = read(w);
  const result = await run();
  const after = read(w);
  const roles = w.pg ? await w.pg.roles() : new Map<number, string>();
  const ms = new Map<string, number>();
  const add = (key: string, v: number) => ms.set(key, (ms.get(key) ?? 0) + v);
  for (const [label, byName] of after.threads) {
    const was = before.threads.get(label);
    // Thread names repeat (V8 has several DefaultWorker threads): summed by name.
    for (const [name, v] of byName) add(`${label}: ${name === 'main' ? 'main thread' : name}`, v - (was?.get(name) ?? 0));
  }
  if (after.pg) {
    for (const [pid, v] of after.pg.byPid) add(`postgres: ${roles.get(pid) ?? 'ended backend'}`, v - (before.pg?.byPid.get(pid) ?? 0));
    // Backends that ended meanwhile are in the postmaster's reaped time only.
    const listed = [...after.pg.byPid].reduce((s, [pid, v]) => s + v - (before.pg?.byPid.get(pid) ?? 0), 0);
    add('postgres: ended backends', after.pg.totalMs - (before.pg?.totalMs ?? 0) - listed);
  }
  add('load generator', after.reapedMs - before.reapedMs);
  const perRequestUs = new Map<string, number>();
  let totalUs = 0;
  for (const [key, v] of ms) {
    const us = (1000 * v) / Math.max(1, result.requests);
    totalUs += us;
    if (us >= 1) perRequestUs.set(key, us);
  }
  return { result, profile: { perRequestUs, totalUs } };
}

/**
 * meanProfile sums profiles part by part and divides by their number: the mean per-request
 * CPU over several runs, by part, largest first.
 */
export function meanProfile(profiles: readonly CpuProfile[]): Array<[string, number]> {
  const sum = new Map<string, number>();
  for (const p of profiles) for (const [k, v] of p.perRequestUs) sum.set(k, (sum.get(k) ?? 0) + v);
  return [...sum].map(([k, v]): [string, number] => [k, v / profiles.length]).sort((a, b) => b[1] - a[1]);
}
