/**
 * Micro-benchmark: what storing one request record with its capture costs, in CPU, away
 * from the noise of a max-load run. Records look like the `telemetry` scenario's (a 1 KB
 * OpenAI chat body, a 1 KB answer, the headers wrk and the mock send), ids and times grow
 * as they do under load, and batches are as large as 100 ms of max load makes them.
 *
 *   db     TelemetryDb.insert in this thread (the writer's SQLite work alone)
 *   store  the whole path: Recorder → WorkerTelemetryStore → worker thread → SQLite;
 *          CPU of the main thread and of all other threads, per record
 *
 * usage: node build/bench/micro/telemetry-write.js [db|store|both] [records] [batch]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { readThreadCpu } from '../lib/procs.js';
import { item } from '../lib/telemetry-items.js';
import { TelemetryDb, type InsertItem } from '../../src/telemetry/db/telemetry-db.js';
import { Recorder } from '../../src/telemetry/recorder.js';
import { WorkerTelemetryStore } from '../../src/telemetry/store.js';

const mode = process.argv[2] ?? 'both';
const RECORDS = Number(process.argv[3] ?? 30_000);
const BATCH = Number(process.argv[4] ?? 400);

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function benchDb(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-micro-'));
  try {
    const db = new TelemetryDb(join(dir, 'telemetry.db'));
    const warm = Math.min(5_000, RECORDS / 4);
    const run = (n: number) => {
      for (let done = 0; done < n; done += BATCH) {
        const batch: InsertItem[] = [];
        for (let i = 0; i < BATCH; i++) {
          const { record, capture } = item();
          batch.push({ record, cost: { usd: 0.001, basis: 'openai' }, capture });
        }
        db.insert(batch);
      }
    };
    run(warm);
    // Building the items is timed apart and subtracted: only the database's share counts.
    const b0 = cpuMs();
    for (let i = 0; i < RECORDS; i++) item();
    const build = cpuMs() - b0;
    const t0 = cpuMs();
    run(RECORDS);
    const total = cpuMs() - t0;
    db.close();
    console.log(`db: ${(((total - build) * 1000) / RECORDS).toFixed(2)} µs a record (batches of ${BATCH}, ${RECORDS} records)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function benchStore(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-micro-'));
  try {
    const store = await WorkerTelemetryStore.open(join(dir, 'telemetry.db'));
    const recorder = new Recorder(store, pino({ level: 'silent' }), { flushIntervalMs: 100, batchSize: 500, maxQueued: 100_000, maxQueuedCaptureBytes: 1 << 30 });
    // Submit at a steady rate (4,000 a second), as a max-load run does, so batches are real size.
    const submit = async (n: number) => {
      const perTick = 40;
      for (let done = 0; done < n; done += perTick) {
        for (let i = 0; i < perTick; i++) {
          const { record, capture } = item();
          recorder.submit(record, capture);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      await recorder.flush();
    };
    await submit(Math.min(4_000, RECORDS / 4));
    const b0 = cpuMs();
    for (let i = 0; i < RECORDS; i++) item();
    const build = cpuMs() - b0;
    const t0 = readThreadCpu(process.pid)!;
    await submit(RECORDS);
    await new Promise((r) => setTimeout(r, 300));
    const t1 = readThreadCpu(process.pid)!;
    await recorder.drain();
    await store.close();
    const main = ((t1.mainMs - t0.mainMs - build) * 1000) / RECORDS;
    const other = ((t1.otherMs - t0.otherMs) * 1000) / RECORDS;
    console.log(`store: main ${main.toFixed(2)} µs + other threads ${other.toFixed(2)} µs = ${(main + other).toFixed(2)} µs a record (${RECORDS} records; timer idle included)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (mode === 'db' || mode === 'both') await benchDb();
if (mode === 'store' || mode === 'both') await benchStore();
