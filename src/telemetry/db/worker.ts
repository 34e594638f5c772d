/**
 * The telemetry worker thread: owns the SQLite database and prices requests, so neither
 * disk writes, queries nor price lookups ever run on the thread that serves requests.
 * Speaks a small request/response protocol over its parent port (see store.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { estimateCost } from '../pricing.js';
import type { Capture, RequestRecord, StoredRequest } from '../record.js';
import { TelemetryDb, type GroupBy, type QueryFilter } from './telemetry-db.js';

export type WorkerRequest =
  | { op: 'insert'; items: Array<{ record: RequestRecord; capture: Capture | null }> }
  | { op: 'usage'; filter: QueryFilter; groupBy?: GroupBy }
  | { op: 'requests'; filter: QueryFilter; limit: number; before?: string }
  | { op: 'usageTable'; filter: QueryFilter }
  | { op: 'request'; id: string }
  | { op: 'sessions'; filter: QueryFilter; limit: number }
  | { op: 'purge'; capturesBefore?: number; toolsBefore?: number }
  | { op: 'close' };

export type WorkerMessage = { id: number; request: WorkerRequest };
export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

const port = parentPort;
if (!port) throw new Error('telemetry worker must run in a worker thread');
const db = new TelemetryDb((workerData as { path: string }).path);

function handle(req: WorkerRequest): unknown {
  switch (req.op) {
    case 'insert':
      const items = req.items.map(({ record, capture }) => ({ request: priced(record), capture }));
      db.insert(items);
      return items.map((i) => i.request.costUsd);
    case 'usage':
      return db.usage(req.filter, req.groupBy);
    case 'requests':
      return db.requests(req.filter, req.limit, req.before);
    case 'usageTable':
      return db.usageTable(req.filter);
    case 'request':
      return db.request(req.id) ?? null;
    case 'sessions':
      return db.sessions(req.filter, req.limit);
    case 'purge':
      return db.purge(req.capturesBefore, req.toolsBefore);
    case 'close':
      db.close();
      return true;
  }
}

function priced(record: RequestRecord): StoredRequest {
  const { pricing, ...rest } = record;
  const cost = pricing && record.usage ? estimateCost(pricing, record.usage) : null;
  return { ...rest, costUsd: cost?.usd ?? null, costBasis: cost?.basis ?? null, toolCallCount: record.toolCalls.length };
}

port.on('message', (msg: WorkerMessage) => {
  let reply: WorkerReply;
  try {
    reply = { id: msg.id, ok: true, result: handle(msg.request) };
  } catch (err) {
    reply = { id: msg.id, ok: false, error: (err as Error).message };
  }
  port.postMessage(reply);
  if (msg.request.op === 'close') port.close();
});
