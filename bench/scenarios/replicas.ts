/**
 * Three keyway replicas on one PostgreSQL (a throwaway cluster, test/postgres.ts) against
 * one keyway on SQLite, on the same mock upstream: what a request costs on a replica
 * (c=1, interleaved with the SQLite keyway), throughput at a 20 ms upstream across the
 * three (the load spread evenly over them by one wrk, as a round-robin balancer would)
 * against direct and against three bare Node proxies spread the same way (the floor of a
 * three-process Node deployment on this machine), with where the CPU went, and how long a configuration save on one replica takes to be reported by all
 * three. Opt-in: it starts PostgreSQL and three more gateways.
 */
import { compareRow, push, type PerRepeat } from '../lib/compare.js';
import { keywayConfig, DEFAULT_SHAPE } from '../lib/keyway-config.js';
import { latency, warmUp } from '../lib/measure.js';
import { sleep } from '../lib/procs.js';
import { percentile } from '../lib/stats.js';
import { meanProfile, profileRun, type CpuProfile, type Watched } from '../lib/cpu-profile.js';
import { creditOurs } from '../lib/cpu-watch.js';
import type { LoadResult } from '../lib/load.js';
import { postgresServer, type PgServer } from '../lib/postgres-procs.js';
import type { BenchContext, Row, Scenario, Service } from '../lib/types.js';
import { testPostgres } from '../../test/postgres.js';

const REPLICAS = 3;

export const replicasScenario: Scenario = {
  name: 'replicas',
  title: '3 replicas on PostgreSQL',
  optIn: true,
  async run(ctx) {
    const pg = await testPostgres();
    if ('skip' in pg) return [{ scenario: this.title, measure: 'all', unit: '', target: '', status: 'skipped', note: pg.skip }];
    let server: PgServer | undefined;
    try {
      const url = await pg.freshDatabase();
      const sqlite = await ctx.keyway();
      // Started together, as a deployment would: one seeds the database, the others find it seeded.
      const replicas = await Promise.all(Array.from({ length: REPLICAS }, () => ctx.startKeyway({ serveArgs: ['--database', url] })));
      server = await postgresServer(pg.adminUrl);
      const latencyRows = await addedLatency(ctx, this.title, sqlite, replicas[0]!);
      const bares = await Promise.all(Array.from({ length: REPLICAS }, () => ctx.startBare()));
      try {
        return [...latencyRows, ...(await spreadThroughput(ctx, this.title, replicas, bares, sqlite, server)), await propagation(ctx, this.title, replicas)];
      } finally {
        await Promise.all(bares.map((b) => b.stop()));
      }
    } finally {
      // PostgreSQL is no child of the suite: its CPU is the suite's, not other programs'.
      if (server) creditOurs(server.read().totalMs / 10);
      await server?.close();
      await pg.stop();
    }
  },
};

/** The replica's p50 and p99 beside the SQLite keyway's, measured interleaved by one client. */
async function addedLatency(ctx: BenchContext, title: string, sqlite: Service, replica: Service): Promise<Row[]> {
  // The table's `direct` column is the SQLite keyway here and `keyway` the replica, so `added` is the difference.
  const targets = [{ name: 'direct' as const, url: sqlite.url }, { name: 'keyway' as const, url: replica.url }];
  const p50: PerRepeat = {};
  const p99: PerRepeat = {};
  for (let r = 0; r < ctx.opts.repeat; r++) {
    const res = await latency(ctx, { targets, bodyBytes: 1024, warmup: 200, requests: ctx.opts.quick ? 500 : 1500 });
    push(p50, 'direct', res.direct!.ms.p50);
    push(p50, 'keyway', res.keyway!.ms.p50);
    push(p99, 'direct', res.direct!.ms.p99);
    push(p99, 'keyway', res.keyway!.ms.p99);
    ctx.log(`    repeat ${r + 1}: SQLite p50 ${res.direct!.ms.p50.toFixed(3)} ms, replica p50 ${res.keyway!.ms.p50.toFixed(3)} ms`);
  }
  const note = 'c=1, 1 KB; direct column = keyway on SQLite, keyway column = a replica on PostgreSQL';
  return [
    compareRow({ scenario: title, measure: 'latency p50 vs SQLite', unit: 'ms', target: 'added ≤ 0.05 ms' }, p50, (c) => c.added! <= 0.05, note),
    compareRow({ scenario: title, measure: 'latency p99 vs SQLite', unit: 'ms', target: '–' }, p99, () => 'info', note),
  ];
}

