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
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BACKGROUND_STEPS, lowerThisThread } from '../src/thread-priority.js';
import { WorkerTelemetryStore } from '../src/telemetry/store.js';

const linux = process.platform === 'linux';
const run = promisify(execFile);

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
  const before = threadNices().get(process.pid);
  assert.equal(lowerThisThread(), false);
  assert.equal(threadNices().get(process.pid), before);
});

test('a worker thread lowers itself, and only itself', { skip: !linux && 'Linux only' }, async () => {
  const main = threadNices().get(process.pid)!;
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
  assert.deepEqual(answer, { lowered: true, nice: Math.min(19, main + BACKGROUND_STEPS) });
  assert.equal(threadNices().get(process.pid), main, 'the process itself keeps its priority');
});

test('the telemetry writer runs below the request thread', { skip: !linux && 'Linux only' }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-nice-'));
  const before = new Set(threadNices().keys());
  const main = threadNices().get(process.pid)!;
  const store = await WorkerTelemetryStore.open(join(dir, 'keyway.db'));
  try {
    await store.status(); // the worker has started and answered
    const lowered = [...threadNices()].filter(([tid, nice]) => !before.has(tid) && nice === Math.min(19, main + BACKGROUND_STEPS));
    assert.equal(lowered.length, 1, 'one new thread ten steps below the process: the writer');
    assert.equal(threadNices().get(process.pid), main, 'the request thread keeps its priority');
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the steps count from the process: started five steps lower, a background thread runs ten below that', { skip: !linux && 'Linux only' }, async () => {
  const url = new URL('../src/thread-priority.js', import.meta.url).href;
  const script = `
    import { readFileSync } from 'node:fs';
    import { Worker } from 'node:worker_threads';
    const niceOf = (path) => { const stat = readFileSync(path, 'utf8'); return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]); };
    const w = new Worker(\`
      const { lowerThisThread } = await import(\${JSON.stringify(${JSON.stringify(url)})});
      const { readFileSync } = await import('node:fs');
      const { parentPort } = await import('node:worker_threads');
      lowerThisThread();
      const stat = readFileSync('/proc/thread-self/stat', 'utf8');
      parentPort.postMessage(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));\`, { eval: true, type: 'module' });
    w.once('message', (nice) => { console.log(JSON.stringify({ process: niceOf('/proc/self/stat'), thread: nice })); process.exit(0); });`;
  const ours = threadNices().get(process.pid)!;
  const { stdout } = await run('nice', ['-n', '5', process.execPath, '--input-type=module', '-e', script]);
  const seen = JSON.parse(stdout.trim()) as { process: number; thread: number };
  assert.equal(seen.process, Math.min(19, ours + 5));
  assert.equal(seen.thread, Math.min(19, seen.process + BACKGROUND_STEPS)); // 15 from a process at nice 0
});
