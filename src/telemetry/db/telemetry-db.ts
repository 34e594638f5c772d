/**
 * TelemetryDb: the SQLite side of telemetry (better-sqlite3, WAL). It runs inside the
 * telemetry worker thread only, so its synchronous calls never block request handling.
 * Writes come in batches, one transaction each: a crash loses at most the batch in
 * flight and never leaves a half-written one.
 */
import Database from 'better-sqlite3';
import type { Capture, RequestRecord, StoredRequest } from '../record.js';
import type { ToolCall } from '../usage.js';
import { AGENT_SQL } from '../agents.js';
import { captureFromFields } from '../capture-bytes.js';
import { batchCaptures } from '../capture-block.js';
import { CaptureBlocks, HEADER_FILTER_SQL } from './capture-blocks.js';
import { ConversationsDb } from './conversations-db.js';
import { ExportDb } from './export-db.js';
import { HooksDb } from './hooks-db.js';
import { QuotasDb } from './quotas-db.js';
import { MIGRATIONS } from './schema.js';

export interface QueryFilter {
  /** Milliseconds since the epoch, inclusive. */
  from?: number;
  /** Milliseconds since the epoch, exclusive. */
  to?: number;
  login?: string;
  model?: string;
  provider?: string;
  status?: number;
  session?: string;
  /**
   * The API format (`anthropic_messages`, …, or `mcp` for MCP tool calls). Usage, sessions
   * and the CSV count inference only unless this asks for `mcp`; the request log lists both.
   */
  format?: string;
  /** MCP tool calls: the server (`provider` column) and tool (`upstream_model`). */
  server?: string;
  tool?: string;
  /** The client agent (agents.ts: `claude-code`, `codex`, …). */
  agent?: string;
  /**
   * A request header's value, exactly, as captured (names lower-case). Captures hold the
   * headers, so this matches only requests whose capture is still kept; credential
   * headers are refused before a filter is built (server/telemetry-api.ts).
   */
  header?: { name: string; value: string };
}

/** Beyond any time a record can have (a JavaScript Date's range), for an open end of a period. */
export const MAX_TIME_MS = 8.64e15;

/** The format MCP tool calls are recorded under (src/mcp/telemetry.ts). */
export const MCP_FORMAT = 'mcp';

export interface ToolUseRow {
  key: string | null;
  calls: number;
  errors: number;
  refused: number;
  durationMs: number;
}

export interface ToolUse {
  totals: ToolUseRow;
  byTool: ToolUseRow[];
  byUser: ToolUseRow[];
  byOutcome: ToolUseRow[];
  /** Calls per time bucket (`bucketMs` wide, keyed by the bucket's start), by outcome. */
  series: Array<{ at: number; outcome: string; calls: number }>;
  /** Tool calls the models made in their answers (not MCP). */
  models: ModelToolUse;
}

