/**
 * keyway replicas as real processes for the scale-out tests: `keyway serve --database URL`
 * each in its own data folder, on a port of its own, killed with SIGTERM or SIGKILL like a
 * load balancer's target would be.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

export interface Replica {
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** Every log line the replica wrote (JSON, one per line). */
  logs: string[];
  /** kill sends a signal and waits for the process to end; its exit code or signal. */
  kill(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
}

export interface ReplicaOptions {
  /** Passed as `--database`; undefined leaves it to the environment (`env.KEYWAY_DATABASE_URL`). */
  databaseUrl: string | undefined;
  /** Extra flags after `serve` (e.g. ['--config', file]). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Reuse a data folder (a restart); a new temporary one by default. */
  dataDir?: string;
  /** How long to wait for "keyway listening" (default 30 s). */
  timeoutMs?: number;
}

/** startReplica starts one replica and resolves when it listens. */
export async function startReplica(opts: ReplicaOptions): Promise<Replica> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'keyway-replica-')));
  const child = spawn(process.execPath, [CLI, 'serve', ...(opts.databaseUrl === undefined ? [] : ['--database', opts.databaseUrl]), '--data-dir', dataDir, '--port', '0', '--log-level', 'info', ...(opts.args ?? [])], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | NodeJS.Signals>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code ?? 0)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica did not listen within ${opts.timeoutMs ?? 30_000} ms:\n${logs.join('\n')}`)), opts.timeoutMs ?? 30_000);
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        logs.push(line);
        if (!line.includes('"keyway listening"')) return;
        try {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { url: string }).url);
        } catch (err) {
          reject(err as Error);
        }
      });
    }
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`replica exited (${how}) before listening:\n${logs.join('\n')}`));
    });
  });
  return {
    url,
    dataDir,
    child,
    logs,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** startReplicas starts `n` replicas at once (as a deployment would) on one database. */
export function startReplicas(n: number, opts: ReplicaOptions): Promise<Replica[]> {
  return Promise.all(Array.from({ length: n }, () => startReplica(opts)));
}

/** stopAll stops replicas (SIGTERM) and removes their temporary data folders. */
export async function stopAll(replicas: Replica[]): Promise<void> {
  await Promise.all(replicas.map((r) => r.kill('SIGTERM')));
  await Promise.all(replicas.map((r) => rm(r.dataDir, { recursive: true, force: true })));
}
