/**
 * Three keyway replicas on one PostgreSQL (a throwaway cluster, test/postgres.ts) against
 * one keyway on SQLite, on the same mock upstream: what a request costs on a replica
 * (c=1, interleaved with the SQLite keyway), throughput at a 20 ms upstream across the
 * three (the load spread evenly over them, as a round-robin balancer would) against
 * direct, and how long a configuration save on one replica takes to be reported by all
 * three. Opt-in: it starts PostgreSQL and three more gateways.
 */
import { compareRow, push, type PerRepeat } from '../lib/compare.js';
import { keywayConfig, DEFAULT_SHAPE } from '../lib/keyway-config.js';
import { latency } from '../lib/measure.js';
import { percentile } from '../lib/stats.js';
import type { LoadResult } from '../lib/load.js';
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
    try {
      const url = await pg.freshDatabase();
      const sqlite = await ctx.keyway();
      // Started together, as a deployment would: one seeds the database, the others find it seeded.
      const replicas = await Promise.all(Array.from({ length: REPLICAS }, () => ctx.startKeyway({ serveArgs: ['--database', url] })));
      return [...(await addedLatency(ctx, this.title, sqlite, replicas[0]!)), ...(await spreadThroughput(ctx, this.title, replicas, sqlite)), await propagation(ctx, this.title, replicas)];
    } finally {
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

/**
 * Requests/s at a 20 ms upstream: c=64 straight to the mock, against 64 connections spread
 * over the replicas; and, for reference on the same machine at the same time, against the
 * one SQLite keyway (what the default throughput scenario measures).
 */
async function spreadThroughput(ctx: BenchContext, title: string, replicas: Service[], sqlite: Service): Promise<Row[]> {
  const connections = 64;
  const bodyFile = await ctx.bodyFile(1024);
  const headers = { 'x-mock-scenario': 'slow=20' };
  const seconds = ctx.opts.loadSeconds;
  const run = (url: string, c: number, s = seconds) => ctx.load.run({ url: `${url}/v1/chat/completions`, headers, bodyFile, connections: c, seconds: s });
  const share = (i: number) => Math.floor(connections / replicas.length) + (i < connections % replicas.length ? 1 : 0);
  const spread = async (s = seconds): Promise<LoadResult[]> => Promise.all(replicas.map((r, i) => run(r.url, share(i), s)));
  await run(ctx.mock.url, connections, 1);
  await spread(1);
  const rps: PerRepeat = {};
  const single: PerRepeat = {};
  let failed = 0;
  for (let r = 0; r < ctx.opts.repeat; r++) {
    // Which goes first alternates, so a drift of the machine's load does not favour one.
    let direct: LoadResult;
    let parts: LoadResult[];
    if (r % 2 === 0) {
      direct = await run(ctx.mock.url, connections);
      parts = await spread();
    } else {
      parts = await spread();
      direct = await run(ctx.mock.url, connections);
    }
    const total = parts.reduce((sum, p) => sum + p.rps, 0);
    failed += direct.errors + direct.non2xx + parts.reduce((n, p) => n + p.errors + p.non2xx, 0);
    const one = await run(sqlite.url, connections);
    push(rps, 'direct', direct.rps);
    push(rps, 'keyway', total);
    push(single, 'direct', direct.rps);
    push(single, 'keyway', one.rps);
    ctx.log(`    direct ${Math.round(direct.rps)} req/s, replicas ${parts.map((p) => Math.round(p.rps)).join(' + ')} = ${Math.round(total)} req/s, one SQLite keyway ${Math.round(one.rps)} req/s`);
  }
  const note = `${connections} connections spread evenly over ${replicas.length} replicas (${ctx.load.tool})${failed ? `; failed requests: ${failed}` : ''}`;
  return [
    compareRow({ scenario: title, measure: '20 ms upstream requests/s', unit: 'req/s', target: '≥ 90 % of direct' }, rps, (c) => c.ratio! >= 0.9 && failed === 0, note),
    compareRow({ scenario: title, measure: '… one SQLite keyway, same run', unit: 'req/s', target: '–' }, single, () => 'info', 'reference: c=64 on the SQLite keyway alone, measured between the rows above'),
  ];
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
