/**
 * Read side of telemetry: usage totals and series, request log, request detail with its
 * capture, sessions, CSV export, and Prometheus `/metrics`. Users see their own data;
 * admins see everyone's. Another user's request reads as "not found", revealing nothing.
 */
import type { ServerResponse } from 'node:http';
import type { Access } from '../access/grants.js';
import { GatewayError } from '../errors.js';
import type { Identity } from '../identity/identity.js';
import { AGENTS } from '../telemetry/agents.js';
import { REDACTED_HEADERS } from '../telemetry/capture.js';
import { GROUP_BY, type Adoption, type AdoptionBucket, type GroupBy, type QueryFilter } from '../telemetry/db/telemetry-db.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { sendJson } from './respond.js';

export interface TelemetryRequest {
  telemetry: Telemetry | undefined;
  res: ServerResponse;
  pathname: string;
  query: URLSearchParams;
  identity: Identity;
  access: Access;
}

/** handleTelemetryApi serves the telemetry endpoints; false for paths it does not own. */
export async function handleTelemetryApi(r: TelemetryRequest): Promise<boolean> {
  const { pathname } = r;
  if (pathname === '/metrics') return metrics(r);
  if (pathname === '/api/adoption') return adoption(r);
  if (pathname === '/api/telemetry/status') return storeStatus(r);
  if (pathname === '/api/usage' || pathname === '/api/usage.csv' || pathname === '/api/requests' || pathname === '/api/sessions' || pathname === '/api/tool-use' || pathname.startsWith('/api/requests/')) {
    const telemetry = r.telemetry;
    if (!telemetry) throw new GatewayError('TELEMETRY_OFF');
    const filter = filterFrom(r);
    if (pathname === '/api/usage') {
      const groupBy = r.query.get('group_by') ?? undefined;
      if (groupBy !== undefined && !(GROUP_BY as readonly string[]).includes(groupBy)) throw new GatewayError('BAD_REQUEST', `group_by must be one of ${GROUP_BY.join(', ')}`);
      sendJson(r.res, 200, { filter: describe(filter), ...(await telemetry.store.usage(filter, groupBy as GroupBy | undefined)) });
    } else if (pathname === '/api/usage.csv') {
      sendCsv(r.res, USAGE_COLUMNS, await telemetry.store.usageTable(filter), 'keyway-usage.csv');
    } else if (pathname === '/api/requests') {
      const limit = clampInt(r.query.get('limit'), 'limit', 50, 1, 500);
      sendJson(r.res, 200, await telemetry.store.requests(filter, limit, r.query.get('before') ?? undefined));
    } else if (pathname === '/api/tool-use') {
      const bucket = r.query.get('bucket') ?? (filter.to! - filter.from! > 2 * DAY ? 'day' : 'hour');
      if (bucket !== 'hour' && bucket !== 'day') throw new GatewayError('BAD_REQUEST', 'bucket must be "hour" or "day"');
      sendJson(r.res, 200, { filter: describe(filter), bucket, ...(await telemetry.store.toolUse(filter, bucket === 'day' ? DAY : DAY / 24)) });
    } else if (pathname === '/api/sessions') {
      sendJson(r.res, 200, { sessions: await telemetry.store.sessions(filter, clampInt(r.query.get('limit'), 'limit', 50, 1, 500)) });
    } else {
      const id = pathId(pathname.slice('/api/requests/'.length));
      const detail = await telemetry.store.request(id);
      if (!detail || (r.access.role !== 'admin' && detail.request.login !== r.identity.login)) throw new GatewayError('UNKNOWN_ROUTE', `no request "${id}"`);
      sendJson(r.res, 200, detail);
    }
    return true;
  }
  return false;
}

/** The tables of GET /api/adoption, and the columns each has as CSV (`format=csv&table=…`). */
const ADOPTION_TABLES = {
  active: { rows: (a: Adoption) => a.activeUsers, columns: ['period', 'users', 'requests', 'inputTokens', 'outputTokens', 'costUsd'] },
  users: { rows: (a: Adoption) => a.byUser.map((u) => ({ ...u, agents: u.agents.join(' '), lastSeen: new Date(u.lastSeen).toISOString() })), columns: ['login', 'requests', 'inputTokens', 'outputTokens', 'costUsd', 'activeDays', 'agents', 'lastSeen'] },
  agents: { rows: (a: Adoption) => a.byAgent, columns: ['agent', 'users', 'requests', 'inputTokens', 'outputTokens', 'costUsd'] },
  models: { rows: (a: Adoption) => a.byModel, columns: ['model', 'users', 'requests', 'inputTokens', 'outputTokens', 'costUsd'] },
} as const;
type AdoptionTable = keyof typeof ADOPTION_TABLES;

