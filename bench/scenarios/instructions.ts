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
 * A second pair counts what an entire_request event hook adds (the hooks scenario's audit
 * hook, its Node hook server outside valgrind) against the same gateway without hooks, at
 * concurrency 1 as the hooks scenario's latency rows: its main-thread count is the work an
 * event adds to the request thread, which CPU time at c=1 cannot show on a machine whose
 * other CPU is busy with the events thread and the hook server meanwhile.
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
import { BUILD_DIR, KEYWAY_CLI } from '../lib/paths.js';
import { findExecutable, freePort, httpReady, spawnChild, startService, stopChild } from '../lib/procs.js';
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
    const plain = keywayConfig(ctx.mock.url, DEFAULT_SHAPE);
    const run = (name: string, serveArgs: string[], config = plain, connections = CONNECTIONS, n = { warm, measured }) => counted(ctx, valgrind, control, { name, serveArgs, config, connections, ...n });
    // Each valgrind runs its program on one thread at a time: the two fit the two cores.
    const [on, off] = await Promise.all([run('on', []), run('off', ['--telemetry', 'off'])]);
    // The event hook at c=1.
    const hookPort = await freePort();
    const hookServer = await startService('hook-0ms', process.execPath, [join(BUILD_DIR, 'bench', 'reference', 'delay-hook.js'), String(hookPort), '0'], hookPort);
    let hooked: Counted;
    let unhooked: Counted;
    try {
      const audit = { ...DEFAULT_SHAPE, hooks: [{ id: 'audit', url: `${hookServer.url}/events`, events: ['entire_request'], send: ['request_body', 'response_body', 'tools', 'estimated_cost'] }] };
      const few = { warm: ctx.opts.quick ? 300 : 1500, measured: ctx.opts.quick ? 300 : 1000 };
      [hooked, unhooked] = await Promise.all([run('event hook', [], keywayConfig(ctx.mock.url, audit), 1, few), run('no hooks', [], plain, 1, few)]);
    } finally {
      await hookServer.stop();
    }
    const k = (n: number) => n / 1000;
    const note = `"direct" is keyway with --telemetry off; ${measured} requests after ${warm} of warm-up, ${CONNECTIONS} connections, 1 KB bodies`;
    const row = (measure: string, a: number, b: number, extra = ''): Row => ({
      scenario: this.title, measure, unit: 'k', direct: k(b), keyway: k(a), added: k(a - b), ratio: a / b, target: '–', status: 'info', note: note + extra,
    });
    const hookRow = (measure: string, a: number, b: number, extra = ''): Row => ({
      scenario: this.title, measure, unit: 'k', direct: k(b), keyway: k(a), added: k(a - b), ratio: a / b, target: '–', status: 'info',
      note: `"direct" is the same gateway without hooks (telemetry on, both); the event hook sent request, answer, tools and cost to a Node hook server outside valgrind; c=1${extra}`,
    });
    return [
      row('instructions per request, main thread', on.mainPerRequest, off.mainPerRequest),
      row('instructions per request, other threads', on.otherPerRequest, off.otherPerRequest, "; includes V8's background compiler and GC threads, which vary"),
      hookRow('instructions per request, main thread (no hooks → entire_request event hook)', hooked.mainPerRequest, unhooked.mainPerRequest),
      hookRow('instructions per request, other threads (no hooks → entire_request event hook)', hooked.otherPerRequest, unhooked.otherPerRequest, "; the events thread, and V8's background threads, which vary"),
    ];
  },
};

/** counted runs one keyway under callgrind and returns its instructions per request, main thread and the rest. */
interface CountedRun {
  name: string;
  serveArgs: string[];
  config: string;
  connections: number;
  warm: number;
  measured: number;
}

async function counted(ctx: BenchContext, valgrind: string, control: string, o: CountedRun): Promise<Counted> {
  const { name, serveArgs, warm, measured } = o;
  const dir = join(ctx.tmp, `callgrind-${name.replace(/\W+/g, '-')}`);
  await mkdir(dir, { recursive: true });
  const config = join(dir, 'config.json');
  await writeFile(config, o.config);
  const port = await freePort();
  const out = join(dir, 'callgrind.out');
  const spawned = spawnChild(valgrind, [
    '--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${out}`,
    process.execPath, KEYWAY_CLI, 'serve', '--listen', '127.0.0.1', '--port', String(port), '--config', config, '--data-dir', dir, '--log-level', 'warn', ...serveArgs,
  ]);
  try {
    await httpReady(`http://127.0.0.1:${port}/healthz`, spawned, 400_000); // valgrind starts node slowly, slower still on a busy machine
    const body = chatBody(1024);
    await send(port, body, warm, o.connections);
    // Counting starts from zero here and the counts are written out after the requests.
    await run(control, ['--zero', String(spawned.child.pid)]);
    await send(port, body, measured, o.connections);
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
  ctx.log(`    ${name}: main thread ${(main / measured / 1000).toFixed(1)} k instructions a request, other threads ${(other / measured / 1000).toFixed(1)} k`);
  return { mainPerRequest: main / measured, otherPerRequest: other / measured };
}

/**
 * send makes `count` chat requests over `connections` keep-alive connections. Under
 * valgrind keyway runs some fifty times slower, so now and then the mock closes an idle
 * connection just as keyway reuses it (a 502); a few of those are counted, not fatal.
 */
async function send(port: number, body: string, count: number, connections: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
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
    await Promise.all(Array.from({ length: connections }, worker));
  } finally {
    agent.destroy();
  }
}
