/**
 * PgTelemetryDb: the PostgreSQL side of telemetry (`keyway serve --database`), the twin of
 * db/telemetry-db.ts with the same methods and answers. It runs in the telemetry worker
 * thread, like SQLite's, so the request thread pays the same (one postMessage a batch);
 * every query is parameterised (COPY's rows are data, escaped by copy-rows.ts). Rows
 * have SQLite's columns, so the row readers (fromRow, summarise, exportRecord) are shared.
 *
 * Several replicas write to one database. A batch is one transaction: its requests with
 * one COPY (copy-rows.ts), other tables with a multi-row INSERT from `unnest` arrays, its
 * captures as one block. Each takes a transaction-scoped advisory lock before it
 * draws `requests.seq`, so batches commit in seq order across replicas and the S3 export's
 * cursor on seq never passes a row that commits later (export-pg.ts). A batch costs a few
 * milliseconds in the lock, every 100 ms per replica.
 *
 * A database that cannot be reached does not lose the batch: insert retries with backoff
 * until it is written (or the store closes), and meanwhile the recorder's bounded queue
 * fills and counts what it drops (telemetry/recorder.ts); `status` says so.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { migrate } from '../../pg/migrate.js';
import { describePgError, openPool, type Pool, type PoolClient } from '../../pg/pool.js';
import { agentSql } from '../agents.js';
import { batchCaptures } from '../capture-block.js';
import { captureFromFields } from '../capture-bytes.js';
import { PgCaptureBlocks } from './capture-blocks-pg.js';
import type { HookEntry, StoredRequest } from '../record.js';
import {
  captureFromRow,
  fromRow,
  MAX_TIME_MS,
  MCP_FORMAT,
  summarise,
  type Adoption,
  type AdoptionBucket,
  type AdoptionGroup,
  type GroupBy,
  type InsertItem,
  type ModelToolRow,
  type ModelToolUse,
  type QueryFilter,
  type RequestDetail,
  type SessionRow,
  type ToolUse,
  type ToolUseRow,
  type UsageRow,
} from '../db/telemetry-db.js';
import { PgConversations } from './conversations-pg.js';
import { PgExports } from './export-pg.js';
import { PgQuotas } from './quotas-pg.js';
import { copyRows } from './copy-rows.js';
import { PG_MIGRATIONS } from './schema.js';
import { dayOf, inTransaction, Params, pgText, retryable } from './sql.js';

const AGENT = agentSql('ILIKE');
/** A request's one model name; see MODEL_NAME in db/telemetry-db.ts. */
const MODEL_NAME = "coalesce(provider || '/' || upstream_model, requested_model)";

const GROUP_EXPR: Record<GroupBy, string> = {
  day: dayOf('started_at'),
  login: 'login',
  model: MODEL_NAME,
  provider: 'provider',
  session: 'session_id',
  format: 'format',
  credential: "credential_source || coalesce(':' || credential_fp, '')",
  agent: AGENT,
};

// Aliases are quoted: PostgreSQL folds unquoted names to lower case, and the answers are camelCase.
const SUMS = `count(*) AS requests,
  sum(CASE WHEN status >= 400 OR error_class IS NOT NULL THEN 1 ELSE 0 END) AS errors,
  coalesce(sum(input_tokens), 0) AS "inputTokens",
  coalesce(sum(output_tokens), 0) AS "outputTokens",
  coalesce(sum(cache_read_tokens), 0) AS "cacheReadTokens",
  coalesce(sum(cache_write_5m_tokens + cache_write_1h_tokens), 0) AS "cacheWriteTokens",
  coalesce(sum(reasoning_tokens), 0) AS "reasoningTokens",
  coalesce(sum(cost_usd), 0) AS "costUsd"`;

const TOOL_SUMS = `count(*) AS calls,
  sum(CASE WHEN stop_reason NOT IN ('ok', 'refused', 'unknown') THEN 1 ELSE 0 END) AS errors,
  sum(CASE WHEN stop_reason IN ('refused', 'unknown') THEN 1 ELSE 0 END) AS refused,
  coalesce(avg(duration_ms), 0) AS "durationMs"`;

