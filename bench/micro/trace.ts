/**
 * Micro-benchmark: what recording one request costs from the request thread's first call
 * to the row in SQLite, in CPU per request of each thread, without HTTP around it. Each
 * request is what the `telemetry` scenario sends (a 1 KB OpenAI chat body, the mock's
 * 1 KB answer and headers): a trace is started, the request and route are set, the
 * answer goes through the tap as the relay hands it over, and `finish` builds the record
 * and capture, counts the metrics and queues them; the recorder writes them to a real
 * worker and SQLite file every 100 ms. Requests are finished at a steady rate (4,000 a
 * second, in ticks of 40), so batches are as large as under load.
 *
 * The CPU a max-load run reports per request swings with the machine by 2-3x; this path
 * alone is steadier, so it shows changes of a few µs to the recording code.
 *
 *   node build/bench/micro/trace.js [requests]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { readThreadCpu } from '../lib/procs.js';
import { compileSnapshot } from '../../src/config/snapshot.js';
import { validateConfigText } from '../../src/config/validate.js';
import { formatByFlag } from '../../src/formats/registry.js';
import { LOCAL_OWNER } from '../../src/identity/identity.js';
import { WorkerTelemetryStore } from '../../src/telemetry/store.js';
import { DEFAULT_CAPTURE_LIMIT, Telemetry } from '../../src/telemetry/telemetry.js';
import { BENCH_MODEL, chatBody } from '../lib/bodies.js';
import { DEFAULT_SHAPE, keywayConfig } from '../lib/keyway-config.js';

const REQUESTS = Number(process.argv[2] ?? 40_000);

const text = keywayConfig('http://127.0.0.1:9', DEFAULT_SHAPE);
const { config, problems } = validateConfigText(text);
if (!config) throw new Error(`bench configuration rejected: ${JSON.stringify(problems)}`);
const snapshot = compileSnapshot(text, config, problems);
const provider = snapshot.providers.get('mock')!;
const format = formatByFlag('openai_chat')!;

const body = chatBody(1024);
const json = JSON.parse(body) as Record<string, unknown>;
const answer = Buffer.from(JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', created: 1_700_000_000, model: BENCH_MODEL,
  choices: [{ index: 0, message: { role: 'assistant', content: 'the gateway forwards each request '.repeat(26) }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 250, completion_tokens: 230, total_tokens: 480 },
}));
// What wrk sends and what the mock answers with.
const req = { url: '/v1/chat/completions', headers: { host: '127.0.0.1:40000', 'content-type': 'application/json', 'content-length': String(body.length) } };
const answerHeaders = { 'content-type': 'application/json', 'content-length': String(answer.length), date: new Date().toUTCString(), connection: 'keep-alive', 'keep-alive': 'timeout=5' };

const dir = await mkdtemp(join(tmpdir(), 'keyway-micro-'));
try {
  const store = await WorkerTelemetryStore.open(join(dir, 'telemetry.db'));
  const telemetry = await Telemetry.open(store, dir, pino({ level: 'silent' }), { captureLimit: DEFAULT_CAPTURE_LIMIT }, () => snapshot);
  const one = (): Promise<unknown> => {
    const trace = telemetry.startTrace(req, LOCAL_OWNER, format, snapshot);
    trace.setRequest(json, body, BENCH_MODEL, false);
    trace.setCredential('provider', undefined);
    const tap = trace.setRoute(provider, BENCH_MODEL);
    tap.onResponseStart(200, answerHeaders);
    tap.onData(answer);
    return trace.finish({ status: 200, clientAborted: false });
  };
  const run = async (n: number) => {
    const perTick = 40;
    for (let done = 0; done < n; done += perTick) {
      const pending: Array<Promise<unknown>> = [];
      for (let i = 0; i < perTick; i++) pending.push(one());
      await Promise.all(pending);
      await new Promise((r) => setTimeout(r, 10));
    }
    await telemetry.recorder.flush();
  };
  await run(Math.min(8_000, REQUESTS / 4)); // JIT, the worker's statements, the database's first pages
  // The idle loop (timers every 10 ms, the recorder's tick) is measured alone and subtracted.
  const i0 = readThreadCpu(process.pid)!;
  const idleTicks = REQUESTS / 40;
  for (let t = 0; t < idleTicks; t++) await new Promise((r) => setTimeout(r, 10));
  const i1 = readThreadCpu(process.pid)!;
  const t0 = readThreadCpu(process.pid)!;
  await run(REQUESTS);
  await new Promise((r) => setTimeout(r, 300)); // the writer's last batch
  const t1 = readThreadCpu(process.pid)!;
  const perRequest = (a: number, b: number, idle: number) => ((a - b - idle) * 1000) / REQUESTS;
  const main = perRequest(t1.mainMs, t0.mainMs, i1.mainMs - i0.mainMs);
  const other = perRequest(t1.otherMs, t0.otherMs, i1.otherMs - i0.otherMs);
  console.log(`trace: main ${main.toFixed(2)} µs + other threads ${other.toFixed(2)} µs = ${(main + other).toFixed(2)} µs a request (${REQUESTS} requests, idle subtracted)`);
  await telemetry.close();
  await store.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