export const GROUP_BY = ['day', 'login', 'model', 'provider', 'session', 'format', 'credential', 'agent'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface UsageRow {
  key: string | null;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  costUsd: number;
}

export interface SessionRow {
  sessionId: string;
  login: string;
  startedAt: number;
  endedAt: number;
  requests: number;
  models: string[];
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface RequestDetail {
  request: StoredRequest;
  toolCalls: ToolCall[];
  capture: Omit<Capture, 'requestId'> | null;
}

export interface InsertItem {
  record: RequestRecord;
  /** The estimated cost, when the request could be priced. */
  cost: { usd: number; basis: string } | null;
  /** The capture, or its bytes as the recorder encoded them (capture-bytes.ts). */
  capture: Capture | Uint8Array | null;
}

/**
 * MODEL_NAME is a request's one model name, the same in every answer: `provider/model` for
 * the provider that served it and the name that provider received, or the name asked for
 * when no provider served it (unknown model, no grant). The `model` filter compares with
 * exactly this, so the groups of `group_by=model` add up to the totals and filtering by
 * each group's key gives back that group (one request never counts under two names).
 */
const MODEL_NAME = "coalesce(provider || '/' || upstream_model, requested_model)";

const GROUP_EXPR: Record<GroupBy, string> = {
  day: "strftime('%Y-%m-%d', started_at / 1000, 'unixepoch')",
  login: 'login',
  model: MODEL_NAME,
  provider: 'provider',
  session: 'session_id',
  format: 'format',
  credential: "credential_source || coalesce(':' || credential_fp, '')",
  agent: AGENT_SQL,
};

export type AdoptionBucket = 'day' | 'week';

/** One row of an adoption table: `users` distinct logins, their requests, tokens and cost. */
export interface AdoptionRow {
  users: number;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface Adoption {
  bucket: AdoptionBucket;
  totals: AdoptionRow;
  /** Active users (anyone with a request) per period, with what they sent. */
  activeUsers: Array<AdoptionRow & { period: string }>;
  byUser: Array<AdoptionRow & { login: string; activeDays: number; agents: string[]; lastSeen: number }>;
  byAgent: Array<AdoptionRow & { agent: string }>;
  byModel: Array<AdoptionRow & { model: string }>;
  /** Requests per period and agent, and per period and model, for the stacked charts. */
  agentSeries: Array<AdoptionRow & { period: string; agent: string }>;
  modelSeries: Array<AdoptionRow & { period: string; model: string }>;
}

/** One group of the adoption query: a day, login, agent and model. */
export interface AdoptionGroup {
  day: string;
  login: string;
  agent: string;
  model: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  lastSeen: number;
}

/** A table row being summed: its logins (for `users`) beside the sums. */
class Tally {
  readonly logins = new Set<string>();
  requests = 0;
  inputTokens = 0;
  outputTokens = 0;
  costUsd = 0;
  add(g: AdoptionGroup): this {
    this.logins.add(g.login);
    this.requests += g.requests;
    this.inputTokens += g.inputTokens;
    this.outputTokens += g.outputTokens;
    this.costUsd += g.costUsd;
    return this;
  }
  row(): AdoptionRow {
    return { users: this.logins.size, requests: this.requests, inputTokens: this.inputTokens, outputTokens: this.outputTokens, costUsd: this.costUsd };
  }
}

/** weekOf is the Monday (UTC) of a `YYYY-MM-DD` day's ISO week. */
function weekOf(day: string): string {
  const t = Date.parse(`${day}T00:00:00Z`);
  return new Date(t - ((new Date(t).getUTCDay() + 6) % 7) * 86_400_000).toISOString().slice(0, 10);
}

/** summarise sums the day/login/agent/model groups into the adoption tables. */
export function summarise(groups: AdoptionGroup[], bucket: AdoptionBucket): Adoption {
  const totals = new Tally();
  const tables = { period: new Map<string, Tally>(), login: new Map<string, Tally>(), agent: new Map<string, Tally>(), model: new Map<string, Tally>(), periodAgent: new Map<string, Tally>(), periodModel: new Map<string, Tally>() };
  const days = new Map<string, Set<string>>();
  const agents = new Map<string, Set<string>>();
  const lastSeen = new Map<string, number>();
  const weeks = new Map<string, string>();
  const tally = (m: Map<string, Tally>, key: string, g: AdoptionGroup) => (m.get(key) ?? m.set(key, new Tally()).get(key)!).add(g);
  for (const g of groups) {
    let period = g.day;
    if (bucket === 'week') period = weeks.get(g.day) ?? weeks.set(g.day, weekOf(g.day)).get(g.day)!;
    totals.add(g);
    tally(tables.period, period, g);
    tally(tables.login, g.login, g);
    tally(tables.agent, g.agent, g);
    tally(tables.model, g.model, g);
    // A NUL cannot be in a period, so it keeps the two parts of the key apart.
    tally(tables.periodAgent, `${period}\0${g.agent}`, g);
    tally(tables.periodModel, `${period}\0${g.model}`, g);
    (days.get(g.login) ?? days.set(g.login, new Set()).get(g.login)!).add(g.day);
    (agents.get(g.login) ?? agents.set(g.login, new Set()).get(g.login)!).add(g.agent);
    lastSeen.set(g.login, Math.max(lastSeen.get(g.login) ?? 0, g.lastSeen));
  }
  const rows = <K extends string>(m: Map<string, Tally>, name: K) => [...m].map(([key, t]) => ({ [name]: key, ...t.row() }) as AdoptionRow & Record<K, string>);
  const split = <K extends string>(m: Map<string, Tally>, name: K) =>
    [...m].map(([key, t]) => {
      const cut = key.indexOf('\0');
      return { period: key.slice(0, cut), [name]: key.slice(cut + 1), ...t.row() } as AdoptionRow & { period: string } & Record<K, string>;
    });
  const byKey = <R extends AdoptionRow>(key: (r: R) => string) => (a: R, b: R) => b.requests - a.requests || (key(a) < key(b) ? -1 : 1);
  const inPeriodOrder = <R extends { period: string }>(key: (r: R) => string) => (a: R, b: R) => (a.period === b.period ? (key(a) < key(b) ? -1 : 1) : a.period < b.period ? -1 : 1);
  return {
    bucket,
    totals: totals.row(),
    activeUsers: rows(tables.period, 'period').sort((a, b) => (a.period < b.period ? -1 : 1)),
    byUser: rows(tables.login, 'login')
      .map((u) => ({ ...u, activeDays: days.get(u.login)!.size, agents: [...agents.get(u.login)!].sort(), lastSeen: lastSeen.get(u.login)! }))
      .sort((a, b) => b.costUsd - a.costUsd || b.requests - a.requests || (a.login < b.login ? -1 : 1)),
    byAgent: rows(tables.agent, 'agent').sort(byKey((r) => r.agent)),
    byModel: rows(tables.model, 'model').sort(byKey((r) => r.model)),
    agentSeries: split(tables.periodAgent, 'agent').sort(inPeriodOrder((r) => r.agent)),
    modelSeries: split(tables.periodModel, 'model').sort(inPeriodOrder((r) => r.model)),
  };
}

/** Tool calls the models made (tool_calls of inference requests), grouped one way. */
export interface ModelToolRow {
  key: string | null;
  calls: number;
  /** Requests whose answer made at least one of these calls. */
  requests: number;
}

export interface ModelToolUse {
  totals: ModelToolRow;
  byTool: ModelToolRow[];
  byAgent: ModelToolRow[];
  byUser: ModelToolRow[];
  /** Calls per time bucket and tool. */
  series: Array<{ at: number; tool: string; calls: number }>;
}

/** Columns of the `requests` table (schema.ts), in order. */
const REQUEST_COLUMNS = 38;

// Outcomes of MCP calls (stop_reason of format mcp rows): see src/mcp/gateway.ts.
const TOOL_SUMS = `count(*) AS calls,
  sum(CASE WHEN stop_reason NOT IN ('ok', 'refused', 'unknown') THEN 1 ELSE 0 END) AS errors,
  sum(CASE WHEN stop_reason IN ('refused', 'unknown') THEN 1 ELSE 0 END) AS refused,
  coalesce(avg(duration_ms), 0) AS durationMs`;

const SUMS = `count(*) AS requests,
  sum(CASE WHEN status >= 400 OR error_class IS NOT NULL THEN 1 ELSE 0 END) AS errors,
  coalesce(sum(input_tokens), 0) AS inputTokens,
  coalesce(sum(output_tokens), 0) AS outputTokens,
  coalesce(sum(cache_read_tokens), 0) AS cacheReadTokens,
  coalesce(sum(cache_write_5m_tokens + cache_write_1h_tokens), 0) AS cacheWriteTokens,
  coalesce(sum(reasoning_tokens), 0) AS reasoningTokens,
  coalesce(sum(cost_usd), 0) AS costUsd`;

export class TelemetryDb {
  private readonly db: Database.Database;
  private readonly insertRequest: Database.Statement;
  private readonly insertTool: Database.Statement;
  private readonly insertMany: (items: InsertItem[]) => void;
  /** Captures since migration 9, one block per batch. */
  private readonly blocks: CaptureBlocks;
  /** The chat conversations kept in the same database. */
  readonly conversations: ConversationsDb;
  /** Quota balances, and the buckets each request touched. */
  readonly quotas: QuotasDb;
  /** Where the S3 export stands; the records it reads. */
  readonly exports: ExportDb;
  /** The hooks each request called. */
  readonly hooks: HooksDb;

  constructor(path: string) {
    this.db = new Database(path);
    // Only a new database takes a page size. 16 KB pages carry captures (a few KB each) in
    // a quarter of the WAL frames, and so a quarter of the write calls, of 4 KB pages.
    this.db.pragma('page_size = 16384');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    this.conversations = new ConversationsDb(this.db);
    this.quotas = new QuotasDb(this.db);
    this.blocks = new CaptureBlocks(this.db);
    this.exports = new ExportDb(this.db, this.blocks);
    this.hooks = new HooksDb(this.db);
    // Positional parameters, in column order: binding by name costs a lookup per column.
    this.insertRequest = this.db.prepare(`INSERT OR REPLACE INTO requests VALUES (${Array(REQUEST_COLUMNS).fill('?').join(', ')})`);
    this.insertTool = this.db.prepare('INSERT OR REPLACE INTO tool_calls VALUES (?, ?, ?, ?, ?)');
    this.insertMany = this.db.transaction((items: InsertItem[]) => {
      // The batch's captures go first, as one block; each row then says where its capture is.
      const { captures, minStartedAt } = batchCaptures(items);
      const block = captures.length > 0 ? this.blocks.add(captures, minStartedAt) : null;
      let offset = 0;
      let next = 0;
      let firstRowid = 0;
      let lastRowid = 0;
      for (const { record: r, cost, capture: c } of items) {
        const u = r.usage;
        const at = c ? offset : null;
        if (c) offset += captures[next++]!.byteLength;
        const rowid = Number(this.insertRequest.run(
          r.id, r.startedAt, r.durationMs, r.ttfbMs, r.login, r.nodeId, r.tags.join(','), r.userAgent, r.client, r.format, r.path,
          r.requestedModel, r.provider, r.upstreamModel, r.status, r.errorCode, r.errorClass, r.stream ? 1 : 0, u ? 1 : 0,
          u?.inputTokens ?? 0, u?.outputTokens ?? 0, u?.cacheReadTokens ?? 0, u?.cacheWrite5mTokens ?? 0, u?.cacheWrite1hTokens ?? 0, u?.reasoningTokens ?? 0,
          u?.webSearchCount ?? 0, r.toolCalls.length, r.stopReason, cost?.usd ?? null, cost?.basis ?? null, r.sessionId, r.credentialSource, r.credentialFingerprint,
          r.requestBytes ?? null, r.responseBytes ?? null,
          r.providerFormat, c ? block : null, at,
        ).lastInsertRowid);
        if (c) {
          if (firstRowid === 0) firstRowid = rowid;
          lastRowid = rowid;
        }
        r.toolCalls.forEach((t, i) => this.insertTool.run(r.id, i, r.startedAt, t.name, t.arguments ?? null));
        if (r.quotas.length > 0) this.quotas.insertEntries(r.id, r.startedAt, r.quotas);
        if (r.hooks && r.hooks.length > 0) this.hooks.insertEntries(r.id, r.startedAt, r.hooks);
      }
      if (block !== null) this.blocks.range(block, firstRowid, lastRowid);
    });
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) throw new Error(`telemetry database has schema version ${version}, newer than this keyway (${MIGRATIONS.length})`);
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  insert(items: InsertItem[]): void {
    this.insertMany(items);
  }

  /** where builds the filter; `usageOnly` leaves MCP tool calls out unless the filter asks for them. */
  private where(f: QueryFilter, usageOnly = false): { sql: string; params: unknown[] } {
    const clauses: string[] = [];
    const params: unknown[] = [];
    // MCP's own index is partial (migration 9): the planner uses it only for the literal.
    if (f.format === MCP_FORMAT) clauses.push(`format = '${MCP_FORMAT}'`);
    else if (f.format !== undefined) (clauses.push('format = ?'), params.push(f.format));
    else if (usageOnly) (clauses.push('format != ?'), params.push(MCP_FORMAT));
    if (f.server !== undefined) (clauses.push('provider = ?'), params.push(f.server));
    if (f.tool !== undefined) (clauses.push('upstream_model = ?'), params.push(f.tool));
    if (f.from !== undefined) (clauses.push('started_at >= ?'), params.push(f.from));
    if (f.to !== undefined) (clauses.push('started_at < ?'), params.push(f.to));
    if (f.login !== undefined) (clauses.push('login = ?'), params.push(f.login));
    if (f.provider !== undefined) (clauses.push('provider = ?'), params.push(f.provider));
    if (f.status !== undefined) (clauses.push('status = ?'), params.push(f.status));
    if (f.session !== undefined) (clauses.push('session_id = ?'), params.push(f.session));
    if (f.model !== undefined) (clauses.push(`${MODEL_NAME} = ?`), params.push(f.model));
    if (f.agent !== undefined) (clauses.push(`${AGENT_SQL} = ?`), params.push(f.agent));
    if (f.header !== undefined) {
      // The capture by its primary key; the name is a header token (checked by the API), so it can be a JSON path key.
      // Since migration 9 the capture is in a block; older ones are rows of `captures`.
      clauses.push(`(${HEADER_FILTER_SQL} = ? OR EXISTS (SELECT 1 FROM captures c WHERE c.request_id = requests.id AND json_extract(c.request_headers, ?) = ?))`);
      params.push(f.header.name, f.header.name, f.header.value, `$."${f.header.name}"`, f.header.value);
    }
    return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
  }

  usage(f: QueryFilter, groupBy: GroupBy | undefined): { totals: UsageRow; groups: UsageRow[] } {
    const w = this.where(f, true);
    const totals = this.db.prepare(`SELECT NULL AS key, ${SUMS} FROM requests ${w.sql}`).get(...w.params) as UsageRow;
    const groups = groupBy
      ? (this.db.prepare(`SELECT ${GROUP_EXPR[groupBy]} AS key, ${SUMS} FROM requests ${w.sql} GROUP BY key ORDER BY ${groupBy === 'day' ? 'key' : 'costUsd DESC, requests DESC'}`).all(...w.params) as UsageRow[])
      : [];
    return { totals, groups };
  }

  /** requests lists newest first; `before` is the cursor returned as `next`. */
  requests(f: QueryFilter, limit: number, before?: string): { requests: StoredRequest[]; next: string | null } {
    const w = this.where(f);
    let sql = w.sql;
    const params = [...w.params];
    if (before) {
      const [at, id] = before.split('~');
      sql += `${sql ? ' AND' : 'WHERE'} (started_at < ? OR (started_at = ? AND id < ?))`;
      params.push(Number(at), Number(at), id ?? '');
    }
    const rows = this.db.prepare(`SELECT *, ${AGENT_SQL} AS agent FROM requests ${sql} ORDER BY started_at DESC, id DESC LIMIT ?`).all(...params, limit + 1) as Row[];
    const page = rows.slice(0, limit).map(fromRow);
    for (const r of page) this.attach(r);
    const last = page.at(-1);
    return { requests: page, next: rows.length > limit && last ? `${last.startedAt}~${last.id}` : null };
  }

  /** attach adds what a request's rows in other tables say: quota charges, hook calls. */
  private attach(r: StoredRequest): void {
    r.quotas = this.quotas.entriesOf(r.id, r.startedAt);
    const hooks = this.hooks.entriesOf(r.id, r.startedAt);
    if (hooks) r.hooks = hooks;
  }

  /** usageTable is the CSV export: one row per day, user and model. */
  usageTable(f: QueryFilter): Array<UsageRow & { day: string; login: string; model: string }> {
    const w = this.where(f, true);
    return this.db
      .prepare(`SELECT ${GROUP_EXPR.day} AS day, login, ${GROUP_EXPR.model} AS model, NULL AS key, ${SUMS} FROM requests ${w.sql} GROUP BY day, login, model ORDER BY day, login, model`)
      .all(...w.params) as Array<UsageRow & { day: string; login: string; model: string }>;
  }

  request(id: string): RequestDetail | undefined {
    const row = this.db.prepare(`SELECT *, ${AGENT_SQL} AS agent FROM requests WHERE id = ?`).get(id) as Row | undefined;
    if (!row) return undefined;
    const tools = this.db.prepare('SELECT name, arguments FROM tool_calls WHERE request_id = ? ORDER BY seq').all(id) as Array<{ name: string; arguments: string | null }>;
    const request = fromRow(row);
    this.attach(request);
    const toolCalls = tools.map((t) => (t.arguments === null ? { name: t.name } : { name: t.name, arguments: t.arguments }));
    if (row.capture_block !== null) {
      const fields = this.blocks.fields({ block: Number(row.capture_block), offset: Number(row.capture_offset) });
      if (fields) {
        const { requestId: _id, ...capture } = captureFromFields(fields, id);
        return { request, toolCalls, capture };
      }
    }
    const c = this.db.prepare('SELECT * FROM captures WHERE request_id = ?').get(id) as Record<string, string | number> | undefined;
    return {
      request,
      toolCalls,
      capture: c ? captureFromRow(c) : null,
    };
  }

  sessions(f: QueryFilter, limit: number): SessionRow[] {
    const w = this.where(f, true);
    const rows = this.db
      .prepare(`SELECT session_id AS sessionId, min(login) AS login, min(started_at) AS startedAt, max(started_at + duration_ms) AS endedAt,
        count(*) AS requests, group_concat(DISTINCT ${MODEL_NAME}) AS models,
        coalesce(sum(input_tokens), 0) AS inputTokens, coalesce(sum(output_tokens), 0) AS outputTokens, coalesce(sum(cost_usd), 0) AS costUsd
        FROM requests ${w.sql} GROUP BY session_id ORDER BY endedAt DESC LIMIT ?`)
      .all(...w.params, limit) as Array<Omit<SessionRow, 'models'> & { models: string | null }>;
    return rows.map((r) => ({ ...r, endedAt: Math.round(r.endedAt), models: r.models ? r.models.split(',') : [] }));
  }

  /** toolUse aggregates MCP tool calls: totals, by tool, user and outcome, and per time bucket. */
  toolUse(f: QueryFilter, bucketMs: number): ToolUse {
    const w = this.where({ ...f, format: MCP_FORMAT });
    const q = (key: string, order = 'calls DESC') =>
      this.db.prepare(`SELECT ${key} AS key, ${TOOL_SUMS} FROM requests ${w.sql} GROUP BY key ORDER BY ${order} LIMIT 200`).all(...w.params) as ToolUseRow[];
    const totals = this.db.prepare(`SELECT NULL AS key, ${TOOL_SUMS} FROM requests ${w.sql}`).get(...w.params) as ToolUseRow;
    const size = Math.max(60_000, Math.floor(bucketMs));
    const series = this.db
      .prepare(`SELECT (started_at / ${size}) * ${size} AS at, coalesce(stop_reason, 'ok') AS outcome, count(*) AS calls FROM requests ${w.sql} GROUP BY at, outcome ORDER BY at`)
      .all(...w.params) as ToolUse['series'];
    return {
      totals: { ...totals, errors: totals.errors ?? 0, refused: totals.refused ?? 0 },
      byTool: q('requested_model'),
      byUser: q('login'),
      byOutcome: q("coalesce(stop_reason, 'ok')"),
      series,
      models: this.modelToolUse(f, size),
    };
  }

  /**
   * modelToolUse aggregates the tool calls models made (tool_calls rows of inference
   * requests). It reads the period's tool calls by their own started_at index (a call has
   * its request's start time) and looks each one's request up by primary key for the
   * other filters: most requests make no tool call, so this reads far fewer rows than
   * going through every request of the period. Tool-call rows go with
   * `database.retention.purge: ["tools"]`; the counts then cover what is kept.
   */
  private modelToolUse(f: QueryFilter, size: number): ModelToolUse {
    // `server` and `format` are MCP's; the model's own calls come from inference requests.
    const { tool, server: _server, format: _format, ...rest } = f;
    const w = this.where(rest, true);
    // Only the tool_calls columns the subquery names are visible, so the filter's columns are the request's.
    const calls = `SELECT request_id, name AS tool FROM tool_calls WHERE started_at >= ? AND started_at < ?${tool === undefined ? '' : ' AND name = ?'}`;
    const from = `FROM (${calls}) t JOIN requests ON requests.id = t.request_id ${w.sql}`;
    const params = [f.from ?? -MAX_TIME_MS, f.to ?? MAX_TIME_MS, ...(tool === undefined ? [] : [tool]), ...w.params];
    const sums = 'count(*) AS calls, count(DISTINCT requests.id) AS requests';
    const q = (key: string) => this.db.prepare(`SELECT ${key} AS key, ${sums} ${from} GROUP BY key ORDER BY calls DESC, key LIMIT 200`).all(...params) as ModelToolRow[];
    return {
      totals: this.db.prepare(`SELECT NULL AS key, ${sums} ${from}`).get(...params) as ModelToolRow,
      byTool: q('t.tool'),
      byAgent: q(AGENT_SQL),
      byUser: q('login'),
      series: this.db.prepare(`SELECT (started_at / ${size}) * ${size} AS at, t.tool AS tool, count(*) AS calls ${from} GROUP BY at, t.tool ORDER BY at, calls DESC`).all(...params) as ModelToolUse['series'],
    };
  }

  /**
   * adoption: who uses keyway, with what. Inference requests only (MCP calls are on the
   * Tool Use screen). One pass over the period's rows (the started_at index, or
   * login+started_at for one user) groups them by day, login, agent and model; every table
   * is summed from those groups here, since separate GROUP BYs would read the rows once per
   * table, and the worker (which also writes) would be busy that much longer.
   */
  adoption(f: QueryFilter, bucket: AdoptionBucket): Adoption {
    const w = this.where(f, true);
    const groups = this.db
      .prepare(
        `SELECT ${GROUP_EXPR.day} AS day, login, ${AGENT_SQL} AS agent, ${MODEL_NAME} AS model, count(*) AS requests,
         coalesce(sum(input_tokens), 0) AS inputTokens, coalesce(sum(output_tokens), 0) AS outputTokens, coalesce(sum(cost_usd), 0) AS costUsd, max(started_at) AS lastSeen
         FROM requests ${w.sql} GROUP BY day, login, agent, model`,
      )
      .all(...w.params) as AdoptionGroup[];
    return summarise(groups, bucket);
  }

  /**
   * purge deletes captures (and, when asked, tool-call details) older than the cutoffs.
   * With `onlyExported` (`require_export`) it keeps whatever the S3 export has not sent
   * yet, whatever its age: each row's request is looked up by its primary key, so the cost
   * follows the rows old enough to go, not the size of the table.
   */
  purge(capturesBefore: number | undefined, toolsBefore: number | undefined, onlyExported = false): { captures: number; tools: number } {
    return this.purgeAll(capturesBefore, toolsBefore, onlyExported);
  }

  private readonly purgeAll = (capturesBefore: number | undefined, toolsBefore: number | undefined, onlyExported: boolean) =>
    this.db.transaction(() => this.purgeNow(capturesBefore, toolsBefore, onlyExported))();

  private purgeNow(capturesBefore: number | undefined, toolsBefore: number | undefined, onlyExported: boolean): { captures: number; tools: number } {
    const exported = onlyExported ? this.exports.exportedThrough() : undefined;
    const run = (sql: string, cutoff: number | undefined, idColumn: string) => {
      if (cutoff === undefined) return 0;
      if (exported === undefined) return this.db.prepare(sql).run(cutoff).changes;
      return this.db.prepare(`${sql} AND EXISTS (SELECT 1 FROM requests r WHERE r.id = ${idColumn} AND r.rowid <= ?)`).run(cutoff, exported).changes;
    };
    const inBlocks = capturesBefore === undefined ? 0 : this.blocks.purge(capturesBefore, exported);
    const captures = inBlocks + run('DELETE FROM captures WHERE created_at < ?', capturesBefore, 'captures.request_id');
    const tools = run('DELETE FROM tool_calls WHERE started_at < ?', toolsBefore, 'tool_calls.request_id');
    return { captures, tools };
  }

  close(): void {
    this.db.close();
  }
}

type Row = Record<string, unknown>;

/** captureFromRow reads a row of the `captures` table (the same columns in SQLite and PostgreSQL). */
export function captureFromRow(c: Row): Omit<Capture, 'requestId'> {
  return {
    requestHeaders: JSON.parse(String(c.request_headers)) as Record<string, string>,
    requestBody: String(c.request_body),
    requestTruncated: c.request_truncated === 1,
    responseHeaders: JSON.parse(String(c.response_headers)) as Record<string, string>,
    responseBody: String(c.response_body),
    responseTruncated: c.response_truncated === 1,
    upstreamRequestBody: (c.upstream_request_body as string | null) ?? null,
    upstreamResponseBody: (c.upstream_response_body as string | null) ?? null,
  };
}

export function fromRow(r: Row): StoredRequest {
  const has = r.has_usage === 1;
  return {
    id: String(r.id),
    startedAt: Number(r.started_at),
    durationMs: Number(r.duration_ms),
    ttfbMs: r.ttfb_ms === null ? null : Number(r.ttfb_ms),
    login: String(r.login),
    nodeId: String(r.node_id),
    tags: r.tags ? String(r.tags).split(',') : [],
    userAgent: String(r.user_agent),
    client: String(r.client),
    format: String(r.format),
    providerFormat: (r.provider_format as string | null) ?? null,
    path: String(r.path),
    requestedModel: String(r.requested_model),
    provider: (r.provider as string | null) ?? null,
    upstreamModel: (r.upstream_model as string | null) ?? null,
    status: Number(r.status),
    errorCode: (r.error_code as string | null) ?? null,
    errorClass: (r.error_class as string | null) ?? null,
    stream: r.stream === 1,
    usage: has
      ? {
          inputTokens: Number(r.input_tokens),
          outputTokens: Number(r.output_tokens),
          cacheReadTokens: Number(r.cache_read_tokens),
          cacheWrite5mTokens: Number(r.cache_write_5m_tokens),
          cacheWrite1hTokens: Number(r.cache_write_1h_tokens),
          reasoningTokens: Number(r.reasoning_tokens),
          webSearchCount: Number(r.web_search_count),
        }
      : null,
    toolCalls: [],
    quotas: [],
    toolCallCount: Number(r.tool_call_count),
    stopReason: (r.stop_reason as string | null) ?? null,
    sessionId: String(r.session_id),
    credentialSource: r.credential_source as StoredRequest['credentialSource'],
    agent: r.agent === undefined ? undefined : String(r.agent),
    credentialFingerprint: (r.credential_fp as string | null) ?? null,
    costUsd: r.cost_usd === null ? null : Number(r.cost_usd),
    costBasis: (r.cost_basis as string | null) ?? null,
    requestBytes: r.request_bytes == null ? null : Number(r.request_bytes),
    responseBytes: r.response_bytes == null ? null : Number(r.response_bytes),
  };
}