const REQUEST_COLUMNS: ReadonlyArray<[name: string, type: string]> = [
  ['id', 'text'], ['started_at', 'int8'], ['duration_ms', 'float8'], ['ttfb_ms', 'float8'], ['login', 'text'], ['node_id', 'text'],
  ['tags', 'text'], ['user_agent', 'text'], ['client', 'text'], ['format', 'text'], ['path', 'text'], ['requested_model', 'text'],
  ['provider', 'text'], ['upstream_model', 'text'], ['status', 'int4'], ['error_code', 'text'], ['error_class', 'text'],
  ['stream', 'int2'], ['has_usage', 'int2'], ['input_tokens', 'int8'], ['output_tokens', 'int8'], ['cache_read_tokens', 'int8'],
  ['cache_write_5m_tokens', 'int8'], ['cache_write_1h_tokens', 'int8'], ['reasoning_tokens', 'int8'], ['web_search_count', 'int8'],
  ['tool_call_count', 'int4'], ['stop_reason', 'text'], ['cost_usd', 'float8'], ['cost_basis', 'text'], ['session_id', 'text'],
  ['credential_source', 'text'], ['credential_fp', 'text'], ['request_bytes', 'int8'], ['response_bytes', 'int8'], ['provider_format', 'text'],
  ['capture_block', 'int8'], ['capture_offset', 'int4'],
];

/** insertFromArrays is `INSERT … SELECT * FROM unnest($1::type[], …)`: one statement for any number of rows. */
function insertFromArrays(table: string, columns: ReadonlyArray<[string, string]>, conflict: string): string {
  return `INSERT INTO ${table} (${columns.map(([c]) => c).join(', ')}) SELECT * FROM unnest(${columns.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ')}) ${conflict}`;
}

// Request rows go with COPY (copy-rows.ts). A batch that meets rows already written goes
// again as INSERT from `unnest` arrays, which skips them (insertBatch); the seq numbers it
// drew name its capture block. (As JSON, rows cost PostgreSQL as much as arrays or more.)
const REQUEST_COLUMN_NAMES = REQUEST_COLUMNS.map(([name]) => name);
const INSERT_REQUESTS = `WITH written AS (${insertFromArrays('requests', REQUEST_COLUMNS, 'ON CONFLICT (id) DO NOTHING RETURNING seq')}) SELECT min(seq) AS first, max(seq) AS last FROM written`;
const INSERT_TOOLS = insertFromArrays('tool_calls', [['request_id', 'text'], ['seq', 'int4'], ['started_at', 'int8'], ['name', 'text'], ['arguments', 'text']], 'ON CONFLICT DO NOTHING');
const entriesInsert = (table: string) => `INSERT INTO ${table} (started_at, request_id, entries) SELECT s, r, e::jsonb FROM unnest($1::int8[], $2::text[], $3::text[]) AS t (s, r, e) ON CONFLICT DO NOTHING`;
const INSERT_QUOTA_ENTRIES = entriesInsert('request_quotas');
const INSERT_HOOK_ENTRIES = entriesInsert('request_hooks');

/** SQLSTATE of a unique constraint's violation. */
const UNIQUE_VIOLATION = '23505';

/** The lock every insert takes before it draws seq numbers: rows commit in seq order. */
const INSERT_LOCK = "SELECT pg_advisory_xact_lock(7038329, hashtext('keyway.telemetry.insert'))";
/** The lock, and the id of the batch's capture block (its rows name it before it is written). */
const INSERT_LOCK_AND_BLOCK = "SELECT pg_advisory_xact_lock(7038329, hashtext('keyway.telemetry.insert')), nextval('capture_blocks_id_seq') AS block";

/** Where the database stands, for /metrics and the dashboard (see store.ts StoreStatus). */
export interface PgStatus {
  available: boolean;
  failingSince: number | null;
  lastError: string | null;
  retries: number;
}

export class PgTelemetryDb {
  readonly conversations: PgConversations;
  readonly quotas: PgQuotas;
  readonly exports: PgExports;
  /** Captures since migration 2, one block per batch. */
  private readonly blocks: PgCaptureBlocks;
  /** Header-filter scans running now, by filter (headerIds). */
  private readonly scans = new Map<string, Promise<string[]>>();
  private closing = false;
  private readonly health: PgStatus = { available: true, failingSince: null, lastError: null, retries: 0 };

  private constructor(private readonly pool: Pool) {
    this.conversations = new PgConversations(pool);
    this.quotas = new PgQuotas(pool);
    this.blocks = new PgCaptureBlocks(pool);
    this.exports = new PgExports(pool, this.blocks);
  }

