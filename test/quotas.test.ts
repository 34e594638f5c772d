/**
 * Quotas end to end, against a real keyway and mock upstream: refusals in every format's
 * envelope (JSON and streams) with nothing forwarded, exact charges to every bucket a
 * request touches, refill over time on an injected clock, persistence across restarts and
 * reloads, 1,000 requests in parallel, the API (visibility, refill, CSRF), /metrics, the
 * Warn log, explain, and the chat and Test button going through the same check.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { Identity, IdentitySource } from '../src/identity/identity.js';
import { LOCAL_OWNER } from '../src/identity/identity.js';
import { createLogger } from '../src/log.js';
import { DEFAULT_SETTINGS } from '../src/start.js';
import { estimateCost } from '../src/telemetry/pricing.js';
import { FAKE, postJson, startStack, type Stack } from './helpers.js';

const CAP = 'tailscale.com/cap/aperture';

function person(login: string, nodeId: string, extra: Partial<Identity> = {}): Identity {
  return { login, displayName: login, nodeId, tags: [], groups: [], loopback: false, capMap: {}, ...extra };
}

/** The callers: a user, a tagged device, the local owner (no node id) and an admin. */
const PEOPLE: Record<string, Identity> = {
  alice: person('alice@example.com', 'nALICE1'),
  ci: person('tag:ci', 'nCI1', { tags: ['tag:ci'] }),
  owner: LOCAL_OWNER,
  admin: person('admin@example.com', 'nADMIN1'),
  // Grants from the tailnet policy file arrive with the caller, never validated beforehand.
  carol: person('carol@example.com', 'nCAROL1', { capMap: { [CAP]: [{ role: 'user' }, { models: '**' }, { models: 'ok/**', quotas: [{ bucket: 'daily:<user>' }] }, { models: 'empty-user/**', quotas: [{ bucket: 'ghost:<user>' }] }] } }),
};

const byHeader: IdentitySource = { name: 'test-header', identify: (req: IncomingMessage) => PEOPLE[String(req.headers['x-test-as'] ?? 'owner')] };

const MODELS = ['claude-sonnet-4-5', 'gpt-4o', 'gemini-2.5-flash', 'mystery-model-x'];
const ALL_FORMATS = { anthropic_messages: true, openai_chat: true, openai_responses: true, gemini_generate_content: true };

interface QuotaDoc {
  quotas: Record<string, { capacity: string; rate: string }>;
  /** Provider ID → the buckets its models are charged to. */
  attach: Record<string, string[]>;
}

  // One fake key for every API (the mock checks key prefixes per API; acceptAnyKey turns that off).
function configFor(u: string, q: QuotaDoc): string {
  const providers = Object.fromEntries(Object.keys(q.attach).map((id) => [id, { baseurl: u, apikey: FAKE.providerKey, models: MODELS, compatibility: ALL_FORMATS }]));
  const attach = Object.entries(q.attach).map(([id, buckets]) => ({ models: `${id}/**`, quotas: buckets.map((bucket) => ({ bucket })) }));
  return JSON.stringify({
    providers,
    grants: [
      { src: ['admin@example.com'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } },
      { src: ['alice@example.com', 'tag:ci', '(loopback)'], app: { [CAP]: [{ role: 'user' }, { models: '**' }] } },
      { src: ['*'], app: { [CAP]: attach } },
    ],
    quotas: q.quotas,
  }, null, 2);
}

const MAIN: QuotaDoc = {
  quotas: {
    'empty:<user>': { capacity: '$0.00', rate: '$1.00/day' },
    'empty-dev:<node>': { capacity: '$0.00', rate: '$1.00/hour' },
    'empty-team': { capacity: '$0.00', rate: '$0.00/day' },
    'daily:<user>': { capacity: '$10.00', rate: '$10.00/day' },
    'device:<node>': { capacity: '$10.00', rate: '$10.00/day' },
    team: { capacity: '$100.00', rate: '$10.00/hour' },
  },
  attach: {
    'empty-user': ['empty:<user>'],
    'empty-node': ['empty-dev:<node>'],
    'empty-shared': ['empty-team'],
    ok: ['daily:<user>', 'device:<node>', 'team'],
  },
};

/** One API format: how to call it, the model its price list knows, and its 429 envelope. */
interface FormatCase {
  name: string;
  model: string;
  basis: string;
  path(model: string, stream: boolean): string;
  body(model: string, stream: boolean): Record<string, unknown>;
  refusal(json: any): string;
}

