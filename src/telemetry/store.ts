/**
 * TelemetryStore is the storage interface the rest of keyway uses. One implementation
 * serves both backends: it runs the database in a worker thread and talks to it by
 * messages, and the worker holds either SQLite (db/telemetry-db.ts, the default) or
 * PostgreSQL (pg/telemetry-pg.ts, `--database`), which give the same answers
 * (test/storage-contract.ts runs one suite against each).
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { StoreUnavailableError } from '../errors.js';
import { privateFile, tightenIfExists, type FileNote } from '../private-files.js';
import type { ChatMessage, Conversation, ConversationPatch, MessageStatus } from './db/conversations-db.js';
import type { ExportBatch, ExportState } from './db/export-db.js';
import type { Adoption, AdoptionBucket, GroupBy, QueryFilter, RequestDetail, SessionRow, ToolUse, UsageRow } from './db/telemetry-db.js';
import { packBatch } from './db/wire.js';
import type { WorkerData, WorkerReply, WorkerRequest } from './db/worker.js';
import type { Capture, RequestRecord, StoredRequest } from './record.js';
import type { BucketRule } from '../governance/bucket.js';

export type { Adoption, AdoptionBucket, ChatMessage, Conversation, ConversationPatch, ExportBatch, ExportState, GroupBy, MessageStatus, QueryFilter, RequestDetail, SessionRow, ToolUse, UsageRow };

/**
 * Where the S3 export reads records and keeps its cursor (telemetry/export/). `next`
 * builds and claims the next object (null when nothing waits); `commit` moves the cursor
 * past it once it is uploaded.
 */
export interface ExportStore {
  exportNext(limit: number, now: number): Promise<ExportBatch | null>;
  exportCommit(keySeconds: number, toSeq: number, now: number): Promise<ExportState>;
  exportState(): Promise<ExportState>;
}

/** Chat conversations, always scoped to their owner's login. */
export interface ConversationStore {
  listConversations(login: string): Promise<Conversation[]>;
  createConversation(login: string, conversation: Conversation): Promise<Conversation>;
  getConversation(login: string, id: string): Promise<{ conversation: Conversation; messages: ChatMessage[] } | null>;
  updateConversation(login: string, id: string, patch: ConversationPatch): Promise<Conversation | null>;
  deleteConversation(login: string, id: string): Promise<boolean>;
  appendMessages(login: string, id: string, messages: ChatMessage[], dropLast: number): Promise<boolean>;
  finishMessage(login: string, id: string, messageId: string, content: string, status: MessageStatus, error: string | null, requestId: string | null): Promise<boolean>;
}

/** A quota bucket's balance as stored (see governance/ledger.ts). */
export interface QuotaBalanceRow {
  bucket: string;
  /** The quota that defines the bucket; a stored bucket whose quota is gone is forgotten. */
  quota: string;
  balanceNanos: number;
  /** Refill earned but not yet a whole nanodollar (governance/bucket.ts). */
  carry: number;
  updatedAt: number;
  /** Requests the bucket could not be charged for (unknown cost). */
  unmetered: number;
}

/**
 * One bucket's change since the previous save: its whole new state, and `delta`, the net
 * nanodollars taken meanwhile (charges minus admin refills; refill over time and clamps
 * to a smaller capacity are not in it). The SQLite store writes the row; the shared
 * PostgreSQL store applies the delta to its own balance, refilled and clamped by `rule`
 * (pg/quotas-pg.ts), and adds `unmeteredDelta` to its count.
 */
export interface QuotaBalanceChange {
  row: QuotaBalanceRow;
  delta: number;
  /** The bucket's quota rule, for a store that refills the stored balance itself. */
  rule?: BucketRule;
  /** Requests counted unmetered since the last save. */
  unmeteredDelta?: number;
}

/** Where quota balances persist: the telemetry database, whether or not telemetry is on. */
export interface QuotaBalanceStore {
  loadQuotaBalances(): Promise<QuotaBalanceRow[]>;
  saveQuotaBalances(changes: QuotaBalanceChange[], forget: string[]): Promise<void>;
  /**
   * True when other gateways charge the same balances (PostgreSQL): the ledger then saves
   * more often and reads the stored balances back on a timer (governance/ledger.ts).
   */
  readonly sharedBalances?: boolean;
}

/** Whether the store's database can be written, for /metrics and the dashboard. */
export interface StoreStatus {
  backend: 'sqlite' | 'postgres';
  /** False while writes fail and are retried (the database is down or unreachable). */
  available: boolean;
  failingSince: number | null;
  lastError: string | null;
  /** Write attempts that failed and were retried, since start. */
  retries: number;
}