/** wrk divides connections evenly between its threads: 21 a replica, and the same 63 on every run. */
const CONNECTIONS = 63;
/** One load-generator thread per replica, and as many on the runs it is compared with. */
const THREADS = REPLICAS;
/** Seconds of no load over which the replicas' periodic work is measured. */
const IDLE_S = 5;

/**
 * Requests/s at a 20 ms upstream: 63 connections straight to the mock, against the same 63
 * spread evenly over the replicas by one wrk (a thread a replica, as a round-robin balancer
 * would spread them); and, for reference on the same machine at the same time, against
 * three bare Node proxies spread the same way (what three Node processes that only forward
 * bytes reach here: the table's *bare node* column) and against the one SQLite keyway
 * (what the default throughput scenario measures). Each of the three is
 * loaded by one wrk with the same number of threads, so the load generator costs each run
 * the same. Where the CPU went is logged per part (bench/lib/cpu-profile.ts).
 */
async function spreadThroughput(ctx: BenchContext, title: string, replicas: Service[], bares: Service[], sqlite: Service, pgServer: PgServer | undefined): Promise<Row[]> {
  const bodyFile = await ctx.bodyFile(1024);
  const headers = { 'x-mock-scenario': 'slow=20' };
  const seconds = ctx.opts.loadSeconds;
  const path = '/v1/chat/completions';
  const run = (url: string, s = seconds) => ctx.load.run({ url: `${url}${path}`, headers, bodyFile, connections: CONNECTIONS, threads: THREADS, seconds: s });
  const spreadOver = (targets: Service[], s: number) => ctx.load.run({ url: `${targets[0]!.url}${path}`, spread: targets.map((r) => r.url), headers, bodyFile, connections: CONNECTIONS, threads: THREADS, seconds: s });
  const spread = (s = seconds) => spreadOver(replicas, s);
  await run(ctx.mock.url, 1);
  // Each replica's JIT, pools and PostgreSQL backends warm up on their own, so the spread
  // load runs until its figure settles; the SQLite keyway the same way.
  await warmUp(ctx, 'replicas', spread);
  await warmUp(ctx, 'SQLite keyway', (s) => run(sqlite.url, s));
  await warmUp(ctx, 'bare Node proxies', (s) => spreadOver(bares, s));
  const replicaWatch: Watched = { processes: [...replicas.map((r, i) => ({ label: `replica ${i + 1}`, pid: r.pid })), { label: 'mock', pid: ctx.mock.pid }], pg: pgServer };
  const sqliteWatch: Watched = { processes: [{ label: 'SQLite keyway', pid: sqlite.pid }, { label: 'mock', pid: ctx.mock.pid }] };
  // What the replicas do when nobody calls: their periodic work (telemetry flush, quota
  // read-back, config hash read, LISTEN) and PostgreSQL's answers to it.
  const idle = await profileRun(replicaWatch, async () => {
    await sleep(IDLE_S * 1000);
    return { requests: 1 };
  });
  ctx.log(`    idle ${IDLE_S} s, CPU of the periodic work: ${[...idle.profile.perRequestUs].filter(([k]) => !k.startsWith('mock')).map(([k, us]) => `${k} ${(us / 1000 / IDLE_S).toFixed(1)} ms/s`).join(', ') || 'none measurable'}`);
  const rps: PerRepeat = {};
  const single: PerRepeat = {};
  const replicaCpu: CpuProfile[] = [];
  const sqliteCpu: CpuProfile[] = [];
  let failed = 0;
  const spreadRun = async () => {
    const { result, profile } = await profileRun(replicaWatch, () => spread());
    replicaCpu.push(profile);
    return result;
  };
  for (let r = 0; r < ctx.opts.repeat; r++) {
    // Which goes first alternates, so a drift of the machine's load does not favour one.
    let direct: LoadResult;
    let parts: LoadResult;
    if (r % 2 === 0) {
      direct = await run(ctx.mock.url);
      parts = await spreadRun();
    } else {
      parts = await spreadRun();
      direct = await run(ctx.mock.url);
    }
    const { result: one, profile } = await profileRun(sqliteWatch, () => run(sqlite.url));
    sqliteCpu.push(profile);
    const bare = await spreadOver(bares, seconds);
    failed += direct.errors + direct.non2xx + parts.errors + parts.non2xx + one.errors + one.non2xx;
    push(rps, 'direct', direct.rps);
    push(rps, 'keyway', parts.rps);
    push(rps, 'bare', bare.rps);
    push(single, 'direct', direct.rps);
    push(single, 'keyway', one.rps);
    ctx.log(`    direct ${Math.round(direct.rps)} req/s, ${replicas.length} replicas ${Math.round(parts.rps)} req/s (${(parts.rps / direct.rps * 100).toFixed(0)} %), one SQLite keyway ${Math.round(one.rps)} req/s (${(one.rps / direct.rps * 100).toFixed(0)} %), ${bares.length} bare Node proxies ${Math.round(bare.rps)} req/s (${(bare.rps / direct.rps * 100).toFixed(0)} %)`);
  }
  logProfile(ctx, `${replicas.length} replicas`, replicaCpu);
  logProfile(ctx, 'one SQLite keyway', sqliteCpu);
  const note = `${CONNECTIONS} connections, one ${ctx.load.tool} with ${THREADS} threads on every run; the replicas' (and the ${bares.length} bare Node proxies', the *bare node* column) spread evenly over the ${replicas.length}${failed ? `; failed requests: ${failed}` : ''}`;
  return [
    compareRow({ scenario: title, measure: '20 ms upstream requests/s', unit: 'req/s', target: '≥ 90 % of direct' }, rps, (c) => c.ratio! >= 0.9 && failed === 0, note),
    compareRow({ scenario: title, measure: '… one SQLite keyway, same run', unit: 'req/s', target: '–' }, single, () => 'info', `reference: ${CONNECTIONS} connections on the SQLite keyway alone, measured between the rows above`),
  ];
}

