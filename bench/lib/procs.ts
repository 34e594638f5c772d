/**
 * Process management: every server and every load generator runs in its own process,
 * on 127.0.0.1 only. Each child is registered so that any exit of the runner (normal
 * end, error, Ctrl-C) kills it; every wait has a deadline, so nothing runs forever.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import type { Service } from './types.js';

const live = new Set<ChildProcess>();
const scratch = new Set<string>();
const TAIL_BYTES = 8192;

/** removeOnExit registers a temporary folder that killAll deletes. */
export function removeOnExit(dir: string): void {
  scratch.add(dir);
}

/** killAll sends SIGKILL to every child still running and deletes registered folders (on any exit). */
export function killAll(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
  scratch.clear();
}

/** livePids lists the children still running (for CPU accounting). */
export function livePids(): number[] {
  const out: number[] = [];
  for (const child of live) if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) out.push(child.pid);
  return out;
}

/** freePort asks the kernel for an unused port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** findExecutable returns the full path of `name` on PATH (or in /usr/sbin), or undefined. */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A Spawned child keeps the tail of its output for error messages. */
export interface Spawned {
  child: ChildProcess;
  /** The last few KB of stdout and stderr together. */
  tail(): string;
  /** exited resolves with the exit code (or the signal name) when the child ends. */
  exited: Promise<number | string>;
}

/** spawnChild starts `cmd args` with piped output and registers it for cleanup. */
export function spawnChild(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Spawned {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  live.add(child);
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (err) => {
      tail += `\n${err.message}`;
      live.delete(child);
      resolve('spawn-error');
    });
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  return { child, tail: () => tail, exited };
}

/**
 * stopChild sends `signal`, waits up to `graceMs` for the exit, then sends SIGKILL.
 * It resolves once the child is gone.
 */
export async function stopChild(s: Spawned, graceMs = 5000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const { child } = s;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await s.exited;
  clearTimeout(timer);
}

/** httpReady polls `url` until any HTTP answer arrives; it fails on timeout or child exit. */
export async function httpReady(url: string, s: Spawned, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void s.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`process for ${url} exited during startup:\n${s.tail()}`);
    if (await answers(url)) return;
    await sleep(50);
  }
  throw new Error(`nothing answered at ${url} within ${timeoutMs} ms:\n${s.tail()}`);
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(true));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** startService spawns a server, waits until `readyPath` answers and wraps it as a Service. */
export async function startService(
  name: string,
  cmd: string,
  args: readonly string[],
  port: number,
  readyPath = '/',
  stopSignal: NodeJS.Signals = 'SIGTERM',
  env?: NodeJS.ProcessEnv,
): Promise<Service & { spawned: Spawned }> {
  const url = `http://127.0.0.1:${port}`;
  const spawned = spawnChild(cmd, args, env);
  try {
    await httpReady(url + readyPath, spawned);
  } catch (err) {
    await stopChild(spawned, 1000);
    throw err;
  }
  return {
    name,
    url,
    port,
    pid: spawned.child.pid!,
    spawned,
    stop: () => stopChild(spawned, 5000, stopSignal),
  };
}

/** Memory of a process in MiB, from /proc/<pid>/status: resident now and its peak. */
export interface Memory {
  rssMb: number;
  hwmMb: number;
}

/** readMemory reads VmRSS and VmHWM of `pid`; undefined when /proc has no such process. */
export function readMemory(pid: number): Memory | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (key: string): number => {
    const at = text.indexOf(`${key}:`);
    return at < 0 ? Number.NaN : Number.parseInt(text.slice(at + key.length + 1), 10);
  };
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

/** CPU time a process has used, in milliseconds: its main thread, and all its other threads. */
export interface ThreadCpu {
  mainMs: number;
  otherMs: number;
}

/**
 * readThreadCpu sums user + system time from /proc/<pid>/task/<tid>/stat. The main thread
 * is the one whose id is the process id; for keyway the others are mostly the telemetry
 * (SQLite) worker, V8's GC helpers and libuv's pool. Undefined when the process is gone.
 */
export function readThreadCpu(pid: number): ThreadCpu | undefined {
  const threads = readThreadTimes(pid);
  if (!threads) return undefined;
  const out: ThreadCpu = { mainMs: 0, otherMs: 0 };
  for (const [tid, ms] of threads) {
    if (tid === String(pid)) out.mainMs += ms;
    else out.otherMs += ms;
  }
  return out;
}

/**
 * readThreadTimes returns each thread's user + system time in milliseconds, by thread id,
 * so that a thread started between two readings (keyway's hook events thread, which starts
 * with the first event) can be told apart. Undefined when the process is gone.
 */
export function readThreadTimes(pid: number): Map<string, number> | undefined {
  const msPerTick = 1000 / 100; // USER_HZ is 100 on Linux
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const out = new Map<string, number>();
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(tid, (Number(fields[11]) + Number(fields[12])) * msPerTick);
  }
  return out;
}

/** runJsonChild runs a child to its end and parses the last stdout line that starts with `{`. */
export async function runJsonChild<T>(cmd: string, args: readonly string[], timeoutMs: number): Promise<T> {
  const spawned = spawnChild(cmd, args);
  let out = '';
  spawned.child.stdout!.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  const timer = setTimeout(() => spawned.child.kill('SIGKILL'), timeoutMs);
  const code = await spawned.exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${cmd} ${args.slice(0, 2).join(' ')} … ended with ${code}:\n${spawned.tail()}`);
  const line = out.split('\n').reverse().find((l) => l.startsWith('{'));
  if (line === undefined) throw new Error(`${cmd} printed no JSON result:\n${spawned.tail()}`);
  return JSON.parse(line) as T;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