const FORMATS: FormatCase[] = [
  {
    name: 'anthropic messages',
    model: 'claude-sonnet-4-5',
    basis: 'anthropic',
    path: () => '/v1/messages',
    body: (model, stream) => ({ model, stream, max_tokens: 16, messages: [{ role: 'user', content: 'quota me' }] }),
    refusal: (j) => {
      assert.equal(j.type, 'error');
      assert.equal(j.error.type, 'rate_limit_error');
      return j.error.message;
    },
  },
  {
    name: 'openai chat',
    model: 'gpt-4o',
    basis: 'openai',
    path: () => '/v1/chat/completions',
    body: (model, stream) => ({ model, stream, ...(stream ? { stream_options: { include_usage: true } } : {}), messages: [{ role: 'user', content: 'quota me' }] }),
    refusal: (j) => {
      assert.equal(j.error.type, 'insufficient_quota');
      assert.equal(j.error.code, 'insufficient_quota');
      return j.error.message;
    },
  },
  {
    name: 'openai responses',
    model: 'gpt-4o',
    basis: 'openai',
    path: () => '/v1/responses',
    body: (model, stream) => ({ model, stream, input: 'quota me' }),
    refusal: (j) => {
      assert.equal(j.error.type, 'insufficient_quota');
      assert.equal(j.error.code, 'insufficient_quota');
      return j.error.message;
    },
  },
  {
    name: 'gemini',
    model: 'gemini-2.5-flash',
    basis: 'google',
    path: (model, stream) => `/v1beta/models/${encodeURIComponent(model)}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
    body: () => ({ contents: [{ role: 'user', parts: [{ text: 'quota me' }] }] }),
    refusal: (j) => {
      assert.equal(j.error.code, 429);
      assert.equal(j.error.status, 'RESOURCE_EXHAUSTED');
      return j.error.message;
    },
  },
];

async function call(stack: Stack, as: string, f: FormatCase, provider: string, stream: boolean, headers: Record<string, string> = {}) {
  const model = `${provider}/${f.model}`;
  return postJson(stack.url + f.path(model, stream), f.body(model, stream), { 'x-test-as': as, ...headers });
}

/** record waits for the telemetry record of a request and returns it. */
async function record(stack: Stack, id: string | null): Promise<any> {
  assert.ok(id, 'the answer carries x-keyway-request-id');
  for (let i = 0; i < 100; i++) {
    await stack.keyway.telemetry!.recorder.flush();
    const r = await fetch(`${stack.url}/api/requests/${id}`, { headers: { 'x-test-as': 'admin' } });
    if (r.status === 200) return ((await r.json()) as { request: unknown }).request;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`no record for ${id}`);
}

function balance(stack: Stack, bucket: string): number | undefined {
  return stack.keyway.quotas.ledger.peek(bucket)?.balance;
}

async function api(stack: Stack, as: string, path: string, init: RequestInit = {}) {
  const res = await fetch(stack.url + path, { ...init, headers: { 'x-test-as': as, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

describe('quotas', () => {
  let stack: Stack;
  let logs = '';
  const T0 = Date.parse('2026-09-01T12:00:00Z');
  let now = T0;
  before(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        logs += String(chunk);
        done();
      },
    });
    stack = await startStack((u) => configFor(u, MAIN), { identity: byHeader, mock: { acceptAnyKey: true }, log: createLogger('warn', sink), clock: () => now });
  });
  after(() => stack.close());

  // templates × identities × formats × (JSON, stream): the 429 envelope, nothing forwarded.
  const TEMPLATES: Array<{ provider: string; bucket: (who: Identity) => string; retryAfter: string }> = [
    { provider: 'empty-user', bucket: (who) => `empty:${who.login}`, retryAfter: '1' },
    { provider: 'empty-node', bucket: (who) => `empty-dev:${who.nodeId || who.login}`, retryAfter: '1' },
    // A shared bucket that never refills by itself: one period of its unit.
    { provider: 'empty-shared', bucket: () => 'empty-team', retryAfter: '86400' },
  ];
  for (const t of TEMPLATES) {
    for (const as of ['alice', 'ci', 'owner']) {
      test(`refused before forwarding: ${t.provider} as ${as}, every format, JSON and stream`, async () => {
        for (const f of FORMATS) {
          for (const stream of [false, true]) {
            const sent = stack.upstream.requests.length;
            const r = await call(stack, as, f, t.provider, stream);
            const what = `${f.name}${stream ? ' stream' : ''}`;
            assert.equal(r.status, 429, what);
            assert.match(String(r.headers.get('content-type')), /^application\/json/, `${what}: a JSON 429, not a stream`);
            assert.equal(r.headers.get('retry-after'), t.retryAfter, what);
            const message = f.refusal(r.json);
            assert.match(message, new RegExp(`^quota exceeded: bucket "${t.bucket(PEOPLE[as]!).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" is at \\$0\\.00`), what);
            assert.equal(stack.upstream.requests.length, sent, `${what}: nothing was forwarded`);
          }
        }
      });
    }
  }

  test('a refusal is logged at warn with login, model and bucket, and recorded', async () => {
    logs = '';
    const r = await call(stack, 'alice', FORMATS[0]!, 'empty-user', false);
    assert.equal(r.status, 429);
    const line = logs.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === 'request refused: quota exceeded');
    assert.ok(line, logs);
    assert.equal(line.level, 40, 'warn');
    assert.equal(line.login_name, 'alice@example.com');
    assert.equal(line.model, 'empty-user/claude-sonnet-4-5');
    assert.equal(line.bucket, 'empty:alice@example.com');
    assert.match(line.detail, /quota exceeded/);
    await stack.keyway.telemetry!.recorder.flush();
    const listed = await api(stack, 'admin', '/api/requests?status=429&limit=1');
    const rec = listed.json.requests[0];
    assert.equal(rec.errorCode, 'QUOTA_EXCEEDED');
    assert.deepEqual(rec.quotas, [{ bucket: 'empty:alice@example.com', quota: 'empty:<user>', nanos: 0, outcome: 'refused' }]);
  });

  // templates × identities × formats × (JSON, stream): each bucket charged the request's cost.
  for (const as of ['alice', 'ci', 'owner']) {
    test(`charged after the answer: every bucket, the exact cost, as ${as}`, async () => {
      const who = PEOPLE[as]!;
      const buckets = [`daily:${who.login}`, `device:${who.nodeId || who.login}`, 'team'];
      for (const f of FORMATS) {
        for (const stream of [false, true]) {
          const what = `${f.name}${stream ? ' stream' : ''}`;
          // A bucket nobody has used yet is full.
          const before = buckets.map((b, i) => balance(stack, b) ?? (i < 2 ? 10e9 : 100e9));
          const r = await call(stack, as, f, 'ok', stream);
          assert.equal(r.status, 200, `${what}: ${r.text}`);
          const rec = await record(stack, r.headers.get('x-keyway-request-id'));
          assert.ok(rec.usage && rec.usage.inputTokens > 0, what);
          const expected = Math.round(estimateCost({ basis: f.basis, model: f.model, adjustment: 1 }, rec.usage)!.usd * 1e9);
          assert.ok(expected > 0, what);
          assert.deepEqual(rec.quotas, [
            { bucket: buckets[0], quota: 'daily:<user>', nanos: expected, outcome: 'charged' },
            { bucket: buckets[1], quota: 'device:<node>', nanos: expected, outcome: 'charged' },
            { bucket: 'team', quota: 'team', nanos: expected, outcome: 'charged' },
          ], what);
          assert.equal(Math.round(rec.costUsd * 1e9), expected, `${what}: the record's cost and the charge agree`);
          buckets.forEach((b, i) => assert.equal(balance(stack, b), before[i]! - expected, `${what}: ${b}`));
        }
      }
    });
  }

  test('unpriced models, answers without usage and upstream errors charge nothing', async () => {
    const chat = FORMATS[1]!;
    const before = balance(stack, 'daily:alice@example.com')!;
    // A model without a price: counted as unmetered, the bucket cannot see it.
    const unpriced = await postJson(`${stack.url}/v1/chat/completions`, { model: 'ok/mystery-model-x', messages: [{ role: 'user', content: 'x' }] }, { 'x-test-as': 'alice' });
    assert.equal(unpriced.status, 200);
    const u = await record(stack, unpriced.headers.get('x-keyway-request-id'));
    assert.deepEqual(u.quotas.map((q: any) => [q.outcome, q.nanos]), [['unpriced', 0], ['unpriced', 0], ['unpriced', 0]]);
    // A stream that reports no usage (no include_usage).
    const noUsage = await postJson(`${stack.url}/v1/chat/completions`, { model: 'ok/gpt-4o', stream: true, messages: [{ role: 'user', content: 'x' }] }, { 'x-test-as': 'alice' });
    assert.equal(noUsage.status, 200);
    const n = await record(stack, noUsage.headers.get('x-keyway-request-id'));
    assert.deepEqual(n.quotas.map((q: any) => q.outcome), ['no_usage', 'no_usage', 'no_usage']);
    // An upstream error answer: charged, zero.
    const failed = await call(stack, 'alice', chat, 'ok', false, { 'x-mock-scenario': 'error=500' });
    assert.equal(failed.status, 500);
    const e = await record(stack, failed.headers.get('x-keyway-request-id'));
    assert.deepEqual(e.quotas.map((q: any) => [q.outcome, q.nanos]), [['charged', 0], ['charged', 0], ['charged', 0]]);
    assert.equal(balance(stack, 'daily:alice@example.com'), before);
    const listed = await api(stack, 'alice', '/api/quotas');
    const daily = listed.json.buckets.find((b: any) => b.bucket === 'daily:alice@example.com');
    assert.equal(daily.unmetered_requests, 2, 'the unpriced and the usage-less request');
  });

  test('a stream cut off midway is charged the usage seen so far, within 300 ms of its end', async () => {
    const f = FORMATS[0]!;
    const daily = () => balance(stack, 'daily:alice@example.com') ?? 10e9;
    const before = daily();
    const res = await fetch(stack.url + f.path('ok/claude-sonnet-4-5', true), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-test-as': 'alice', 'x-mock-scenario': 'die-midstream,chunks=8' },
      body: JSON.stringify(f.body('ok/claude-sonnet-4-5', true)),
    });
    const id = res.headers.get('x-keyway-request-id');
    await res.text().catch(() => '');
    const ended = performance.now();
    while (daily() === before && performance.now() - ended < 1000) await new Promise((r) => setImmediate(r));
    const after = performance.now() - ended;
    assert.ok(after < 300, `charged ${after.toFixed(1)} ms after the end`);
    const rec = await record(stack, id);
    assert.ok(rec.usage.inputTokens > 0, 'message_start carried the input usage');
    const expected = Math.round(estimateCost({ basis: 'anthropic', model: f.model, adjustment: 1 }, rec.usage)!.usd * 1e9);
    assert.deepEqual([rec.quotas[0].outcome, rec.quotas[0].nanos], ['charged', expected]);
    assert.equal(daily(), before - expected);
  });

  test('tailnet grants attach buckets too; one that names no configured quota refuses', async () => {
    const f = FORMATS[1]!;
    const ok = await call(stack, 'carol', f, 'ok', false);
    assert.equal(ok.status, 200);
    const rec = await record(stack, ok.headers.get('x-keyway-request-id'));
    assert.deepEqual(rec.quotas.map((q: any) => [q.bucket, q.outcome]), [['daily:carol@example.com', 'charged'], ['device:nCAROL1', 'charged'], ['team', 'charged']]);
    const sent = stack.upstream.requests.length;
    const ghost = await call(stack, 'carol', f, 'empty-user', false);
    assert.equal(ghost.status, 429);
    // Both the empty bucket of the '*' grant and the undefined one refuse; the undefined one
    // sets the wait (60 s: no rate to go by).
    assert.equal(ghost.headers.get('retry-after'), '60');
    assert.equal(stack.upstream.requests.length, sent);
    await stack.keyway.telemetry!.recorder.flush();
    const refused = (await api(stack, 'admin', '/api/requests?status=429&limit=1&user=carol@example.com')).json.requests[0];
    assert.deepEqual(refused.quotas, [
      { bucket: 'empty:carol@example.com', quota: 'empty:<user>', nanos: 0, outcome: 'refused' },
      { bucket: 'ghost:<user>', quota: 'ghost:<user>', nanos: 0, outcome: 'refused' },
    ]);
    // Alone, the undefined bucket says what is wrong.
    const explained = await api(stack, 'carol', '/api/explain?model=empty-user/gpt-4o');
    assert.deepEqual(explained.json.quotas.buckets.find((b: any) => b.bucket === 'ghost:<user>'), { bucket: 'ghost:<user>', quota: 'ghost:<user>', capacity: null, rate: null, balance: null, balance_nanos: null, passes: false });
    assert.match(explained.json.summary, /ghost:<user> \(not a configured quota\)/);
  });

  test('GET /api/quotas: a user sees the buckets attached to them, never another user’s; admins see all', async () => {
    const alice = await api(stack, 'alice', '/api/quotas');
    assert.equal(alice.status, 200);
    const names = alice.json.buckets.map((b: any) => b.bucket).sort();
    assert.deepEqual(names, ['daily:alice@example.com', 'device:nALICE1', 'empty-dev:nALICE1', 'empty-team', 'empty:alice@example.com', 'team']);
    assert.ok(!alice.text.includes('tag:ci') && !alice.text.includes('local-owner'), 'nothing of other callers');
    const daily = alice.json.buckets.find((b: any) => b.bucket === 'daily:alice@example.com');
    assert.equal(daily.quota, 'daily:<user>');
    assert.equal(daily.template, '<user>');
    assert.equal(daily.capacity, '$10.00');
    assert.equal(daily.capacity_nanos, 10e9);
    assert.equal(daily.rate, '$10.00/day');
    assert.equal(daily.updated_at, new Date(T0).toISOString());
    assert.equal(daily.balance_nanos, balance(stack, 'daily:alice@example.com'));
    assert.equal(daily.passes, true);
    const empty = alice.json.buckets.find((b: any) => b.bucket === 'empty:alice@example.com');
    assert.deepEqual([empty.passes, empty.retry_after_seconds, empty.balance], [false, 1, '$0.00']);

    const admin = await api(stack, 'admin', '/api/quotas');
    const all = admin.json.buckets.map((b: any) => b.bucket);
    for (const b of ['daily:alice@example.com', 'daily:tag:ci', 'daily:local-owner', 'device:nCI1', 'device:local-owner', 'team', 'empty-team']) assert.ok(all.includes(b), b);
    assert.deepEqual(admin.json.quotas.map((q: any) => q.name), Object.keys(MAIN.quotas));
  });

  test('POST /api/quotas/refill: admins only, clamped at capacity, CSRF-checked from browsers', async () => {
    const body = JSON.stringify({ bucket: 'daily:alice@example.com', amount: '$0.000001' });
    const user = await api(stack, 'alice', '/api/quotas/refill', { method: 'POST', body });
    assert.equal(user.status, 403);
    assert.equal(user.json.code, 'NOT_ADMIN');
    // A browser request without the token, from another site or from our own.
    const cross = await api(stack, 'admin', '/api/quotas/refill', { method: 'POST', body, headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
    assert.equal(cross.status, 403);
    assert.equal(cross.json.code, 'CROSS_SITE', 'refused at the front door');
    const host = new URL(stack.url).host;
    const noToken = await api(stack, 'admin', '/api/quotas/refill', { method: 'POST', body, headers: { origin: stack.url, host, 'sec-fetch-site': 'same-origin' } });
    assert.equal(noToken.json.code, 'CSRF');
    const token = (await api(stack, 'admin', '/api/whoami')).json.csrf_token;
    const before = balance(stack, 'daily:alice@example.com')!;
    const ok = await api(stack, 'admin', '/api/quotas/refill', { method: 'POST', body, headers: { origin: stack.url, 'sec-fetch-site': 'same-origin', 'x-csrf-token': token } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.added_nanos, 1000);
    assert.equal(balance(stack, 'daily:alice@example.com'), before + 1000);
    // Clamped at capacity; without an amount, filled up.
    const big = await api(stack, 'admin', '/api/quotas/refill', { method: 'POST', body: JSON.stringify({ bucket: 'daily:alice@example.com', amount: '$500' }) });
    assert.equal(big.json.bucket.balance_nanos, 10e9);
    const full = await api(stack, 'admin', '/api/quotas/refill', { method: 'POST', body: JSON.stringify({ bucket: 'team' }) });
    assert.equal(full.json.bucket.balance, '$100.00');
    // A bucket nobody has used yet can be named too; unknown ones cannot.
    const unused = await api(stack, 'admin', '/api/quotas/refill', { method: 'POST', body: JSON.stringify({ bucket: 'daily:bob@example.com', amount: '$1' }) });
    assert.equal(unused.status, 200);
    assert.equal(unused.json.added_nanos, 0, 'a new bucket starts full');
    for (const [b, code] of [[{ bucket: 'weekly:bob' }, 'UNKNOWN_BUCKET'], [{ bucket: 'daily:<user>' }, 'UNKNOWN_BUCKET'], [{ bucket: 'team', amount: '5' }, 'BAD_REQUEST'], [{}, 'BAD_REQUEST']] as const) {
      const r = await api(stack, 'admin', '/api/quotas/refill', { method: 'POST', body: JSON.stringify(b) });
      assert.equal(r.json.code, code, JSON.stringify(b));
    }
  });

  test('/metrics shows balances and refusals', async () => {
    const r = await api(stack, 'admin', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.text, /keyway_quota_balance_usd\{quota="daily:<user>",bucket="daily:alice@example.com"\} 10\n/);
    assert.match(r.text, /keyway_quota_capacity_usd\{quota="team",bucket="team"\} 100\n/);
    assert.match(r.text, /keyway_quota_rejections_total\{quota="empty:<user>",bucket="empty:alice@example.com"\} \d+/);
    assert.match(r.text, /keyway_quota_charged_usd_total\{quota="team",bucket="team"\} 0\.\d+/);
    assert.match(r.text, /keyway_quota_unmetered_requests_total\{quota="daily:<user>",reason="unpriced"\} 1/);
  });

  test('GET /api/quotas/history: refusals and charges per period; users only see their own buckets', async () => {
    const admin = await api(stack, 'admin', `/api/quotas/history?from=${Date.now() - 3_600_000}&every=hour`);
    assert.equal(admin.status, 200);
    const refused = admin.json.rows.filter((r: any) => r.bucket === 'empty-team').reduce((n: number, r: any) => n + r.refused, 0);
    assert.ok(refused >= 3 * 8, `every refusal of the shared bucket is counted (${refused})`);
    const alice = await api(stack, 'alice', '/api/quotas/history');
    assert.ok(alice.json.rows.length > 0);
    assert.ok(alice.json.rows.every((r: any) => !r.bucket.includes('tag:ci') && !r.bucket.includes('local-owner')));
    const other = await api(stack, 'alice', '/api/quotas/history?bucket=daily:tag:ci');
    assert.equal(other.status, 403);
  });

  test('explain names the buckets a request would charge and whether it would pass now', async () => {
    const ok = await api(stack, 'alice', '/api/explain?model=ok/gpt-4o&format=openai_chat');
    assert.equal(ok.json.quotas.passes, true);
    assert.deepEqual(ok.json.quotas.buckets.map((b: any) => b.bucket), ['daily:alice@example.com', 'device:nALICE1', 'team']);
    assert.match(ok.json.summary, /quotas: charges daily:alice@example.com \(\$[\d.]+ of \$10\.00\).*would pass now/);
    const refused = await api(stack, 'alice', '/api/explain?model=empty-user/gpt-4o');
    assert.equal(refused.json.quotas.passes, false);
    assert.match(refused.json.summary, /would be refused now with 429: empty:alice@example.com is not above \$0/);
    assert.equal(ok.json.quotas.priced, true);
    const unpriced = await api(stack, 'alice', '/api/explain?model=ok/mystery-model-x&format=openai_chat');
    assert.equal(unpriced.json.quotas.priced, false);
    assert.match(unpriced.json.summary, /ok\/mystery-model-x has no known price, so its requests are charged \$0\.00/);
    const asCi = await api(stack, 'admin', '/api/explain?model=ok/gpt-4o&as=tag:ci');
    assert.deepEqual(asCi.json.quotas.buckets.map((b: any) => b.bucket), ['daily:tag:ci', 'device:tag:ci', 'team']);
  });

  test('the Test button and the chat go through the same check, and name the bucket', async () => {
    const sent = stack.upstream.requests.length;
    const t = await api(stack, 'alice', '/api/models/test', { method: 'POST', body: JSON.stringify({ provider: 'empty-user', model: 'gpt-4o' }) });
    assert.equal(t.status, 200);
    assert.deepEqual([t.json.ok, t.json.status, t.json.quota.bucket, t.json.quota.retry_after], [false, 429, 'empty:alice@example.com', 1]);
    assert.match(t.json.error, /quota exceeded/);
    const conv = await api(stack, 'alice', '/api/chat/conversations', { method: 'POST', body: JSON.stringify({ title: 'q' }) });
    const id = conv.json.id;
    const refused = await api(stack, 'alice', `/api/chat/conversations/${id}/messages`, { method: 'POST', body: JSON.stringify({ model: 'empty-user/claude-sonnet-4-5', content: 'hello' }) });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.deepEqual([refused.json.code, refused.json.bucket, refused.json.retry_after], ['QUOTA_EXCEEDED', 'empty:alice@example.com', 1]);
    assert.equal(stack.upstream.requests.length, sent, 'nothing was forwarded');
    assert.deepEqual((await api(stack, 'alice', `/api/chat/conversations/${id}`)).json.messages, [], 'the refused message is not kept');
    // Through a bucket with money the chat answers and is charged like any request.
    const before = balance(stack, 'daily:alice@example.com')!;
    const answered = await api(stack, 'alice', `/api/chat/conversations/${id}/messages`, { method: 'POST', body: JSON.stringify({ model: 'ok/claude-sonnet-4-5', content: 'hello' }) });
    assert.equal(answered.status, 200);
    const done = answered.text.split('\n\n').map((f) => f.replace(/^data: /, '')).filter(Boolean).map((f) => JSON.parse(f)).find((e) => e.type === 'done');
    const rec = await record(stack, done.request_id);
    assert.equal(rec.client, 'chat-ui');
    assert.ok(rec.quotas[0].nanos > 0);
    assert.equal(balance(stack, 'daily:alice@example.com'), before - rec.quotas[0].nanos);
  });
});

describe('quota refill, persistence and reload', () => {
  // 10 nanodollars a millisecond into a bucket of 10,000: one request puts it in debt.
  const TINY: QuotaDoc = {
    quotas: { 'tiny:<user>': { capacity: '$0.00001', rate: '$0.864/day' }, team: { capacity: '$50.00', rate: '$1.00/day' } },
    attach: { ok: ['tiny:<user>', 'team'] },
  };
  let stack: Stack;
  let now = Date.parse('2026-09-02T08:00:00Z');
  const clock = () => now;
  before(async () => {
    stack = await startStack((u) => configFor(u, TINY), { identity: byHeader, mock: { acceptAnyKey: true }, clock });
  });
  after(() => stack.close());

  test('a bucket in debt refuses until refill brings it above zero, then passes; refill stops at capacity', async () => {
    const f = FORMATS[0]!;
    const first = await call(stack, 'alice', f, 'ok', false);
    assert.equal(first.status, 200);
    const cost = (await record(stack, first.headers.get('x-keyway-request-id'))).quotas[0].nanos as number;
    assert.ok(cost > 10_000, `one request costs more than the bucket holds (${cost})`);
    assert.equal(balance(stack, 'tiny:alice@example.com'), 10_000 - cost, 'charged below zero');
    const needMs = Math.ceil((cost - 10_000 + 1) / 10);
    const refused = await call(stack, 'alice', f, 'ok', false);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), String(Math.ceil(needMs / 1000)));
    now += needMs - 1;
    assert.equal((await call(stack, 'alice', f, 'ok', true)).status, 429, 'one millisecond early: still in debt');
    now += 1;
    assert.equal(balance(stack, 'tiny:alice@example.com')! > 0, true);
    const again = await call(stack, 'alice', f, 'ok', true);
    assert.equal(again.status, 200, 'above zero: passes');
    await record(stack, again.headers.get('x-keyway-request-id'));
    now += 7 * 86_400_000;
    assert.equal(balance(stack, 'tiny:alice@example.com'), 10_000, 'a week later: full, not more');
    // Leave it in debt for the restart below.
    await record(stack, (await call(stack, 'alice', f, 'ok', false)).headers.get('x-keyway-request-id'));
  });

  test('balances survive a restart', async () => {
    const tiny = balance(stack, 'tiny:alice@example.com');
    const team = balance(stack, 'team');
    assert.ok(tiny! < 0 && team! < 50e9);
    const dir = stack.dataDir;
    await stack.keyway.close(100);
    const again = await startStack(() => '', { identity: byHeader, clock, upstream: stack.upstream, reuseDataDir: dir });
    const closeOld = stack.close.bind(stack);
    stack.keyway = again.keyway;
    stack.url = again.url;
    stack.close = async () => {
      await again.close();
      await closeOld().catch(() => {});
    };
    assert.equal(balance(stack, 'tiny:alice@example.com'), tiny);
    assert.equal(balance(stack, 'team'), team);
    assert.equal((await call(stack, 'alice', FORMATS[1]!, 'ok', false)).status, 429, 'still in debt after the restart');
  });

  test('a reload keeps the buckets it keeps, clamps a smaller capacity and forgets removed quotas', async () => {
    const team = balance(stack, 'team')!;
    assert.ok(team > 20e9);
    // team shrinks to $20 (below its balance), tiny:<user> is removed.
    const smaller: QuotaDoc = { quotas: { team: { capacity: '$20.00', rate: '$1.00/day' } }, attach: { ok: ['team'] } };
    await writeFile(stack.configPath, configFor(stack.upstream.url, smaller));
    assert.equal(await stack.keyway.runtime.reload('file'), true);
    assert.equal(balance(stack, 'team'), 20e9, 'clamped to the new capacity (the excess is lost)');
    assert.equal(balance(stack, 'tiny:alice@example.com'), undefined, 'forgotten');
    assert.equal((await call(stack, 'alice', FORMATS[1]!, 'ok', false)).status, 200, 'no longer charged to the removed quota');
    // Added back, it starts full; and the removal reached the database too.
    await writeFile(stack.configPath, configFor(stack.upstream.url, TINY));
    assert.equal(await stack.keyway.runtime.reload('file'), true);
    const listed = await api(stack, 'alice', '/api/quotas');
    assert.equal(listed.json.buckets.find((b: any) => b.bucket === 'tiny:alice@example.com').balance_nanos, 10_000);
    await stack.keyway.quotas.ledger.flush();
    const rows = await stack.keyway.telemetry!.store.quotaHistory({ from: 0, to: Date.now() + 1, every: 'day' });
    assert.ok(rows.length > 0);
  });
});