/** logProfile prints the mean CPU per request by part over the measured runs. */
function logProfile(ctx: BenchContext, what: string, profiles: readonly CpuProfile[]): void {
  const parts = meanProfile(profiles);
  const total = profiles.reduce((s, p) => s + p.totalUs, 0) / Math.max(1, profiles.length);
  ctx.log(`    CPU per request, ${what}: ${total.toFixed(0)} µs in all`);
  for (const [part, us] of parts) ctx.log(`      ${part.padEnd(40)} ${us.toFixed(1).padStart(7)} µs`);
}

/** Save on one replica (in turn), then poll all three until each reports the new hash. */
async function propagation(ctx: BenchContext, title: string, replicas: Service[]): Promise<Row> {
  const saves = ctx.opts.quick ? 20 : 100;
  const base = keywayConfig(ctx.mock.url, DEFAULT_SHAPE);
  const hashOf = async (s: Service) => ((await (await fetch(`${s.url}/api/config`)).json()) as { hash: string }).hash;
  const times: number[] = [];
  let hash = await hashOf(replicas[0]!);
  for (let i = 0; i < saves; i++) {
    const on = replicas[i % replicas.length]!;
    const res = await fetch(`${on.url}/api/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config: `${base}\n// save ${i}\n`, hash }) });
    if (res.status !== 200) throw new Error(`save ${i} on ${on.url}: ${res.status} ${await res.text()}`);
    const started = performance.now();
    hash = ((await res.json()) as { hash: string }).hash;
    const pending = new Set(replicas);
    while (pending.size > 0) {
      for (const s of [...pending]) if ((await hashOf(s)) === hash) pending.delete(s);
      if (performance.now() - started > 10_000) throw new Error(`save ${i}: not on every replica after 10 s`);
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 2));
    }
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const p50 = percentile(times, 50);
  const p99 = percentile(times, 99);
  ctx.log(`    propagation over ${saves} saves: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms`);
  return {
    scenario: title,
    measure: `config propagation p99 (${saves} saves)`,
    unit: 'ms',
    keyway: p99,
    target: '≤ 1000 ms',
    status: p99 <= 1000 ? 'meets' : 'misses',
    note: `save on one replica until all ${replicas.length} report its hash; p50 ${p50.toFixed(1)} ms, max ${times.at(-1)!.toFixed(1)} ms`,
    detail: { times },
  };
}
