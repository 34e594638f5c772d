/**
 * Background threads below requests (src/thread-priority.ts): the telemetry writer and the
 * hook events thread lower their own nice value, on Linux; the request thread never does.
 * Read back from /proc, where the kernel keeps each thread's nice value.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { BACKGROUND_NICE, lowerThisThread } from '../src/thread-priority.js';
import { WorkerTelemetryStore } from '../src/telemetry/store.js';

const linux = process.platform === 'linux';

/** The nice value of every thread of this process, by thread id. */
function threadNices(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return out;
}

test('the main thread is never lowered', { skip: !linux && 'Linux only' }, () => {
  assert.equal(lowerThisThread(), false);
  assert.equal(threadNices().get(process.pid), 0);
});

test('a worker thread lowers itself, and only itself', { skip: !linux && 'Linux only' }, async () => {
  const url = new URL('../src/thread-priority.js', import.meta.url).href;
  const worker = new Worker(
    `const { lowerThisThread } = await import(${JSON.stringify(url)});
     const { readFileSync } = await import('node:fs');
     const { parentPort } = await import('node:worker_threads');
     const lowered = lowerThisThread();
     const stat = readFileSync('/proc/thread-self/stat', 'utf8');
     parentPort.postMessage({ lowered, nice: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]) });`,
    { eval: true, type: 'module' } as never,
  );
  const answer = await new Promise<{ lowered: boolean; nice: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assert.deepEqual(answer, { lowered: true, nice: BACKGROUND_NICE });
  assert.equal(threadNices().get(process.pid), 0, 'the process itself keeps its priority');
});

test('the telemetry writer runs below the request thread', { skip: !linux && 'Linux only' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-nice-'));
  const before = new Set(threadNices().keys());
  const store = await WorkerTelemetryStore.open(join(dir, 'keyway.db'));
  try {
    await store.status(); // the worker has started and answered
    const lowered = [...threadNices()].filter(([tid, nice]) => !before.has(tid) && nice === BACKGROUND_NICE);
    assert.equal(lowered.length, 1, 'one new thread at nice 10: the writer');
    assert.equal(threadNices().get(process.pid), 0);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