describe('quota concurrency', () => {
  const POOL: QuotaDoc = {
    quotas: { pool: { capacity: '$1000.00', rate: '$1000.00/day' }, 'nearly-empty': { capacity: '$0.0001', rate: '$0.00/day' } },
    attach: { ok: ['pool'], 'empty-user': ['nearly-empty'] },
  };
  let stack: Stack;
  const now = Date.parse('2026-09-03T08:00:00Z');
  // A thousand requests at once open a thousand connections from one address: no per-peer cap here.
  before(async () => {
    stack = await startStack((u) => configFor(u, POOL), { identity: byHeader, mock: { acceptAnyKey: true }, clock: () => now, settings: { clientLimits: { ...DEFAULT_SETTINGS.clientLimits, maxConnectionsPerPeer: 0 } } });
  });
  after(() => stack.close());

  async function settled(n: number): Promise<void> {
    for (let i = 0; i < 500; i++) {
      await stack.keyway.telemetry!.recorder.flush();
      const usage = await api(stack, 'admin', '/api/usage');
      if (usage.json.totals.requests >= n) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`fewer than ${n} requests recorded`);
  }

  test('1,000 parallel requests against one bucket charge exactly 1,000 × cost', async () => {
    const f = FORMATS[1]!;
    const first = await call(stack, 'alice', f, 'ok', false);
    const cost = (await record(stack, first.headers.get('x-keyway-request-id'))).quotas[0].nanos as number;
    assert.ok(cost > 0);
    const results = await Promise.all(Array.from({ length: 1000 }, () => call(stack, 'alice', f, 'ok', false)));
    assert.ok(results.every((r) => r.status === 200));
    await settled(1001);
    assert.equal(balance(stack, 'pool'), 1000e9 - 1001 * cost);
  });

  test('the check is best-effort: parallel requests may all pass a nearly empty bucket, and every one is charged', async () => {
    const f = FORMATS[1]!;
    const results = await Promise.all(Array.from({ length: 20 }, () => call(stack, 'alice', f, 'empty-user', false)));
    const passed = results.filter((r) => r.status === 200);
    assert.ok(passed.length > 1, 'more than one got through before the first was charged');
    await settled(1001 + 20);
    const recs = await Promise.all(passed.map((r) => record(stack, r.headers.get('x-keyway-request-id'))));
    const charged = recs.reduce((sum, r) => sum + r.quotas[0].nanos, 0);
    assert.equal(balance(stack, 'nearly-empty'), 100_000 - charged, 'in debt by exactly what they cost');
    assert.equal((await call(stack, 'alice', f, 'empty-user', false)).status, 429);
  });
});