export interface QuotaHistoryFilter {
  from: number;
  to: number;
  /** Only these buckets (undefined: all). */
  buckets?: string[];
  every: 'hour' | 'day';
}

/** Requests per bucket and period: how many were refused, charged nothing, and the sum charged. */
export interface QuotaHistoryRow {
  /** `2026-08-01` or `2026-08-01T13:00` (UTC). */
  period: string;
  bucket: string;
  requests: number;
  refused: number;
  unmetered: number;
  chargedNanos: number;
}

export interface TelemetryStore {
  /**
   * insert stores records and their captures (as objects, or as the recorder encoded
   * them: capture-bytes.ts); it returns each record's estimated cost.
   */
  insert(items: Array<{ record: RequestRecord; capture: Capture | Uint8Array | null }>): Promise<Array<number | null>>;
  usage(filter: QueryFilter, groupBy?: GroupBy): Promise<{ totals: UsageRow; groups: UsageRow[] }>;
  requests(filter: QueryFilter, limit: number, before?: string): Promise<{ requests: StoredRequest[]; next: string | null }>;
  usageTable(filter: QueryFilter): Promise<Array<UsageRow & { day: string; login: string; model: string }>>;
  request(id: string): Promise<RequestDetail | null>;
  sessions(filter: QueryFilter, limit: number): Promise<SessionRow[]>;
  /** toolUse aggregates MCP tool calls (format `mcp`) for the Tool Use screen. */
  toolUse(filter: QueryFilter, bucketMs: number): Promise<ToolUse>;
  /** adoption: active users per day or week, and requests and cost by user, agent and model. */
  adoption(filter: QueryFilter, bucket: AdoptionBucket): Promise<Adoption>;
  /** purge deletes captures (and tool calls) older than the cutoffs; `onlyExported` keeps what the S3 export has not sent. */
  purge(capturesBefore?: number, toolsBefore?: number, onlyExported?: boolean): Promise<{ captures: number; tools: number }>;
  quotaHistory(filter: QuotaHistoryFilter): Promise<QuotaHistoryRow[]>;
  /** Whether the database takes writes (PostgreSQL can be away; SQLite always answers). */
  status?(): Promise<StoreStatus>;
  close(): Promise<void>;
}

/** The largest capture buffer kept for the next batch. */
const MAX_SPARE_BYTES = 8 * 1024 * 1024;

export class WorkerTelemetryStore implements TelemetryStore, ConversationStore, QuotaBalanceStore, ExportStore {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** A capture buffer the worker sent back, for the next batch (capture-bytes.ts). */
  private spare: ArrayBuffer | undefined;
  private closed = false;

  /** Modes changed (or found too open) on the database files when it opened, for the log. */
  fileNotes: FileNote[] = [];

  private constructor(
    private readonly worker: Worker,
    readonly backend: StoreStatus['backend'],
  ) {
    worker.on('message', (reply: WorkerReply) => {
      // A buffer a burst of large captures grew is let go rather than held for good.
      if (reply.recycled && reply.recycled.byteLength <= MAX_SPARE_BYTES) this.spare = reply.recycled;
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.result);
      else p.reject(reply.unavailable ? new StoreUnavailableError(reply.error) : new Error(reply.error));
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => this.failAll(new Error('telemetry worker exited')));
  }

  /**
   * open starts the worker on the database file and waits until its schema is ready. The
   * file holds every user's prompts: it is created 0600 before SQLite opens it, so the
   * `-wal` and `-shm` files SQLite makes beside it get the same mode; older ones are
   * tightened (private-files.ts).
   */
  static async open(path: string): Promise<WorkerTelemetryStore> {
    const notes = [await privateFile(path)];
    for (const suffix of ['-wal', '-shm', '-journal']) notes.push(await tightenIfExists(path + suffix));
    const store = await WorkerTelemetryStore.start({ path }, 'sqlite');
    store.fileNotes = notes.filter((n): n is FileNote => n !== undefined);
    return store;
  }

  /**
   * openPostgres starts the worker on a PostgreSQL database shared with other replicas,
   * migrating its schema (under an advisory lock) first. A database that cannot be reached
   * fails the open with a line that never shows the password (pg/pool.ts).
   */
  static openPostgres(databaseUrl: string): Promise<WorkerTelemetryStore> {
    return WorkerTelemetryStore.start({ databaseUrl }, 'postgres');
  }

