/**
 * The telemetry worker thread: owns the database (SQLite, or PostgreSQL with
 * `--database`: workerData says which) and prices requests, so neither writes, queries
 * nor price lookups ever run on the thread that serves requests. Speaks a small
 * request/response protocol over its parent port (see store.ts); the PostgreSQL backend
 * answers with promises, which the protocol already carries.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { estimateCost } from '../pricing.js';
import type { ChatMessage, Conversation, ConversationPatch, MessageStatus } from './conversations-db.js';
import { TelemetryDb, type AdoptionBucket, type GroupBy, type QueryFilter } from './telemetry-db.js';
import { unpackBatch, type WireBatch } from './wire.js';
import type { PgTelemetryDb } from '../pg/telemetry-pg.js';
import { unreachable } from '../../pg/errors.js';
import type { QuotaBalanceChange, QuotaHistoryFilter } from '../store.js';
import { lowerThisThread } from '../../thread-priority.js';

export type WorkerRequest =
  | ({ op: 'insert' } & WireBatch)
  | { op: 'usage'; filter: QueryFilter; groupBy?: GroupBy }
  | { op: 'requests'; filter: QueryFilter; limit: number; before?: string }
  | { op: 'usageTable'; filter: QueryFilter }
  | { op: 'request'; id: string }
  | { op: 'sessions'; filter: QueryFilter; limit: number }
  | { op: 'toolUse'; filter: QueryFilter; bucketMs: number }
  | { op: 'adoption'; filter: QueryFilter; bucket: AdoptionBucket }
  | { op: 'purge'; capturesBefore?: number; toolsBefore?: number; onlyExported?: boolean }
  | { op: 'export.next'; limit: number; now: number }
  | { op: 'export.commit'; keySeconds: number; toSeq: number; now: number }
  | { op: 'export.state' }
  | { op: 'quota.history'; filter: QuotaHistoryFilter }
  | { op: 'quota.load' }
  | { op: 'quota.save'; changes: QuotaBalanceChange[]; forget: string[] }
  | { op: 'chat.list'; login: string }
  | { op: 'chat.create'; login: string; conversation: Conversation }
  | { op: 'chat.get'; login: string; id: string }
  | { op: 'chat.update'; login: string; id: string; patch: ConversationPatch; now: number }
  | { op: 'chat.delete'; login: string; id: string }
  | { op: 'chat.append'; login: string; id: string; messages: ChatMessage[]; dropLast: number; now: number }
  | { op: 'chat.finish'; login: string; id: string; messageId: string; content: string; status: MessageStatus; error: string | null; requestId: string | null }
  | { op: 'status' }
  | { op: 'secret'; candidate: string }
  | { op: 'close' };

export type WorkerMessage = { id: number; request: WorkerRequest };
/**
 * `recycled`: an insert's capture buffer, sent back for the next batch to be written into.
 * `unavailable`: the error is PostgreSQL being out of reach, not the request (a 503).
 */
export type WorkerReply = ({ id: number; ok: true; result: unknown } | { id: number; ok: false; error: string; unavailable?: boolean }) & { recycled?: ArrayBuffer };

// Writing telemetry waits for the requests it records (thread-priority.ts).
lowerThisThread();

const port = parentPort;
if (!port) throw new Error('telemetry worker must run in a worker thread');
/** What the worker is started with: a SQLite file, or a PostgreSQL URL. */
export type WorkerData = { path: string; databaseUrl?: undefined } | { databaseUrl: string; path?: undefined };
const data = workerData as WorkerData;
// The PostgreSQL backend (and its driver) is loaded only when asked for: SQLite's start stays as it was.
const db: TelemetryDb | PgTelemetryDb =
  data.databaseUrl !== undefined ? await (await import('../pg/telemetry-pg.js')).PgTelemetryDb.open(data.databaseUrl) : new TelemetryDb(data.path);

