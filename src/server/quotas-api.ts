/**
 * keyway's quota endpoints. `GET /api/quotas`: the buckets a caller's grants attach (their
 * own `<user>`/`<node>` buckets and the shared ones), never another user's; admins see
 * every bucket. `POST /api/quotas/refill` (admin): add to a bucket, clamped at capacity.
 * `GET /api/quotas/history`: refusals and charges per bucket over time, from telemetry.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Access } from '../access/grants.js';
import { GatewayError } from '../errors.js';
import { parseDollars } from '../governance/money.js';
import type { Identity } from '../identity/identity.js';
import { readJsonObject } from './body.js';
import type { GatewayContext } from './context.js';
import { sendJson } from './respond.js';
import { time } from './telemetry-api.js';

export interface QuotasRequest {
  ctx: GatewayContext;
  req: IncomingMessage;
  res: ServerResponse;
  pathname: string;
  query: URLSearchParams;
  identity: Identity;
  access: Access;
}

/** handleQuotasApi serves `/api/quotas…`; false for other paths. */
export async function handleQuotasApi(r: QuotasRequest): Promise<boolean> {
  const { pathname } = r;
  if (pathname !== '/api/quotas' && !pathname.startsWith('/api/quotas/')) return false;
  const route = `${r.req.method ?? 'GET'} ${pathname}`;
  if (route === 'GET /api/quotas') list(r);
  else if (route === 'POST /api/quotas/refill') await refill(r);
  else if (route === 'GET /api/quotas/history') await history(r);
  else if (pathname === '/api/quotas' || pathname === '/api/quotas/refill' || pathname === '/api/quotas/history') throw new GatewayError('METHOD_NOT_ALLOWED');
  else throw new GatewayError('UNKNOWN_ROUTE', `no such endpoint: ${route}`);
  return true;
}

function list(r: QuotasRequest): void {
  const snapshot = r.ctx.config.current;
  const buckets = r.ctx.quotas.views(snapshot, r.access, r.identity);
  const admin = r.access.role === 'admin';
  const mine = new Set(buckets.map((b) => b.quota));
  const quotas = snapshot.config.quotas
    .filter((q) => admin || mine.has(q.name))
    .map((q) => ({ name: q.name, template: q.template ?? null, capacity: q.capacity, capacity_nanos: q.capacityNanos, rate: q.rate, rate_nanos: q.rateNanos, rate_period_seconds: q.periodMs / 1000 }));
  sendJson(r.res, 200, { buckets, quotas, telemetry: r.ctx.telemetry !== undefined }, { 'cache-control': 'no-store' });
}

async function refill(r: QuotasRequest): Promise<void> {
  if (r.access.role !== 'admin') throw new GatewayError('NOT_ADMIN', 'access denied: only admins can refill quota buckets');
  const body = await readJsonObject(r.req, r.ctx.bodyLimit);
  if (typeof body.bucket !== 'string' || body.bucket === '') throw new GatewayError('BAD_REQUEST', 'body must be {"bucket": "<bucket name>", "amount": "$5.00"} (amount optional: up to capacity)');
  let nanos: number | undefined;
  if (body.amount !== undefined) {
    const amount = typeof body.amount === 'string' ? parseDollars(body.amount) : undefined;
    if (!amount?.ok) throw new GatewayError('BAD_REQUEST', `amount ${amount ? amount.reason : 'must be a dollar amount like "$5.00"'}`);
    nanos = amount.value;
  }
  const { view, added } = r.ctx.quotas.refill(r.ctx.config.current, body.bucket, nanos);
  r.ctx.log.info({ login: r.identity.login, bucket: view.bucket, added_nanos: added, balance_nanos: view.balance_nanos }, 'quota bucket refilled');
  sendJson(r.res, 200, { bucket: view, added_nanos: added });
}

const HOUR = 3_600_000;

async function history(r: QuotasRequest): Promise<void> {
  const telemetry = r.ctx.telemetry;
  if (!telemetry) throw new GatewayError('TELEMETRY_OFF');
  const q = r.query;
  const to = time(q.get('to'), 'to') ?? Date.now() + 1;
  const from = time(q.get('from'), 'from') ?? to - 7 * 24 * HOUR;
  const every = q.get('every') ?? (to - from <= 2 * 24 * HOUR ? 'hour' : 'day');
  if (every !== 'hour' && every !== 'day') throw new GatewayError('BAD_REQUEST', 'every must be "hour" or "day"');
  const wanted = q.get('bucket') ?? undefined;
  let buckets: string[] | undefined = wanted === undefined ? undefined : [wanted];
  if (r.access.role !== 'admin') {
    // A user's history covers the buckets their own grants attach, and nothing else.
    const mine = r.ctx.quotas.views(r.ctx.config.current, r.access, r.identity).map((b) => b.bucket);
    if (wanted !== undefined && !mine.includes(wanted)) throw new GatewayError('NOT_ADMIN', "access denied: only admins can read other users' buckets");
    buckets ??= mine;
  }
  const rows = await telemetry.store.quotaHistory({ from, to, buckets, every });
  sendJson(r.res, 200, { from: new Date(from).toISOString(), to: new Date(to).toISOString(), every, rows }, { 'cache-control': 'no-store' });
}
