/**
 * The hook events thread: sends entire_request and tool_call_entire_request calls, so that
 * their HTTP work (tens of microseconds of CPU a call) never runs on the thread that serves
 * requests. It holds the EventQueue and a HookClient of its own, and reports what happened
 * to each call in batches (see event-sender.ts for the other side).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { HookEvent } from '../config/types.js';
import { EventQueue, type EventQueueSettings } from './event-queue.js';
import { HookClient, type HookClientSettings } from './hook-client.js';
import type { CompiledHook } from './hook-plan.js';

export interface EventWorkerData {
  client: HookClientSettings;
  events: EventQueueSettings;
}

/**
 * From the request thread: calls to send, as flat triples `[hook number, event, payload, …]`
 * with the definitions of hooks this thread has not been sent yet; or a request to drain
 * (reply `drained`). Flat, and one message per batch: a message costs the sender about
 * 10 µs whatever it holds, an object field a little more.
 */
export type ToEventWorker = { op: 'send'; hooks: Array<[number, CompiledHook]>; jobs: Array<number | string> } | { op: 'drain'; timeoutMs: number };

/**
 * One call's outcome: hook, event, `delivered` | `failed` | `dropped`, the failure's
 * reason and detail, milliseconds, payload bytes, and whether the call is done with
 * (false: it will be retried).
 */
export type EventOutcome = [hook: string, event: HookEvent, result: 'delivered' | 'failed' | 'dropped', reason: string | null, detail: string | null, ms: number, bytes: number, final: boolean];

export type FromEventWorker = { op: 'outcomes'; outcomes: EventOutcome[] } | { op: 'drained' };

/** How often outcomes are reported: often enough for /metrics, rarely enough to cost the request thread nothing. */
const REPORT_MS = 50;

const port = parentPort;
if (!port) throw new Error('the hook events worker must run in a worker thread');
const settings = workerData as EventWorkerData;
const client = new HookClient(settings.client);
let outcomes: EventOutcome[] = [];
let timer: NodeJS.Timeout | undefined;

const hooks = new Map<number, CompiledHook>();
const report = (o: EventOutcome) => {
  outcomes.push(o);
  timer ??= setTimeout(flush, REPORT_MS);
};
function flush(): void {
  clearTimeout(timer);
  timer = undefined;
  if (outcomes.length === 0) return;
  const batch = outcomes;
  outcomes = [];
  port!.postMessage({ op: 'outcomes', outcomes: batch } satisfies FromEventWorker);
}

const queue = new EventQueue(client, settings.events, {
  delivered: (job, ms) => report([job.hook.id, job.event, 'delivered', null, null, ms, job.payload.length, true]),
  failed: (job, result, ms, retrying) => report([job.hook.id, job.event, 'failed', result.reason, result.detail, ms, job.payload.length, !retrying]),
  dropped: (job) => report([job.hook.id, job.event, 'dropped', null, null, 0, job.payload.length, true]),
});

port.on('message', (msg: ToEventWorker) => {
  if (msg.op === 'send') {
    for (const [n, hook] of msg.hooks) hooks.set(n, hook);
    const jobs = msg.jobs;
    for (let i = 0; i + 2 < jobs.length; i += 3) {
      const hook = hooks.get(jobs[i] as number);
      if (hook) queue.push({ hook, event: jobs[i + 1] as HookEvent, payload: jobs[i + 2] as string, attempts: 0 });
    }
    return;
  }
  void queue.drain(msg.timeoutMs).then(async () => {
    flush();
    await client.destroy();
    port.postMessage({ op: 'drained' } satisfies FromEventWorker);
  });
});
