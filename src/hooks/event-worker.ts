/**
 * The hook events thread: sends entire_request and tool_call_entire_request calls, so that
 * their HTTP work (tens of microseconds of CPU a call) never runs on the thread that serves
 * requests. It holds the EventQueue and an EventClient (pipelined HTTP/1.1), and reports what happened
 * to each call in batches (see event-sender.ts for the other side).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { HookEvent } from '../config/types.js';
import { EventQueue, type EventJob, type EventQueueSettings } from './event-queue.js';
import { readBlocks, type Wire } from './event-wire.js';
import { EventClient } from './event-client.js';
import type { HookClientSettings } from './hook-client.js';
import type { CompiledHook } from './hook-plan.js';
import { PayloadBuilder } from './payload.js';
import { lowerThisThread } from '../thread-priority.js';

export interface EventWorkerData {
  client: HookClientSettings;
  events: EventQueueSettings;
}

/**
 * From the request thread: calls to send, each request's parts and calls in the flat
 * layout of event-wire.ts, with the definitions of hooks this thread has not been sent
 * yet; or a request to drain (reply `drained`). Flat, and one message per batch: a
 * message costs the sender about 10 µs whatever it holds, an object field a little more.
 */
export type ToEventWorker = { op: 'send'; hooks: Array<[number, CompiledHook]>; jobs: Wire } | { op: 'drain'; timeoutMs: number };

/**
 * The outcomes of a batch, grouped by hook, event, result and reason: how many calls, how
 * long each took, how many are done with (the rest will be retried), their payload bytes,
 * and the first failure's detail. Grouped, because a message's cost to the request
 * thread grows with every value in it.
 */
export interface OutcomeGroup {
  hook: string;
  event: HookEvent;
  result: 'delivered' | 'failed' | 'dropped';
  reason: string | null;
  detail: string | null;
  /** Milliseconds, one per call. */
  ms: Float64Array;
  /** Calls done with, and the payload bytes they held. */
  final: number;
  bytes: number;
}

export type FromEventWorker = { op: 'outcomes'; groups: OutcomeGroup[] } | { op: 'drained' };

/** How often outcomes are reported: often enough for /metrics, rarely enough to cost the request thread nothing. */
const REPORT_MS = 100;

// Events are sent after the answers they describe, never before another request (thread-priority.ts).
lowerThisThread();

const port = parentPort;
if (!port) throw new Error('the hook events worker must run in a worker thread');
const settings = workerData as EventWorkerData;
const client = new EventClient({ connectionsPerOrigin: settings.client.connectionsPerOrigin });
interface Group {
  hook: string;
  event: HookEvent;
  result: OutcomeGroup['result'];
  reason: string | null;
  detail: string | null;
  ms: number[];
  final: number;
  bytes: number;
}
let groups = new Map<string, Group>();
let timer: NodeJS.Timeout | undefined;

const hooks = new Map<number, CompiledHook>();
function report(job: EventJob, result: Group['result'], reason: string | null, detail: string | null, ms: number, final: boolean): void {
  const key = `${job.hook.id}\0${job.event}\0${result}\0${reason ?? ''}`;
  let g = groups.get(key);
  if (!g) groups.set(key, (g = { hook: job.hook.id, event: job.event, result, reason, detail, ms: [], final: 0, bytes: 0 }));
  g.ms.push(ms);
  if (final) {
    g.final++;
    g.bytes += job.size ?? job.payload.length;
  }
  timer ??= setTimeout(flush, REPORT_MS);
}
function flush(): void {
  clearTimeout(timer);
  timer = undefined;
  if (groups.size === 0) return;
  const batch: OutcomeGroup[] = [...groups.values()].map((g) => ({ ...g, ms: Float64Array.from(g.ms) }));
  groups = new Map();
  port!.postMessage({ op: 'outcomes', groups: batch } satisfies FromEventWorker);
}

const queue = new EventQueue(client, settings.events, {
  delivered: (job, ms) => report(job, 'delivered', null, null, ms, true),
  failed: (job, result, ms, retrying) => report(job, 'failed', result.reason, result.detail, ms, !retrying),
  dropped: (job) => report(job, 'dropped', null, null, 0, true),
});

port.on('message', (msg: ToEventWorker) => {
  if (msg.op === 'send') {
    for (const [n, hook] of msg.hooks) hooks.set(n, hook);
    // The payloads are written here, from the parts the request thread handed over.
    readBlocks(msg.jobs, (parts, calls) => {
      const builder = new PayloadBuilder(parts);
      for (const c of calls) {
        const hook = hooks.get(c.hook);
        if (hook) queue.push({ hook, event: c.event, payload: builder.build(c.event, c.send), attempts: 0, size: c.size });
      }
    });
    return;
  }
  void queue.drain(msg.timeoutMs).then(async () => {
    flush();
    await client.destroy();
    port.postMessage({ op: 'drained' } satisfies FromEventWorker);
  });
});