  private static async start(workerData: WorkerData, backend: StoreStatus['backend']): Promise<WorkerTelemetryStore> {
    const worker = new Worker(new URL('./db/worker.js', import.meta.url), { workerData });
    const store = new WorkerTelemetryStore(worker, backend);
    try {
      await store.call({ op: 'usage', filter: { from: 0, to: 0 } });
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    return store;
  }

  get sharedBalances(): boolean {
    return this.backend === 'postgres';
  }

  private call<T>(request: WorkerRequest, transfer?: ArrayBuffer[]): Promise<T> {
    if (this.closed) return Promise.reject(new Error('telemetry store is closed'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, request }, transfer);
    });
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** The batch's captures are copied into one buffer that is transferred, not cloned; the worker stores the bytes as they come. */
  insert(items: Array<{ record: RequestRecord; capture: Capture | Uint8Array | null }>) {
    const { batch, transfer } = packBatch(items, this.spare);
    this.spare = undefined;
    return this.call<Array<number | null>>({ op: 'insert', ...batch }, transfer);
  }
  usage(filter: QueryFilter, groupBy?: GroupBy) {
    return this.call<{ totals: UsageRow; groups: UsageRow[] }>({ op: 'usage', filter, groupBy });
  }
  requests(filter: QueryFilter, limit: number, before?: string) {
    return this.call<{ requests: StoredRequest[]; next: string | null }>({ op: 'requests', filter, limit, before });
  }
  usageTable(filter: QueryFilter) {
    return this.call<Array<UsageRow & { day: string; login: string; model: string }>>({ op: 'usageTable', filter });
  }
  request(id: string) {
    return this.call<RequestDetail | null>({ op: 'request', id });
  }
  sessions(filter: QueryFilter, limit: number) {
    return this.call<SessionRow[]>({ op: 'sessions', filter, limit });
  }
  toolUse(filter: QueryFilter, bucketMs: number) {
    return this.call<ToolUse>({ op: 'toolUse', filter, bucketMs });
  }
  adoption(filter: QueryFilter, bucket: AdoptionBucket) {
    return this.call<Adoption>({ op: 'adoption', filter, bucket });
  }
  purge(capturesBefore?: number, toolsBefore?: number, onlyExported?: boolean) {
    return this.call<{ captures: number; tools: number }>({ op: 'purge', capturesBefore, toolsBefore, onlyExported });
  }
  exportNext(limit: number, now: number) {
    return this.call<ExportBatch | null>({ op: 'export.next', limit, now });
  }
  exportCommit(keySeconds: number, toSeq: number, now: number) {
    return this.call<ExportState>({ op: 'export.commit', keySeconds, toSeq, now });
  }
  exportState() {
    return this.call<ExportState>({ op: 'export.state' });
  }
  quotaHistory(filter: QuotaHistoryFilter) {
    return this.call<QuotaHistoryRow[]>({ op: 'quota.history', filter });
  }
  loadQuotaBalances() {
    return this.call<QuotaBalanceRow[]>({ op: 'quota.load' });
  }
  async saveQuotaBalances(changes: QuotaBalanceChange[], forget: string[]) {
    await this.call<boolean>({ op: 'quota.save', changes, forget });
  }

  listConversations(login: string) {
    return this.call<Conversation[]>({ op: 'chat.list', login });
  }
  createConversation(login: string, conversation: Conversation) {
    return this.call<Conversation>({ op: 'chat.create', login, conversation });
  }
  getConversation(login: string, id: string) {
    return this.call<{ conversation: Conversation; messages: ChatMessage[] } | null>({ op: 'chat.get', login, id });
  }
  updateConversation(login: string, id: string, patch: ConversationPatch) {
    return this.call<Conversation | null>({ op: 'chat.update', login, id, patch, now: Date.now() });
  }
  deleteConversation(login: string, id: string) {
    return this.call<boolean>({ op: 'chat.delete', login, id });
  }
  appendMessages(login: string, id: string, messages: ChatMessage[], dropLast: number) {
    return this.call<boolean>({ op: 'chat.append', login, id, messages, dropLast, now: Date.now() });
  }
  finishMessage(login: string, id: string, messageId: string, content: string, status: MessageStatus, error: string | null, requestId: string | null) {
    return this.call<boolean>({ op: 'chat.finish', login, id, messageId, content, status, error, requestId });
  }

  async status(): Promise<StoreStatus> {
    return { backend: this.backend, ...(await this.call<Omit<StoreStatus, 'backend'>>({ op: 'status' })) };
  }
  /** fingerprintSecret is the telemetry secret shared in the database: `candidate` when none was stored yet. */
  fingerprintSecret(candidate: string) {
    return this.call<string>({ op: 'secret', candidate });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.call({ op: 'close' }).catch(() => {});
    this.closed = true;
    if (this.worker.threadId >= 0) await Promise.race([once(this.worker, 'exit'), new Promise((r) => setTimeout(r, 2000).unref())]);
  }
}
