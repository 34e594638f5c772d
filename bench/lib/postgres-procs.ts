/**
 * The processes of a PostgreSQL server the suite started (test/postgres.ts), for CPU
 * accounting: pg_ctl daemonises the server, so neither its postmaster nor its backends are
 * children of the suite. The postmaster is found from the data folder's postmaster.pid,
 * its backends as its children in /proc, and what each backend serves from
 * pg_stat_activity (the application_name keyway's pools set: `keyway-telemetry`,
 * `keyway config`), so a backend's CPU can be put down to the replica's part that uses it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';

const MS_PER_TICK = 1000 / 100; // USER_HZ is 100 on Linux

/** CPU of one process in ms: its own (utime + stime) and that of its reaped children. */
function procTimes(pid: number): { ownMs: number; reapedMs: number; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised name: state, ppid, …; utime is the 12th after it.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), ownMs: (Number(f[11]) + Number(f[12])) * MS_PER_TICK, reapedMs: (Number(f[13]) + Number(f[14])) * MS_PER_TICK };
  } catch {
    return undefined;
  }
}

/** A reading: CPU ms by process id, and the postmaster's total (itself, live and reaped backends). */
export interface PgCpuReading {
  byPid: Map<number, number>;
  totalMs: number;
}

export interface PgServer {
  readonly postmasterPid: number;
  /** read takes the CPU of the postmaster and every backend now. */
  read(): PgCpuReading;
  /** roles names each backend by its application_name (or backend type: the checkpointer, …). */
  roles(): Promise<Map<number, string>>;
  close(): Promise<void>;
}

/** postgresServer finds the server behind `adminUrl`; undefined when it is not on this machine. */
export async function postgresServer(adminUrl: string): Promise<PgServer | undefined> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'keyway bench' });
  await client.connect();
  let postmasterPid: number;
  try {
    const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
    postmasterPid = Number(readFileSync(join(rows[0]!.data_directory, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    await client.end();
    return undefined;
  }
  return {
    postmasterPid,
    read() {
      const byPid = new Map<number, number>();
      const master = procTimes(postmasterPid);
      let totalMs = master ? master.ownMs + master.reapedMs : 0;
      for (const name of readdirSync('/proc')) {
        const pid = Number(name);
        if (!Number.isInteger(pid)) continue;
        const t = procTimes(pid);
        if (!t || t.ppid !== postmasterPid) continue;
        byPid.set(pid, t.ownMs);
        totalMs += t.ownMs;
      }
      if (master) byPid.set(postmasterPid, master.ownMs);
      return { byPid, totalMs };
    },
    async roles() {
      const { rows } = await client.query<{ pid: number; application_name: string; backend_type: string }>(
        'SELECT pid, application_name, backend_type FROM pg_stat_activity',
      );
      const out = new Map<number, string>([[postmasterPid, 'postmaster']]);
      for (const r of rows) out.set(r.pid, r.application_name || r.backend_type);
      return out;
    },
    close: () => client.end(),
  };
}