/**
 * GET /api/adoption (admins): active users per day or week, and requests and cost per
 * user, agent and model; `format=csv&table=active|users|agents|models` for one table as CSV.
 */
async function adoption(r: TelemetryRequest): Promise<boolean> {
  if (!r.telemetry) throw new GatewayError('TELEMETRY_OFF');
  if (r.access.role !== 'admin') throw new GatewayError('NOT_ADMIN', 'access denied: adoption analytics are for admins');
  const bucket = r.query.get('bucket') || 'day';
  if (bucket !== 'day' && bucket !== 'week') throw new GatewayError('BAD_REQUEST', 'bucket must be "day" or "week"');
  const format = r.query.get('format') || 'json';
  if (format !== 'json' && format !== 'csv') throw new GatewayError('BAD_REQUEST', 'format must be "json" or "csv"');
  const table = r.query.get('table') ?? '';
  if (format === 'csv' && !Object.hasOwn(ADOPTION_TABLES, table)) throw new GatewayError('BAD_REQUEST', `table must be one of ${Object.keys(ADOPTION_TABLES).join(', ')} for format=csv`);
  // `format` here is the answer's; the API-format filter of the other endpoints does not apply.
  const filter = { ...filterFrom(r), format: undefined };
  const data = await r.telemetry.store.adoption(filter, bucket as AdoptionBucket);
  if (format === 'csv') {
    const t = ADOPTION_TABLES[table as AdoptionTable];
    sendCsv(r.res, t.columns, t.rows(data), `keyway-adoption-${table}-${bucket}.csv`);
  } else {
    sendJson(r.res, 200, { filter: describe(filter), ...data });
  }
  return true;
}

/**
 * `GET /api/telemetry/status` (admins): whether the telemetry database takes writes, and
 * the recorder queue's counts, for the dashboard's banner while PostgreSQL is away.
 */
async function storeStatus(r: TelemetryRequest): Promise<boolean> {
  if (r.access.role !== 'admin') throw new GatewayError('NOT_ADMIN', 'access denied: only admins can read the telemetry status');
  const telemetry = r.telemetry;
  if (!telemetry) throw new GatewayError('TELEMETRY_OFF');
  const s = await telemetry.store.status?.();
  const q = telemetry.recorder.stats;
  sendJson(
    r.res,
    200,
    {
      backend: s?.backend ?? 'sqlite',
      available: s?.available ?? true,
      failing_since: s?.failingSince ? new Date(s.failingSince).toISOString() : null,
      last_error: s?.lastError ?? null,
      retries: s?.retries ?? 0,
      queued: q.queued,
      written_records: q.written,
      dropped_records: q.droppedRecords,
      dropped_captures: q.droppedCaptures,
      failed_writes: q.failedWrites,
    },
    { 'cache-control': 'no-store' },
  );
  return true;
}

async function metrics(r: TelemetryRequest): Promise<boolean> {
  if (!r.telemetry) throw new GatewayError('TELEMETRY_OFF');
  if (!r.access.readMetrics && r.access.role !== 'admin') throw new GatewayError('NO_METRICS_GRANT');
  const body = await r.telemetry.metrics.registry.metrics();
  r.res.writeHead(200, { 'content-type': r.telemetry.metrics.registry.contentType, 'content-length': Buffer.byteLength(body) });
  r.res.end(body);
  return true;
}

const DAY = 86_400_000;
/** The range of a JavaScript Date (±100,000,000 days around 1970), in milliseconds. */
const MAX_TIME = 8.64e15;

/** pathId decodes a request id from the path; malformed percent-encoding is the caller's error. */
function pathId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new GatewayError('BAD_REQUEST', 'the request id in the path is not valid percent-encoding');
  }
}

