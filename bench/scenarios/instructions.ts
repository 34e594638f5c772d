/**
 * Instructions per request (opt-in: --only instructions): keyway with telemetry on and
 * with `--telemetry off`, each under valgrind's callgrind, counting the instructions its
 * threads execute for a fixed number of requests after a warm-up. Unlike CPU time, the
 * count hardly moves with the machine's speed or with whatever else runs on it: the same
 * build gave 402 k and 444 k main-thread instructions a request in two runs, one on a
 * quiet and one on a very busy machine (how many requests one turn of the event loop
 * serves still depends on timing), where CPU per request at max load swings by 2-3x. So
 * it shows a change of a few percent of the recording path that the telemetry scenario
 * cannot. Instructions are not time: a cache miss costs more than an add. The main
 * thread's count is the steady one; the other threads' includes V8's background compiler
 * and GC helpers, which vary from run to run.
 *
 * Needs valgrind (Debian's package); without it the scenario reports that and stops.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chatBody } from '../lib/bodies.js';
import { DEFAULT_SHAPE, keywayConfig } from '../lib/keyway-config.js';
import { KEYWAY_CLI } from '../lib/paths.js';
import { findExecutable, freePort, httpReady, spawnChild, stopChild } from '../lib/procs.js';
import type { BenchContext, Row, Scenario } from '../lib/types.js';

const run = promisify(execFile);
/** Connections the requests are sent over: enough that keyway sees concurrent requests. */
const CONNECTIONS = 8;

interface Counted {
  mainPerRequest: number;
  otherPerRequest: number;
}

export const instructionsScenario: Scenario = {
  name: 'instructions',
  title: 'instructions per request (callgrind)',
  optIn: true,
  async run(ctx) {
    const valgrind = findExecutable('valgrind');
    const control = findExecutable('callgrind_control');
    if (!valgrind || !control) {
      ctx.log('    valgrind is not installed (apt-get install -y valgrind): nothing measured');
      return [{ scenario: this.title, measure: 'instructions per request', unit: 'k', target: '–', status: 'info', note: 'valgrind not installed' }];
    }
    const warm = ctx.opts.quick ? 500 : 3000;
    const measured = ctx.opts.quick ? 500 : 2000;
    // Each valgrind runs its program on one thread at a time: the two fit the two cores.
    const [on, off] = await Promise.all([
      counted(ctx, valgrind, control, 'on', [], warm, measured),
      counted(ctx, valgrind, control, 'off', ['--telemetry', 'off'], warm, measured),
    ]);
    const k = (n: number) => n / 1000;
    const note = `"direct" is keyway with --telemetry off; ${measured} requests after ${warm} of warm-up, ${CONNECTIONS} connections, 1 KB bodies`;
    const row = (measure: string, a: number, b: number, extra = ''): Row => ({
      scenario: this.title, measure, unit: 'k', direct: k(b), keyway: k(a), added: k(a - b), ratio: a / b, target: '–', status: 'info', note: note + extra,
    });
    return [
      row('instructions per request, main thread', on.mainPerRequest, off.mainPerRequest),
      row('instructions per request, other threads', on.otherPerRequest, off.otherPerRequest, "; includes V8's background compiler and GC threads, which vary"),
    ];
  },
};

/** counted runs one keyway under callgrind and returns its instructions per request, main thread and the rest. */
async function counted(ctx: BenchContext, valgrind: string, control: string, name: string, serveArgs: string[], warm: number, measured: number): Promise<Counted> {
  const dir = join(ctx.tmp, `callgrind-${name}`);
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'config.json');
  await writeFile(config, keywayConfig(ctx.mock.url, DEFAULT_SHAPE));
  const port = await freePort();
  const out = join(dir, 'callgrind.out');
  const spawned = spawnChild(valgrind, [
    '--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${out}`,
    process.execPath, KEYWAY_CLI, 'serve', '--listen', '127.0.0.1', '--port', String(port), '--config', config, '--data-dir', dir, '--log-level', 'warn', ...serveArgs,
  ]);
  try {
    await httpReady(`http://127.0.0.1:${port}/healthz`, spawned, 400_000); // valgrind starts node slowly, slower still on a busy machine
    const body = chatBody(1024);
    await send(port, body, warm);
    // Counting starts from zero here and the counts are written out after the requests.
    await run(control, ['--zero', String(spawned.child.pid)]);
    await send(port, body, measured);
    await new Promise((r) => setTimeout(r, 1500)); // the telemetry writer's last batch
    await run(control, ['--dump=measured', String(spawned.child.pid)]);
  } finally {
    await stopChild(spawned, 30_000);
  }
  // A dump writes one file per thread: `<out>.1-01` is the main thread.
  let main = 0;
  let other = 0;
  for (const file of await readdir(dir)) {
    const thread = /^callgrind\.out\.1-(\d+)$/.exec(file);
    if (!thread) continue;
    const ir = Number(/^summary:\s+(\d+)/m.exec(await readFile(join(dir, file), 'utf8'))?.[1] ?? 0);
    if (thread[1] === '01') main += ir;
    else other += ir;
  }
  if (main === 0) throw new Error(`callgrind wrote no counts for keyway (${name}):\n${spawned.tail()}`);
  ctx.log(`    telemetry ${name}: main thread ${(main / measured / 1000).toFixed(1)} k instructions a request, other threads ${(other / measured / 1000).toFixed(1)} k`);
  return { mainPerRequest: main / measured, otherPerRequest: other / measured };
}

/**
 * send makes `count` chat requests over CONNECTIONS keep-alive connections. Under
 * valgrind keyway runs some fifty times slower, so now and then the mock closes an idle
 * connection just as keyway reuses it (a 502); a few of those are counted, not fatal.
 */
async function send(port: number, body: string, count: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  let failed = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200 && ++failed > count / 100) reject(new Error(`keyway answered ${res.statusCode} to more than 1 % of the requests`));
          else resolve();
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  let started = 0;
  const worker = async () => {
    while (started < count) {
      started++;
      await one();
    }
  };
  try {
    await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  } finally {
    agent.destroy();
  }
}
