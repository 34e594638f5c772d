/**
 * Micro-benchmark: what storing request records costs on PostgreSQL (`--database`), in
 * CPU of this process (the writer's side: building the statements, the driver) and of the
 * server's backends, per record, away from the noise of the replicas scenario. Records
 * and captures are telemetry-write.ts's, batches as large as 100 ms of a replica's load.
 *
 *   with      records and their captures (the default settings)
 *   without   records only (`--capture-limit 0`)
 *
 * usage: node build/bench/micro/pg-write.js [with|without|both] [records] [batch]
 */
import { postgresServer } from '../lib/postgres-procs.js';
import { testPostgres } from '../../test/postgres.js';
import { PgTelemetryDb } from '../../src/telemetry/pg/telemetry-pg.js';
import { encodeCapture } from '../../src/telemetry/capture-bytes.js';
import type { InsertItem } from '../../src/telemetry/db/telemetry-db.js';
import { item } from '../lib/telemetry-items.js';

const mode = process.argv[2] ?? 'both';
const RECORDS = Number(process.argv[3] ?? 20_000);
const BATCH = Number(process.argv[4] ?? 100);

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function run(withCaptures: boolean, url: string, adminUrl: string): Promise<void> {
  const db = await PgTelemetryDb.open(url);
  const server = await postgresServer(adminUrl);
  if (!server) throw new Error('PostgreSQL is not on this machine: its CPU cannot be read');
  const batches: InsertItem[][] = [];
  for (let i = 0; i < RECORDS; i += BATCH) {
    const batch: InsertItem[] = [];
    for (let j = 0; j < BATCH; j++) {
      const { record, capture } = item();
      batch.push({ record, cost: { usd: 0.001, basis: 'openai' }, capture: withCaptures ? encodeCapture(capture) : null });
    }
    batches.push(batch);
  }
  // Warm-up: the statements prepared, the tables' first pages.
  for (const b of batches.splice(0, Math.min(5, batches.length - 1))) await db.insert(b);
  const records = batches.reduce((n, b) => n + b.length, 0);
  const pgBefore = server.read().totalMs;
  const before = cpuMs();
  const t0 = performance.now();
  for (const b of batches) await db.insert(b);
  const wall = performance.now() - t0;
  const own = cpuMs() - before;
  const pgMs = server.read().totalMs - pgBefore;
  const per = (ms: number) => ((ms * 1000) / records).toFixed(1);
  console.log(`${withCaptures ? 'with captures   ' : 'without captures'}: ${records} records in batches of ${BATCH}: writer ${per(own)} µs, PostgreSQL ${per(pgMs)} µs a record (${per(wall)} µs wall)`);
  await server.close();
  await db.close();
}

const pg = await testPostgres();
if ('skip' in pg) {
  console.log(`skipped: ${pg.skip}`);
} else {
  try {
    for (const w of mode === 'both' ? [true, false] : [mode === 'with']) {
      for (let r = 0; r < 3; r++) await run(w, await pg.freshDatabase(), pg.adminUrl);
    }
  } finally {
    await pg.stop();
  }
}
