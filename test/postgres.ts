/**
 * A real PostgreSQL for the tests: a throwaway cluster that Debian's (or any) PostgreSQL
 * binaries start on a loopback port, or the server named by KEYWAY_TEST_DATABASE_URL.
 * Each test asks for a fresh database of its own, so tests never see each other's rows.
 *
 * PostgreSQL refuses to run as root, and CI runs as root: then the cluster runs as the
 * unprivileged `nobody` (spawned with its uid and gid, so no user has to be created).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';


export interface TestPostgres {
  /** A URL of the server's `postgres` database, for administration. */
  adminUrl: string;
  /** freshDatabase creates an empty database and returns its URL. */
  freshDatabase(): Promise<string>;
  /** stop stops a cluster this process started (a server from the environment is left running). */
  stop(): Promise<void>;
}

/** Why there is no PostgreSQL here, for a test's skip message; undefined when there is one. */
export type Unavailable = { skip: string };

/** postgresBinDir finds initdb and pg_ctl: PG_BINDIR, Debian's versioned folders (newest first), or PATH. */
export function postgresBinDir(): string | undefined {
  const candidates: string[] = [];
  if (process.env.PG_BINDIR) candidates.push(process.env.PG_BINDIR);
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(join(debian, v, 'bin'));
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) candidates.push(dir);
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
}

/**
 * testPostgres returns the server named by KEYWAY_TEST_DATABASE_URL, or starts a cluster;
 * without either it returns why not, so the caller can skip with that message.
 */
export async function testPostgres(): Promise<TestPostgres | Unavailable> {
  const fromEnv = process.env.KEYWAY_TEST_DATABASE_URL;
  if (fromEnv) return server(fromEnv, async () => {});
  const bin = postgresBinDir();
  if (!bin) {
    return { skip: 'PostgreSQL is not installed (no initdb/pg_ctl) and KEYWAY_TEST_DATABASE_URL is unset; `apt-get install -y postgresql` or set the variable' };
  }
  return startCluster(bin);
}

/** startCluster initialises and starts a cluster in a temporary folder. */
export async function startCluster(bin: string): Promise<TestPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  // nobody/nogroup on Debian; the folder must belong to the user the server runs as.
  const ids = asRoot ? { uid: 65534, gid: 65534 } : {};
  if (asRoot) await chown(dir, 65534, 65534);
  const port = await freePort();
  const exec = (cmd: string, args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(join(bin, cmd), args, { ...ids, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', LANG: 'C.UTF-8' } });
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c));
      child.stderr.on('data', (c: Buffer) => (output += c));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${output.slice(-2000)}`))));
    });
  await exec('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const options = [
    `-p ${port}`,
    `-c listen_addresses=127.0.0.1`,
    `-c unix_socket_directories=${dir}`,
    // A test cluster: durability is not the point, speed is.
    `-c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
    `-c max_connections=200`,
  ].join(' ');
  await exec('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
  return server(`postgres://postgres@127.0.0.1:${port}/postgres`, stop);
}

function server(adminUrl: string, stop: () => Promise<void>): TestPostgres {
  let n = 0;
  return {
    adminUrl,
    stop,
    async freshDatabase() {
      const name = `keyway_test_${process.pid}_${Date.now().toString(36)}_${n++}`;
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

// Kept for the launcher: a shell-free way to tell whether a URL answers.
export async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