  /** open migrates the schema (under the advisory lock: replicas may start together) and is ready. */
  static async open(url: string): Promise<PgTelemetryDb> {
    const pool = openPool(url, { max: 4, applicationName: 'keyway-telemetry' });
    try {
      await migrate(pool, 'telemetry', PG_MIGRATIONS);
      await pool.query("INSERT INTO export_cursor VALUES ('s3', 0, 0, NULL, 0, 0, NULL, NULL, NULL, NULL, NULL) ON CONFLICT DO NOTHING");
    } catch (err) {
      await pool.end().catch(() => {});
      throw new Error(`telemetry database: ${describePgError(err)}`);
    }
    return new PgTelemetryDb(pool);
  }

  status(): PgStatus {
    return { ...this.health };
  }

  /** fingerprintSecret is the secret every replica shares: the first one's candidate wins. */
  async fingerprintSecret(candidate: string): Promise<string> {
    await this.pool.query({ name: 'secret-insert', text: 'INSERT INTO telemetry_secret (id, secret) VALUES (1, $1) ON CONFLICT DO NOTHING', values: [candidate] });
    const { rows } = await this.pool.query<{ secret: string }>({ name: 'secret-read', text: 'SELECT secret FROM telemetry_secret WHERE id = 1', values: [] });
    return rows[0]!.secret;
  }

