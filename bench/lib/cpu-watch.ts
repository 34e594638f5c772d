/**
 * How much CPU other programs took while a scenario ran: the machine's busy time (from
 * /proc/stat) minus the suite's own (this process, its reaped children, and the live
 * ones, from /proc/<pid>/stat). The machine is shared and has two cores, so a scenario
 * that ran next to a test suite or a compiler says so in the report.
 */
import { readFileSync } from 'node:fs';
import { livePids } from './procs.js';

export interface CpuMark {
  busy: number;
  total: number;
  ours: number;
}

function machine(): { busy: number; total: number } {
  // user nice system idle iowait irq softirq steal guest guest_nice. Only user + nice +
  // system count as busy: loopback TCP work runs as softirq, which the kernel does not
  // charge to any process, so counting it would call the suite's own traffic "other".
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0), total };
}

/** ticks returns utime + stime (+ cutime + cstime: reaped children) of `pid`, 0 when gone. */
function ticks(pid: number | 'self'): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  } catch {
    return 0;
  }
}

/** Ticks of the suite's processes that are not its children (a daemonised PostgreSQL), credited by creditOurs. */
let credited = 0;

/**
 * creditOurs counts CPU ticks of a server the suite started but that is not its child
 * (pg_ctl daemonises PostgreSQL, so its postmaster and backends are no live child of the
 * suite) as the suite's own, so that they are not reported as other programs' load.
 */
export function creditOurs(ticksUsed: number): void {
  credited += ticksUsed;
}

/** cpuMark records the counters now; compare two marks with otherCpuPercent. */
export function cpuMark(): CpuMark {
  try {
    let ours = ticks('self') + credited;
    for (const pid of livePids()) ours += ticks(pid);
    return { ...machine(), ours };
  } catch {
    return { busy: 0, total: 0, ours: 0 };
  }
}

/**
 * otherCpuPercent returns the share of the machine's CPU time (all cores) used by other
 * programs between two marks. A child that exited between the marks is counted in its
 * parent's reaped-children time, so the estimate stays close; it is clamped at 0.
 */
export function otherCpuPercent(a: CpuMark, b: CpuMark): number {
  const total = b.total - a.total;
  if (total <= 0) return 0;
  return Math.max(0, (100 * (b.busy - a.busy - (b.ours - a.ours))) / total);
}