describe('keyway explain and quotas', () => {
  test('names the buckets; with --data-dir it says whether the request would pass now', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const { fileURLToPath } = await import('node:url');
    const run = promisify(execFile);
    const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
    // A rate so slow that the real clock of the command cannot lift the debt meanwhile.
    const doc: QuotaDoc = { quotas: { 'tiny:<user>': { capacity: '$0.00001', rate: '$0.00001/month' }, team: { capacity: '$5.00', rate: '$5.00/day' } }, attach: { ok: ['tiny:<user>', 'team'] } };
    const stack = await startStack((u) => configFor(u, doc), { identity: byHeader, mock: { acceptAnyKey: true } });
    const explain = async (...extra: string[]) => {
      const args = [cli, 'explain', '--as', 'alice@example.com', '--node', 'nALICE1', '--model', 'ok/claude-sonnet-4-5', '--json', ...extra, stack.configPath];
      const { stdout } = await run(process.execPath, args).catch((e: { stdout: string }) => e);
      return JSON.parse(stdout);
    };
    try {
      const offline = await explain();
      assert.deepEqual(offline.quotas.buckets.map((b: any) => [b.bucket, b.capacity]), [['tiny:alice@example.com', '$0.00001'], ['team', '$5.00']]);
      assert.equal(offline.quotas.passes, null);
      assert.match(offline.summary, /balances unknown here/);
      assert.equal((await call(stack, 'alice', FORMATS[0]!, 'ok', false)).status, 200);
      for (let i = 0; i < 100 && (balance(stack, 'tiny:alice@example.com') ?? 0) >= 0; i++) await new Promise((r) => setTimeout(r, 5));
      await stack.keyway.quotas.ledger.flush();
      const saved = await explain('--data-dir', stack.dataDir);
      assert.equal(saved.quotas.passes, false);
      assert.match(saved.quotas.buckets[0].balance, /^-\$0\.000\d+$/);
      assert.equal(saved.quotas.buckets[1].passes, true);
      assert.match(saved.summary, /would be refused now with 429: tiny:alice@example.com is not above \$0/);
    } finally {
      await stack.close();
    }
  });
});