  /** insert writes one batch in one transaction, again and again while the database is away. */
  async insert(items: InsertItem[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.insertBatch(items);
        if (!this.health.available) Object.assign(this.health, { available: true, failingSince: null });
        return;
      } catch (err) {
        if (this.closing || !retryable(err)) throw new Error(describePgError(err));
        if (this.health.available) Object.assign(this.health, { available: false, failingSince: Date.now() });
        this.health.lastError = describePgError(err);
        this.health.retries++;
        // 0.1 s, 0.2 s, … up to 5 s between attempts.
        await sleep(Math.min(5_000, 100 * 2 ** Math.min(attempt, 6)));
      }
    }
  }

  /**
   * insertBatch writes a batch in one transaction, its requests with COPY. COPY cannot skip
   * a row that exists, so a batch that meets one (written again after its first attempt
   * committed but the answer was lost) is written once more with INSERT … ON CONFLICT DO
   * NOTHING, which keeps what is there.
   */
  private async insertBatch(items: InsertItem[]): Promise<void> {
    try {
      await inTransaction(this.pool, (client) => this.insertOnce(client, items, 'copy'));
    } catch (err) {
      if ((err as { code?: unknown })?.code !== UNIQUE_VIOLATION) throw err;
      await inTransaction(this.pool, (client) => this.insertOnce(client, items, 'insert'));
    }
  }

  private async insertOnce(client: PoolClient, items: InsertItem[], how: 'copy' | 'insert'): Promise<void> {
    // The batch's captures are one block; each row says where its capture is in it.
    const { captures, minStartedAt } = batchCaptures(items);
    const locked = await client.query<{ block: number }>(captures.length > 0 ? INSERT_LOCK_AND_BLOCK : INSERT_LOCK);
    const block = captures.length > 0 ? locked.rows[0]!.block : null;
    const rows: Array<Array<string | number | null>> = [];
    const tools: unknown[][] = [[], [], [], [], []];
    const quotas: unknown[][] = [[], [], []];
    const hooks: unknown[][] = [[], [], []];
    let offset = 0;
    let next = 0;
    for (const { record: r, cost, capture } of items) {
      const u = r.usage;
      const at = capture ? offset : null;
      if (capture) offset += captures[next++]!.byteLength;
      const values = [
        r.id, Math.round(r.startedAt), r.durationMs, r.ttfbMs, r.login, r.nodeId, r.tags.join(','), pgText(r.userAgent), r.client, r.format, r.path,
        r.requestedModel, r.provider, r.upstreamModel, r.status, r.errorCode, r.errorClass, r.stream ? 1 : 0, u ? 1 : 0,
        u?.inputTokens ?? 0, u?.outputTokens ?? 0, u?.cacheReadTokens ?? 0, u?.cacheWrite5mTokens ?? 0, u?.cacheWrite1hTokens ?? 0, u?.reasoningTokens ?? 0,
        u?.webSearchCount ?? 0, r.toolCalls.length, r.stopReason, cost?.usd ?? null, cost?.basis ?? null, r.sessionId, r.credentialSource, r.credentialFingerprint,
        r.requestBytes ?? null, r.responseBytes ?? null, r.providerFormat, capture ? block : null, at,
      ];
      // A string from the client (a model name, a path) may hold a NUL, which PostgreSQL
      // refuses in text: the whole batch would be lost. (A lone surrogate the driver's UTF-8
      // encoding makes U+FFFD.) Captures are bytes in their block, which may hold anything.
      rows.push(values.map((v) => (typeof v === 'string' ? pgText(v) : v)));
      r.toolCalls.forEach((t, i) => {
        tools[0]!.push(r.id), tools[1]!.push(i), tools[2]!.push(Math.round(r.startedAt)), tools[3]!.push(t.name), tools[4]!.push(pgText(t.arguments ?? null));
      });
      if (r.quotas.length > 0) {
        quotas[0]!.push(Math.round(r.startedAt)), quotas[1]!.push(r.id), quotas[2]!.push(JSON.stringify(r.quotas.map((e) => [e.bucket, e.quota, e.nanos, e.outcome])));
      }
      if (r.hooks && r.hooks.length > 0) {
        hooks[0]!.push(Math.round(r.startedAt)), hooks[1]!.push(r.id), hooks[2]!.push(JSON.stringify(r.hooks.map((e) => [e.hook, e.event, e.verdict, e.ms, e.detail ?? null])));
      }
    }
    if (how === 'copy') {
      await copyRows(client, 'requests', REQUEST_COLUMN_NAMES, rows);
      if (block !== null) await this.blocks.addForLastRows(client, block, captures, Math.round(minStartedAt), rows.length);
    } else {
      const cols = REQUEST_COLUMNS.map((_, i) => rows.map((row) => row[i]));
      const written = await client.query<{ first: number | null; last: number | null }>({ name: 'insert-requests', text: INSERT_REQUESTS, values: cols });
      const range = written.rows[0]!;
      if (block !== null && range.first !== null) await this.blocks.add(client, block, captures, Math.round(minStartedAt), range.first, range.last!);
    }
    if (tools[0]!.length > 0) await client.query({ name: 'insert-tools', text: INSERT_TOOLS, values: tools });
    if (quotas[0]!.length > 0) await client.query({ name: 'insert-quota-entries', text: INSERT_QUOTA_ENTRIES, values: quotas });
    if (hooks[0]!.length > 0) await client.query({ name: 'insert-hook-entries', text: INSERT_HOOK_ENTRIES, values: hooks });
  }

  /** where builds the filter; `usageOnly` leaves MCP tool calls out unless the filter asks for them. */
  private async where(f: QueryFilter, p: Params, usageOnly = false): Promise<string> {
    // Captures in blocks are read here, not by PostgreSQL: the header filter becomes the ids it matches.
    const inBlocks = f.header === undefined ? undefined : await this.headerIds(f, usageOnly);
    return this.whereSql(f, p, usageOnly, inBlocks);
  }

  /**
   * headerIds scans the blocks for a header filter. The queries of one answer (Tool Use runs
   * several at once with the same filter) share a scan: it is kept while it runs.
   */
  private headerIds(f: QueryFilter, usageOnly: boolean): Promise<string[]> {
    const key = JSON.stringify([f, usageOnly]);
    const running = this.scans.get(key);
    if (running) return running;
    const p = new Params();
    const w = this.whereSql({ ...f, header: undefined }, p, usageOnly, undefined);
    const scan = this.blocks.withHeader(`FROM requests ${w}`, p.values, f.header!.name, f.header!.value).finally(() => this.scans.delete(key));
    this.scans.set(key, scan);
    return scan;
  }

  private whereSql(f: QueryFilter, p: Params, usageOnly: boolean, headerIds: string[] | undefined): string {
    const clauses: string[] = [];
    if (f.format !== undefined) clauses.push(`format = ${p.add(f.format)}`);
    else if (usageOnly) clauses.push(`format != ${p.add(MCP_FORMAT)}`);
    if (f.server !== undefined) clauses.push(`provider = ${p.add(f.server)}`);
    if (f.tool !== undefined) clauses.push(`upstream_model = ${p.add(f.tool)}`);
    if (f.from !== undefined) clauses.push(`started_at >= ${p.add(f.from, '::int8')}`);
    if (f.to !== undefined) clauses.push(`started_at < ${p.add(f.to, '::int8')}`);
    if (f.login !== undefined) clauses.push(`login = ${p.add(f.login)}`);
    if (f.provider !== undefined) clauses.push(`provider = ${p.add(f.provider)}`);
    if (f.status !== undefined) clauses.push(`status = ${p.add(f.status, '::int4')}`);
    if (f.session !== undefined) clauses.push(`session_id = ${p.add(f.session)}`);
    if (f.model !== undefined) clauses.push(`${MODEL_NAME} = ${p.add(f.model)}`);
    if (f.agent !== undefined) clauses.push(`${AGENT} = ${p.add(f.agent)}`);
    if (f.header !== undefined) {
      // Captures in blocks, and capture rows from before migration 2.
      clauses.push(`(requests.id = ANY(${p.add(headerIds ?? [], '::text[]')}) OR EXISTS (SELECT 1 FROM captures c WHERE c.request_id = requests.id AND (c.request_headers::json ->> ${p.add(f.header.name)}) = ${p.add(f.header.value)}))`);
    }
    return clauses.length ? `WHERE ${clauses.join(' AND ')}` : '';
  }

  private async all<T>(text: string, p: Params): Promise<T[]> {
    return (await this.pool.query(text, p.values)).rows as T[];
  }

  async usage(f: QueryFilter, groupBy: GroupBy | undefined): Promise<{ totals: UsageRow; groups: UsageRow[] }> {
    const p = new Params();
    const w = await this.where(f, p, true);
    const [totals] = await this.all<UsageRow>(`SELECT NULL AS key, ${SUMS} FROM requests ${w}`, p);
    const groups = groupBy
      ? await this.all<UsageRow>(`SELECT ${GROUP_EXPR[groupBy]} AS key, ${SUMS} FROM requests ${w} GROUP BY key ORDER BY ${groupBy === 'day' ? 'key' : '"costUsd" DESC, requests DESC'}`, p)
      : [];
    return { totals: totals!, groups };
  }

  /** requests lists newest first; `before` is the cursor returned as `next`. */
  async requests(f: QueryFilter, limit: number, before?: string): Promise<{ requests: StoredRequest[]; next: string | null }> {
    const p = new Params();
    let w = await this.where(f, p);
    if (before) {
      const [at, id] = before.split('~');
      const t = p.add(Number(at), '::int8');
      w += `${w ? ' AND' : 'WHERE'} (started_at < ${t} OR (started_at = ${t} AND id < ${p.add(id ?? '')}))`;
    }
    const rows = await this.all<Record<string, unknown>>(`SELECT *, ${AGENT} AS agent FROM requests ${w} ORDER BY started_at DESC, id DESC LIMIT ${p.add(limit + 1, '::int8')}`, p);
    const page = rows.slice(0, limit).map(fromRow);
    await this.attach(page);
    const last = page.at(-1);
    return { requests: page, next: rows.length > limit && last ? `${last.startedAt}~${last.id}` : null };
  }

  /** attach adds what the requests' rows in other tables say (quota charges, hook calls): one query each for the page. */
  private async attach(page: StoredRequest[]): Promise<void> {
    if (page.length === 0) return;
    const keys = [page.map((r) => r.startedAt), page.map((r) => r.id)];
    const [quotas, hooks] = await Promise.all([this.quotas.entriesOf(keys), this.entriesOf('request_hooks', keys)]);
    for (const r of page) {
      r.quotas = quotas.get(r.id) ?? [];
      const h = hooks.get(r.id) as Array<[string, string, HookEntry['verdict'], number | null, string | null]> | undefined;
      if (h) r.hooks = h.map(([hook, event, verdict, ms, detail]) => (detail === null ? { hook, event, verdict, ms } : { hook, event, verdict, ms, detail }));
    }
  }

  private async entriesOf(table: 'request_hooks', keys: unknown[][]): Promise<Map<string, unknown[]>> {
    const { rows } = await this.pool.query<{ request_id: string; entries: unknown[] }>({
      name: `entries-${table}`,
      text: `SELECT request_id, entries FROM ${table} WHERE (started_at, request_id) IN (SELECT * FROM unnest($1::int8[], $2::text[]))`,
      values: keys,
    });
    return new Map(rows.map((r) => [r.request_id, r.entries]));
  }

  /** usageTable is the CSV export: one row per day, user and model. */
  async usageTable(f: QueryFilter): Promise<Array<UsageRow & { day: string; login: string; model: string }>> {
    const p = new Params();
    const w = await this.where(f, p, true);
    return this.all(`SELECT ${GROUP_EXPR.day} AS day, login, ${MODEL_NAME} AS model, NULL AS key, ${SUMS} FROM requests ${w} GROUP BY day, login, model ORDER BY day, login, model`, p);
  }

  async request(id: string): Promise<RequestDetail | null> {
    const { rows } = await this.pool.query({ name: 'request-by-id', text: `SELECT *, ${AGENT} AS agent FROM requests WHERE id = $1`, values: [id] });
    if (rows.length === 0) return null;
    const row = rows[0] as Record<string, unknown>;
    const [tools, capture] = await Promise.all([
      this.pool.query<{ name: string; arguments: string | null }>({ name: 'request-tools', text: 'SELECT name, arguments FROM tool_calls WHERE request_id = $1 ORDER BY seq', values: [id] }),
      this.captureOf(id, row.capture_block as number | null, row.capture_offset as number | null),
    ]);
    const request = fromRow(row);
    await this.attach([request]);
    return {
      request,
      toolCalls: tools.rows.map((t) => (t.arguments === null ? { name: t.name } : { name: t.name, arguments: t.arguments })),
      capture,
    };
  }

  /** captureOf reads a request's capture from its block, or from `captures` for one from before migration 2. */
  private async captureOf(id: string, block: number | null, offset: number | null, again = true): Promise<RequestDetail['capture']> {
    if (block !== null && offset !== null) {
      const fields = await this.blocks.fields(block, offset);
      if (fields) {
        const { requestId: _id, ...capture } = captureFromFields(fields, id);
        return capture;
      }
      // The block was just written again by a purge (under a new id): the row says where now.
      if (!again) return null;
      const { rows } = await this.pool.query<{ capture_block: number | null; capture_offset: number | null }>({
        name: 'request-capture-slot',
        text: 'SELECT capture_block, capture_offset FROM requests WHERE id = $1',
        values: [id],
      });
      return rows[0] ? this.captureOf(id, rows[0].capture_block, rows[0].capture_offset, false) : null;
    }
    const { rows } = await this.pool.query<Record<string, string | number | null>>({ name: 'request-capture', text: 'SELECT * FROM captures WHERE request_id = $1', values: [id] });
    return rows[0] ? captureFromRow(rows[0]) : null;
  }

  async sessions(f: QueryFilter, limit: number): Promise<SessionRow[]> {
    const p = new Params();
    const w = await this.where(f, p, true);
    const rows = await this.all<Omit<SessionRow, 'models'> & { models: string | null }>(
      `SELECT session_id AS "sessionId", min(login) AS login, min(started_at) AS "startedAt", max(started_at + duration_ms) AS "endedAt",
        count(*) AS requests, string_agg(DISTINCT ${MODEL_NAME}, ',') AS models,
        coalesce(sum(input_tokens), 0) AS "inputTokens", coalesce(sum(output_tokens), 0) AS "outputTokens", coalesce(sum(cost_usd), 0) AS "costUsd"
        FROM requests ${w} GROUP BY session_id ORDER BY "endedAt" DESC LIMIT ${p.add(limit, '::int8')}`,
      p,
    );
    return rows.map((r) => ({ ...r, endedAt: Math.round(r.endedAt), models: r.models ? r.models.split(',') : [] }));
  }

  /** toolUse aggregates MCP tool calls: totals, by tool, user and outcome, and per time bucket. */
  async toolUse(f: QueryFilter, bucketMs: number): Promise<ToolUse> {
    const size = Math.max(60_000, Math.floor(bucketMs));
    const p = new Params();
    const w = await this.where({ ...f, format: MCP_FORMAT }, p);
    const q = (key: string) => this.all<ToolUseRow>(`SELECT ${key} AS key, ${TOOL_SUMS} FROM requests ${w} GROUP BY key ORDER BY calls DESC LIMIT 200`, p);
    const sp = new Params();
    const sw = await this.where({ ...f, format: MCP_FORMAT }, sp);
    const at = `(started_at / ${sp.add(size, '::int8')}) * ${sp.add(size, '::int8')}`;
    const [[totals], byTool, byUser, byOutcome, series, models] = await Promise.all([
      this.all<ToolUseRow>(`SELECT NULL AS key, ${TOOL_SUMS} FROM requests ${w}`, p),
      q('requested_model'),
      q('login'),
      q("coalesce(stop_reason, 'ok')"),
      this.all<ToolUse['series'][number]>(`SELECT ${at} AS at, coalesce(stop_reason, 'ok') AS outcome, count(*) AS calls FROM requests ${sw} GROUP BY 1, 2 ORDER BY 1`, sp),
      this.modelToolUse(f, size),
    ]);
    return { totals: { ...totals!, errors: totals!.errors ?? 0, refused: totals!.refused ?? 0 }, byTool, byUser, byOutcome, series, models };
  }

  /** modelToolUse aggregates the tool calls models made; see TelemetryDb.modelToolUse. */
  private async modelToolUse(f: QueryFilter, size: number): Promise<ModelToolUse> {
    const { tool, server: _server, format: _format, ...rest } = f;
    const query = async (select: string, tail: string) => {
      const p = new Params();
      const calls = `SELECT request_id, name AS tool FROM tool_calls WHERE started_at >= ${p.add(f.from ?? -MAX_TIME_MS, '::int8')} AND started_at < ${p.add(f.to ?? MAX_TIME_MS, '::int8')}${tool === undefined ? '' : ` AND name = ${p.add(tool)}`}`;
      const head = select.replace('$SIZE', () => p.add(size, '::int8')).replace('$SIZE', () => p.add(size, '::int8'));
      const w = await this.where(rest, p, true);
      return this.all<ModelToolRow & { at: number; tool: string }>(`SELECT ${head} FROM (${calls}) t JOIN requests ON requests.id = t.request_id ${w} ${tail}`, p);
    };
    const sums = 'count(*) AS calls, count(DISTINCT requests.id) AS requests';
    const by = (key: string) => query(`${key} AS key, ${sums}`, 'GROUP BY 1 ORDER BY calls DESC, 1 LIMIT 200');
    const [[totals], byTool, byAgent, byUser, series] = await Promise.all([
      query(`NULL AS key, ${sums}`, ''),
      by('t.tool'),
      by(AGENT),
      by('login'),
      query('(started_at / $SIZE) * $SIZE AS at, t.tool AS tool, count(*) AS calls', 'GROUP BY 1, 2 ORDER BY 1, calls DESC'),
    ]);
    return {
      totals: totals!,
      byTool,
      byAgent,
      byUser,
      series: series.map((s) => ({ at: s.at, tool: s.tool, calls: s.calls })),
    };
  }

  /** adoption: one pass groups the period's rows by day, login, agent and model; summarise makes the tables. */
  async adoption(f: QueryFilter, bucket: AdoptionBucket): Promise<Adoption> {
    const p = new Params();
    const w = await this.where(f, p, true);
    const groups = await this.all<AdoptionGroup>(
      `SELECT ${GROUP_EXPR.day} AS day, login, ${AGENT} AS agent, ${MODEL_NAME} AS model, count(*) AS requests,
       coalesce(sum(input_tokens), 0) AS "inputTokens", coalesce(sum(output_tokens), 0) AS "outputTokens", coalesce(sum(cost_usd), 0) AS "costUsd", max(started_at) AS "lastSeen"
       FROM requests ${w} GROUP BY 1, 2, 3, 4`,
      p,
    );
    return summarise(groups, bucket);
  }

  /** purge deletes captures (and tool calls) older than the cutoffs; with `onlyExported`, only what the S3 export has sent. */
  async purge(capturesBefore: number | undefined, toolsBefore: number | undefined, onlyExported = false): Promise<{ captures: number; tools: number }> {
    const exported = onlyExported ? await this.exports.exportedThrough() : undefined;
    const run = async (table: string, column: string, cutoff: number | undefined) => {
      if (cutoff === undefined) return 0;
      const text =
        exported === undefined
          ? `DELETE FROM ${table} WHERE ${column} < $1::int8`
          : `DELETE FROM ${table} WHERE ${column} < $1::int8 AND EXISTS (SELECT 1 FROM requests r WHERE r.id = ${table}.request_id AND r.seq <= $2::int8)`;
      const r = await this.pool.query(text, exported === undefined ? [cutoff] : [cutoff, exported]);
      return r.rowCount ?? 0;
    };
    const inBlocks = capturesBefore === undefined ? 0 : await this.blocks.purge(capturesBefore, exported);
    const captures = inBlocks + (await run('captures', 'created_at', capturesBefore));
    const tools = await run('tool_calls', 'started_at', toolsBefore);
    return { captures, tools };
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.pool.end();
  }
}