/** filterFrom reads the common filters; a non-admin is always limited to their own login. */
function filterFrom(r: TelemetryRequest): QueryFilter {
  const q = r.query;
  const user = q.get('user') ?? undefined;
  if (r.access.role !== 'admin') {
    if (user !== undefined && user !== r.identity.login) throw new GatewayError('NOT_ADMIN', "access denied: only admins can read other users' data");
  }
  const to = time(q.get('to'), 'to') ?? Date.now() + 1;
  const from = time(q.get('from'), 'from') ?? Math.max(to - 30 * DAY, -MAX_TIME);
  return {
    from,
    to,
    login: r.access.role === 'admin' ? user : r.identity.login,
    model: q.get('model') ?? undefined,
    provider: q.get('provider') ?? undefined,
    status: httpStatus(q.get('status')),
    session: q.get('session') ?? undefined,
    format: q.get('format') || undefined,
    server: q.get('server') || undefined,
    tool: q.get('tool') || undefined,
    agent: agent(q.get('agent')),
    header: headerFilter(q.get('header')),
  };
}

/** agent reads the `agent` filter: one of the names agents.ts gives. */
function agent(raw: string | null): string | undefined {
  if (raw === null || raw === '') return undefined;
  if (!AGENTS.includes(raw)) throw new GatewayError('BAD_REQUEST', `agent must be one of ${AGENTS.join(', ')}, not "${raw}"`);
  return raw;
}

const HEADER_NAME = /^[a-z0-9_-]{1,100}$/;

/**
 * headerFilter reads `header=name:value`: requests whose captured request headers have
 * this value. Credential headers are never filterable (their values are not kept anyway,
 * and a filter on them would only invite guessing); neither are `tailscale-*` ones, which
 * are not captured.
 */
function headerFilter(raw: string | null): QueryFilter['header'] {
  if (raw === null || raw === '') return undefined;
  const colon = raw.indexOf(':');
  const name = (colon < 0 ? raw : raw.slice(0, colon)).trim().toLowerCase();
  if (colon < 0 || !HEADER_NAME.test(name)) throw new GatewayError('BAD_REQUEST', 'header must be "name:value", the name letters, digits, "-" or "_" (such as "x-session-id:abc")');
  if (REDACTED_HEADERS.has(name) || name.startsWith('tailscale-')) throw new GatewayError('BAD_REQUEST', `header "${name}" cannot be filtered on: keyway never records its value`);
  return { name, value: raw.slice(colon + 1).trim() };
}

/** time reads a `from`/`to` query parameter: an ISO date or milliseconds since the epoch. */
export function time(raw: string | null, name: string): number | undefined {
  if (raw === null || raw === '') return undefined;
  const n = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  // Beyond a Date's range a time cannot be shown back to the caller (toISOString throws).
  if (!Number.isFinite(n) || Math.abs(n) > MAX_TIME) throw new GatewayError('BAD_REQUEST', `${name} must be an ISO date or milliseconds since the epoch`);
  return n;
}

function clampInt(raw: string | null, name: string, fallback: number, min: number, max: number): number {
  if (raw === null || raw === '') return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new GatewayError('BAD_REQUEST', `${name} must be a whole number from ${min} to ${max}, not "${raw}"`);
  return n;
}

/** httpStatus reads the `status` filter: absent or empty means any status; junk is refused, never ignored. */
function httpStatus(raw: string | null): number | undefined {
  if (raw === null || raw === '') return undefined;
  if (!/^[1-5]\d\d$/.test(raw)) throw new GatewayError('BAD_REQUEST', `status must be an HTTP status code from 100 to 599 (such as 404), not "${raw}"`);
  return Number(raw);
}

function describe(f: QueryFilter) {
  return { ...f, from: new Date(f.from!).toISOString(), to: new Date(f.to!).toISOString() };
}

const USAGE_COLUMNS = ['day', 'login', 'model', 'requests', 'errors', 'inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'reasoningTokens', 'costUsd'];

/** sendCsv answers with RFC 4180 CSV: a header row, then `columns` of each row. */
function sendCsv(res: ServerResponse, columns: readonly string[], rows: ReadonlyArray<object>, filename: string): void {
  const esc = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v);
    // Quote, and defuse spreadsheet formulas in free-text cells.
    const safe = /^[=+\-@]/.test(s) && Number.isNaN(Number(s)) ? `'${s}` : s;
    return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };
  const body = [columns.join(','), ...rows.map((row) => columns.map((c) => esc((row as Record<string, unknown>)[c])).join(','))].join('\n') + '\n';
  res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${filename}"`, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