describe('quotas with telemetry off', () => {
  test('requests are still checked and charged; history needs telemetry', async () => {
    const doc: QuotaDoc = { quotas: { 'daily:<user>': { capacity: '$1.00', rate: '$1.00/day' } }, attach: { ok: ['daily:<user>'] } };
    const now = Date.parse('2026-09-04T08:00:00Z');
    const stack = await startStack((u) => configFor(u, doc), { identity: byHeader, mock: { acceptAnyKey: true }, clock: () => now, settings: { telemetry: false } });
    try {
      for (const f of FORMATS) {
        for (const stream of [false, true]) {
          const before = balance(stack, 'daily:alice@example.com') ?? 1e9;
          const r = await call(stack, 'alice', f, 'ok', stream);
          assert.equal(r.status, 200);
          for (let i = 0; i < 100 && balance(stack, 'daily:alice@example.com') === before; i++) await new Promise((res) => setTimeout(res, 3));
          assert.ok(balance(stack, 'daily:alice@example.com')! < before, `${f.name}${stream ? ' stream' : ''} was charged`);
        }
      }
      const history = await api(stack, 'alice', '/api/quotas/history');
      assert.equal(history.json.code, 'TELEMETRY_OFF');
      assert.equal((await api(stack, 'alice', '/api/quotas')).json.telemetry, false);
    } finally {
      await stack.close();
    }
  });
});