/** then runs `next` after `result`, at once when it is not a promise (SQLite answers synchronously). */
const then = <T>(result: void | Promise<void>, next: () => T): T | Promise<T> => (result instanceof Promise ? result.then(next) : next());

function handle(req: WorkerRequest): unknown {
  switch (req.op) {
    case 'insert':
      // Captures stay the bytes they came as (capture-bytes.ts): SQLite stores them so, and
      // PostgreSQL decodes them into its text columns.
      const items = unpackBatch(req).map(({ record, capture }) => ({ record, cost: record.pricing && record.usage ? estimateCost(record.pricing, record.usage) : null, capture }));
      return then(db.insert(items), () => items.map((i) => i.cost?.usd ?? null));
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
    case 'toolUse':
      return db.toolUse(req.filter, req.bucketMs);
    case 'adoption':
      return db.adoption(req.filter, req.bucket);
    case 'purge':
      return db.purge(req.capturesBefore, req.toolsBefore, req.onlyExported);
    case 'export.next':
      return db.exports.next(req.limit, req.now);
    case 'export.commit':
      return db.exports.commit(req.keySeconds, req.toSeq, req.now);
    case 'export.state':
      return db.exports.state();
    case 'quota.history':
      return db.quotas.history(req.filter);
    case 'quota.load':
      return db.quotas.load();
    case 'quota.save':
      return then(db.quotas.save(req.changes, req.forget), () => true);
    case 'chat.list':
      return db.conversations.list(req.login);
    case 'chat.create':
      return db.conversations.create(req.login, req.conversation);
    case 'chat.get':
      return db.conversations.get(req.login, req.id);
    case 'chat.update':
      return db.conversations.update(req.login, req.id, req.patch, req.now);
    case 'chat.delete':
      return db.conversations.delete(req.login, req.id);
    case 'chat.append':
      return db.conversations.append(req.login, req.id, req.messages, req.dropLast, req.now);
    case 'chat.finish':
      return db.conversations.finishMessage(req.login, req.id, req.messageId, req.content, req.status, req.error, req.requestId);
    case 'status':
      return 'status' in db ? db.status() : { available: true, failingSince: null, lastError: null, retries: 0 };
    case 'secret':
      if (!('fingerprintSecret' in db)) throw new Error('the fingerprint secret is in the database only with --database');
      return db.fingerprintSecret(req.candidate);
    case 'close':
      return then(db.close(), () => true);
  }
}

/** failure is the reply for an error; SQLite, in the worker's own file, is never out of reach. */
function failure(id: number, err: unknown): WorkerReply {
  const reply: WorkerReply = { id, ok: false, error: (err as Error)?.message ?? String(err) };
  if (data.databaseUrl !== undefined && unreachable(err)) reply.unavailable = true;
  return reply;
}

port.on('message', (msg: WorkerMessage) => {
  let result: unknown;
  try {
    result = handle(msg.request);
  } catch (err) {
    port.postMessage(failure(msg.id, err));
    return;
  }
  // Building an export object yields between chunks of records (export-db.ts), so inserts
  // keep flowing meanwhile; every other answer is ready at once.
  if (result instanceof Promise) {
    result.then(
      (value: unknown) => port.postMessage({ id: msg.id, ok: true, result: value } satisfies WorkerReply),
      (err: unknown) => port.postMessage(failure(msg.id, err)),
    ).finally(() => {
      if (msg.request.op === 'close') port.close();
    });
    return;
  }
  // The capture buffer goes back (its bytes are stored; nothing here keeps a view of it).
  const recycled = msg.request.op === 'insert' ? msg.request.captures : undefined;
  if (recycled) port.postMessage({ id: msg.id, ok: true, result, recycled } satisfies WorkerReply, [recycled]);
  else port.postMessage({ id: msg.id, ok: true, result } satisfies WorkerReply);
  if (msg.request.op === 'close') port.close();
});
