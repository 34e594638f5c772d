/**
 * The storage interface's contract, written once and run against both backends: SQLite
 * in `npm test` (storage-sqlite.test.ts) and PostgreSQL in `npm run test:pg`
 * (pgtest/storage-pg.test.ts). Every read API, the purge, the S3 export's cursor, quota
 * balances and chats must answer the same on each; a backend that differs fails here.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Capture, RequestRecord } from '../src/telemetry/record.js';
import type { WorkerTelemetryStore } from '../src/telemetry/store.js';

export interface ContractStore {
  store: WorkerTelemetryStore;
  close(): Promise<void>;
}

const DAY = 86_400_000;
/** Monday 2026-03-02, 10:00 UTC. */
const T0 = Date.UTC(2026, 2, 2, 10);

let n = 0;
function record(over: Partial<RequestRecord> = {}): RequestRecord {
  n++;
  const startedAt = over.startedAt ?? T0;
  return {
    id: `req_${String(startedAt).padStart(14, '0')}_${String(n).padStart(4, '0')}`,
    startedAt,
    durationMs: 120.5,
    ttfbMs: 20.25,
    login: 'alice@example.com',
    nodeId: 'nTEST1',
    tags: ['tag:dev'],
    userAgent: 'claude-cli/2.0.1 (external, cli)',
    client: 'api',
    format: 'anthropic_messages',
    providerFormat: null,
    path: '/v1/messages',
    requestedModel: 'claude-haiku-4-5',
    provider: 'anthropic',
    upstreamModel: 'claude-haiku-4-5',
    status: 200,
    errorCode: null,
    errorClass: null,
    stream: true,
    usage: { inputTokens: 100, outputTokens: 50, cacheReadTokens: 10, cacheWrite5mTokens: 5, cacheWrite1hTokens: 1, reasoningTokens: 0, webSearchCount: 0 },
    toolCalls: [],
    stopReason: 'end_turn',
    sessionId: 'sess-a',
    credentialSource: 'provider',
    credentialFingerprint: null,
    pricing: { basis: 'anthropic', model: 'claude-haiku-4-5', adjustment: 1 },
    quotas: [],
    ...over,
  };
}

function capture(r: RequestRecord, over: Partial<Capture> = {}): Capture {
  return {
    requestId: r.id,
    requestHeaders: { 'content-type': 'application/json', 'x-team': 'blue' },
    requestBody: `{"model":"${r.requestedModel}","messages":[{"role":"user","content":"hi ü"}]}`,
    requestTruncated: false,
    responseHeaders: { 'content-type': 'text/event-stream' },
    responseBody: 'event: message_stop\ndata: {}\n\n',
    responseTruncated: true,
    upstreamRequestBody: null,
    upstreamResponseBody: null,
    ...over,
  };
}

/** A small mixed history: two users, two models, an error, an MCP call, tool calls, quotas, hooks. */
function history(): Array<{ record: RequestRecord; capture: Capture | null }> {
  const a1 = record({ toolCalls: [{ name: 'read_file', arguments: '{"path":"a"}' }, { name: 'ls' }], stopReason: 'tool_use' });
  const a2 = record({ startedAt: T0 + 1000, sessionId: 'sess-a', quotas: [{ bucket: 'daily:alice@example.com', quota: 'daily', nanos: 1500, outcome: 'charged' }] });
  const b1 = record({
    startedAt: T0 + DAY,
    login: 'bob@example.com',
    userAgent: 'codex_exec/0.1',
    format: 'openai_responses',
    requestedModel: 'gpt-test',
    provider: 'openai',
    upstreamModel: 'gpt-test-1',
    sessionId: 'sess-b',
    pricing: null,
    credentialSource: 'client',
    credentialFingerprint: 'kf_00000000000000aa',
    hooks: [{ hook: 'guard', event: 'pre_request', verdict: 'allow', ms: 1.5 }, { hook: 'audit', event: 'entire_request', verdict: 'queued', ms: null }],
    quotas: [{ bucket: 'daily:bob@example.com', quota: 'daily', nanos: 0, outcome: 'refused' }],
  });
  const b2 = record({ startedAt: T0 + DAY + 5, login: 'bob@example.com', status: 502, errorCode: 'UPSTREAM_UNREACHABLE', errorClass: 'gateway', usage: null, sessionId: 'sess-b', requestedModel: 'claude-haiku-4-5', provider: null, upstreamModel: null, pricing: null });
  const mcp = record({
    startedAt: T0 + 2000,
    format: 'mcp',
    requestedModel: 'search',
    provider: 'docs',
    upstreamModel: 'search',
    usage: null,
    pricing: null,
    stopReason: 'ok',
    requestBytes: 120,
    responseBytes: 4096,
  });
  return [
    { record: a1, capture: capture(a1) },
    { record: a2, capture: capture(a2, { requestHeaders: { 'content-type': 'application/json', 'x-team': 'red' } }) },
    { record: b1, capture: null },
    { record: b2, capture: capture(b2) },
    { record: mcp, capture: null },
  ];
}

const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

/** storageContract defines the suite; `open` gives each test an empty store of one backend. */
export function storageContract(backend: string, open: () => Promise<ContractStore>): void {
  const withStore = (name: string, fn: (store: WorkerTelemetryStore) => Promise<void>) =>
    test(`${backend}: ${name}`, async () => {
      const s = await open();
      try {
        await fn(s.store);
      } finally {
        await s.close();
      }
    });

  withStore('insert prices records; usage totals and every grouping', async (store) => {
    const items = history();
    const costs = await store.insert(items);
    assert.equal(costs.length, items.length);
    assert.ok(typeof costs[0] === 'number' && costs[0] > 0, 'a priced model has a cost');
    assert.equal(costs[2], null, 'no pricing, no cost');
    const { totals } = await store.usage({});
    assert.equal(totals.requests, 4, 'MCP calls are not inference usage');
    assert.equal(totals.errors, 1);
    assert.equal(totals.inputTokens, 300);
    assert.equal(totals.outputTokens, 150);
    assert.equal(totals.cacheReadTokens, 30);
    assert.equal(totals.cacheWriteTokens, 18);
    near(totals.costUsd, (costs[0] ?? 0) + (costs[1] ?? 0), 'cost');

    const byDay = await store.usage({}, 'day');
    assert.deepEqual(byDay.groups.map((g) => [g.key, g.requests]), [['2026-03-02', 2], ['2026-03-03', 2]]);
    const byModel = await store.usage({}, 'model');
    assert.deepEqual(byModel.groups.map((g) => g.key).sort(), ['anthropic/claude-haiku-4-5', 'claude-haiku-4-5', 'openai/gpt-test-1']);
    assert.equal(byModel.groups[0]!.key, 'anthropic/claude-haiku-4-5', 'most expensive first');
    for (const g of byModel.groups) {
      const again = await store.usage({ model: g.key! });
      assert.equal(again.totals.requests, g.requests, `filtering by ${g.key} gives its group back`);
    }
    const byLogin = await store.usage({}, 'login');
    assert.deepEqual(byLogin.groups.map((g) => [g.key, g.requests]).sort(), [['alice@example.com', 2], ['bob@example.com', 2]]);
    const byCredential = await store.usage({}, 'credential');
    assert.deepEqual(byCredential.groups.map((g) => g.key).sort(), ['client:kf_00000000000000aa', 'provider']);
    const byAgent = await store.usage({}, 'agent');
    assert.deepEqual(byAgent.groups.map((g) => [g.key, g.requests]).sort(), [['claude-code', 3], ['codex', 1]]);
    const bySession = await store.usage({}, 'session');
    assert.deepEqual(bySession.groups.map((g) => g.key).sort(), ['sess-a', 'sess-b']);
    const byFormat = await store.usage({}, 'format');
    assert.deepEqual(byFormat.groups.map((g) => g.key).sort(), ['anthropic_messages', 'openai_responses']);
    const byProvider = await store.usage({}, 'provider');
    assert.deepEqual(byProvider.groups.map((g) => String(g.key)).sort(), ['anthropic', 'null', 'openai']);
    const empty = await store.usage({ from: 0, to: 1 });
    assert.equal(empty.totals.requests, 0);
    assert.equal(empty.totals.costUsd, 0);
  });

  withStore('filters: time, login, status, session, agent, format, server/tool, a captured header', async (store) => {
    await store.insert(history());
    const count = async (f: Parameters<WorkerTelemetryStore['usage']>[0]) => (await store.usage(f)).totals.requests;
    assert.equal(await count({ from: T0 + DAY }), 2);
    assert.equal(await count({ to: T0 + DAY }), 2);
    assert.equal(await count({ login: 'bob@example.com' }), 2);
    assert.equal(await count({ status: 502 }), 1);
    assert.equal(await count({ session: 'sess-a' }), 2);
    assert.equal(await count({ agent: 'codex' }), 1);
    assert.equal(await count({ provider: 'openai' }), 1);
    assert.equal(await count({ format: 'mcp' }), 1, 'MCP counted when asked for');
    assert.equal(await count({ format: 'mcp', server: 'docs', tool: 'search' }), 1);
    assert.equal(await count({ header: { name: 'x-team', value: 'red' } }), 1);
    assert.equal(await count({ header: { name: 'x-team', value: "blue' OR '1'='1" } }), 0, 'values are parameters, never SQL');
  });

  withStore('requests: newest first, paged with before, with quota and hook entries; detail with capture and tool calls', async (store) => {
    const items = history();
    await store.insert(items);
    const first = await store.requests({}, 2);
    assert.equal(first.requests.length, 2);
    assert.ok(first.next);
    const second = await store.requests({}, 2, first.next!);
    const third = await store.requests({}, 2, second.next!);
    assert.equal(third.next, null);
    const ids = [...first.requests, ...second.requests, ...third.requests].map((r) => r.id);
    const expected = items.map((i) => i.record).sort((a, b) => b.startedAt - a.startedAt || (a.id < b.id ? 1 : -1)).map((r) => r.id);
    assert.deepEqual(ids, expected, 'every request once, newest first (MCP calls included)');
    const b1 = [...first.requests, ...second.requests].find((r) => r.id === items[2]!.record.id)!;
    assert.deepEqual(b1.quotas, items[2]!.record.quotas);
    assert.deepEqual(b1.hooks, items[2]!.record.hooks);
    assert.equal(b1.agent, 'codex');
    assert.equal(b1.credentialFingerprint, 'kf_00000000000000aa');

    const detail = await store.request(items[0]!.record.id);
    assert.ok(detail);
    assert.deepEqual(detail.toolCalls, [{ name: 'read_file', arguments: '{"path":"a"}' }, { name: 'ls' }]);
    const { requestId: _id, ...kept } = items[0]!.capture!;
    assert.deepEqual(detail.capture, kept);
    assert.equal(detail.request.stream, true);
    assert.deepEqual(detail.request.usage, items[0]!.record.usage);
    assert.deepEqual(detail.request.tags, ['tag:dev']);
    assert.equal(detail.request.toolCallCount, 2);
    assert.deepEqual(detail.request.quotas, []);
    const mcp = await store.request(items[4]!.record.id);
    assert.equal(mcp?.request.requestBytes, 120);
    assert.equal(mcp?.request.responseBytes, 4096);
    assert.equal(mcp?.capture, null);
    assert.equal(await store.request('req_missing'), null);
  });

  withStore('a body with a NUL is kept as it is (captures are bytes in a block in both stores)', async (store) => {
    const r = record();
    await store.insert([{ record: r, capture: capture(r, { responseBody: 'before\0after' }) }]);
    assert.equal((await store.request(r.id))?.capture?.responseBody, 'before\0after');
  });

  withStore('bodies keep every character a JSON or an array literal must escape; a lone surrogate becomes U+FFFD', async (store) => {
    const r = record();
    const awkward = '{"a":"b\\"c"} \\\\ {x,y} "NULL" \'q\' \t\r\n\u0001 ü 😀 \u2028';
    await store.insert([
      { record: r, capture: capture(r, { requestBody: awkward, responseBody: 'NULL', upstreamRequestBody: `lone \ud800 surrogate`, upstreamResponseBody: '' }) },
    ]);
    const c = (await store.request(r.id))?.capture;
    assert.equal(c?.requestBody, awkward);
    assert.equal(c?.responseBody, 'NULL');
    assert.equal(c?.upstreamRequestBody, 'lone \uFFFD surrogate');
    assert.equal(c?.upstreamResponseBody, '');
  });

  withStore('a request whose strings hold a NUL or a lone surrogate is stored, not its whole batch lost', async (store) => {
    const odd = record({ requestedModel: 'a\0b\ud800c', path: '/v1/chat/completions\0' });
    const plain = record();
    await store.insert([{ record: odd, capture: null }, { record: plain, capture: null }]);
    const stored = await store.request(odd.id);
    // PostgreSQL keeps U+FFFD for each; SQLite keeps the NUL and reads the surrogate back as three U+FFFD.
    assert.match(stored?.request.requestedModel ?? '', /^a.b.{1,3}c$/su);
    assert.ok(await store.request(plain.id), 'the rest of the batch is stored too');
  });

  withStore('request strings keep the characters a bulk load must escape: tabs, line breaks, backslashes, \\N, \\.', async (store) => {
    const awkward = 'a\tb\nc\rd \\ e \\N \\. \\t "q" \'s\' ü 😀';
    const r = record({ userAgent: awkward, path: `/v1/chat/completions?x=${awkward}`, requestedModel: `m\t${awkward}`, sessionId: `\\N` });
    const empty = record({ userAgent: '', errorCode: null });
    await store.insert([{ record: r, capture: capture(r) }, { record: empty, capture: null }]);
    const stored = (await store.request(r.id))?.request;
    assert.equal(stored?.userAgent, awkward);
    assert.equal(stored?.path, `/v1/chat/completions?x=${awkward}`);
    assert.equal(stored?.requestedModel, `m\t${awkward}`);
    assert.equal(stored?.sessionId, '\\N', 'the text \\N, not a NULL');
    const plain = (await store.request(empty.id))?.request;
    assert.equal(plain?.userAgent, '', 'an empty string stays empty, not NULL');
    assert.equal(plain?.errorCode, null);
    assert.equal((await store.request(r.id))?.capture?.requestBody, capture(r).requestBody);
  });

  withStore('a batch written again (its first write committed, the answer lost) is stored once', async (store) => {
    const a = record();
    const b = record();
    await store.insert([{ record: a, capture: capture(a) }, { record: b, capture: null }]);
    const c = record();
    await store.insert([{ record: a, capture: capture(a) }, { record: b, capture: null }, { record: c, capture: capture(c) }]);
    const { totals } = await store.usage({});
    assert.equal(totals.requests, 3);
    for (const r of [a, c]) assert.equal((await store.request(r.id))?.capture?.requestBody, capture(r).requestBody);
    const page = await store.requests({}, 10);
    assert.deepEqual(page.requests.map((r) => r.id).sort(), [a.id, b.id, c.id].sort());
  });

  withStore('usageTable (CSV), sessions, adoption', async (store) => {
    await store.insert(history());
    const table = await store.usageTable({});
    assert.deepEqual(
      table.map((r) => [r.day, r.login, r.model, r.requests]),
      [
        ['2026-03-02', 'alice@example.com', 'anthropic/claude-haiku-4-5', 2],
        ['2026-03-03', 'bob@example.com', 'claude-haiku-4-5', 1],
        ['2026-03-03', 'bob@example.com', 'openai/gpt-test-1', 1],
      ],
    );
    const sessions = await store.sessions({}, 10);
    assert.deepEqual(sessions.map((s) => [s.sessionId, s.login, s.requests]), [['sess-b', 'bob@example.com', 2], ['sess-a', 'alice@example.com', 2]]);
    assert.equal(sessions[1]!.startedAt, T0);
    assert.equal(sessions[1]!.endedAt, Math.round(T0 + 1000 + 120.5));
    assert.deepEqual(sessions[0]!.models.sort(), ['claude-haiku-4-5', 'openai/gpt-test-1']);
    assert.equal((await store.sessions({}, 1)).length, 1);

    const week = await store.adoption({}, 'week');
    assert.equal(week.totals.users, 2);
    assert.equal(week.totals.requests, 4);
    assert.deepEqual(week.activeUsers.map((p) => [p.period, p.users]), [['2026-03-02', 2]]);
    const day = await store.adoption({}, 'day');
    assert.deepEqual(day.activeUsers.map((p) => [p.period, p.users]), [['2026-03-02', 1], ['2026-03-03', 1]]);
    assert.deepEqual(day.byAgent.map((a) => [a.agent, a.requests]), [['claude-code', 3], ['codex', 1]]);
    const bob = day.byUser.find((u) => u.login === 'bob@example.com')!;
    assert.equal(bob.activeDays, 1);
    assert.deepEqual(bob.agents, ['claude-code', 'codex']);
    assert.equal(bob.lastSeen, T0 + DAY + 5);
  });

  withStore('toolUse: MCP calls and the models\' own tool calls', async (store) => {
    await store.insert(history());
    const tools = await store.toolUse({}, 60_000);
    assert.equal(tools.totals.calls, 1);
    assert.equal(tools.totals.errors, 0);
    assert.deepEqual(tools.byTool.map((t) => [t.key, t.calls]), [['search', 1]]);
    assert.deepEqual(tools.series, [{ at: T0 + 0, outcome: 'ok', calls: 1 }]);
    assert.equal(tools.models.totals.calls, 2);
    assert.equal(tools.models.totals.requests, 1);
    assert.deepEqual(tools.models.byTool.map((t) => [t.key, t.calls]), [['ls', 1], ['read_file', 1]]);
    assert.deepEqual(tools.models.byAgent.map((t) => [t.key, t.calls]), [['claude-code', 2]]);
    assert.deepEqual(tools.models.series.map((s) => [s.at, s.calls]).sort(), [[T0, 1], [T0, 1]]);
    const one = await store.toolUse({ tool: 'ls' }, 60_000);
    assert.equal(one.models.totals.calls, 1);
  });

  withStore('purge by age, tools too; require_export keeps what the export has not sent', async (store) => {
    await store.insert(history());
    assert.deepEqual(await store.purge(T0 + 500, undefined, true), { captures: 0, tools: 0 }, 'nothing exported yet: nothing goes');
    const batch = await store.exportNext(1, T0 + 10 * DAY);
    assert.ok(batch);
    await store.exportCommit(batch.keySeconds, batch.toSeq, T0 + 10 * DAY);
    assert.deepEqual(await store.purge(T0 + DAY * 2, undefined, true), { captures: 1, tools: 0 }, 'only the exported record\'s capture');
    assert.deepEqual(await store.purge(T0 + DAY * 2, T0 + DAY * 2), { captures: 2, tools: 2 });
    const detail = await store.request(history()[0]!.record.id.replace(/_\d{4}$/, '_0000'));
    assert.equal(detail, null);
    assert.equal((await store.usage({})).totals.requests, 4, 'records are never purged');
  });

  withStore('export: next claims in write order, a claim is rebuilt the same, commit moves the cursor, state counts', async (store) => {
    const items = history();
    await store.insert(items.slice(0, 3));
    await store.insert(items.slice(3));
    const before = await store.exportState();
    assert.equal(before.unexported, 5);
    assert.equal(before.oldestUnexportedAt, T0);
    const a = await store.exportNext(3, T0);
    assert.ok(a);
    assert.equal(a.count, 3);
    assert.equal(a.more, true);
    const again = await store.exportNext(3, T0 + 60_000);
    assert.ok(again);
    assert.equal(again.keySeconds, a.keySeconds, 'the claim is rebuilt under its key');
    assert.deepEqual(Buffer.from(again.body), Buffer.from(a.body), 'from the same records');
    assert.equal((await store.exportState()).pending?.count, 3);
    await assert.rejects(store.exportCommit(a.keySeconds + 1, a.toSeq, T0), /not the one claimed/);
    const state = await store.exportCommit(a.keySeconds, a.toSeq, T0 + 1);
    assert.equal(state.exportedRecords, 3);
    assert.equal(state.exportedObjects, 1);
    assert.equal(state.unexported, 2);
    assert.equal(state.pending, null);
    const b = await store.exportNext(100, T0);
    assert.ok(b);
    assert.ok(b.keySeconds > a.keySeconds, 'keys never repeat, even when the clock went back');
    assert.equal(b.count, 2);
    assert.equal(b.more, false);
    await store.exportCommit(b.keySeconds, b.toSeq, T0 + 2);
    assert.equal(await store.exportNext(100, T0 + 3), null, 'nothing waits: no empty object');
    const done = await store.exportState();
    assert.equal(done.unexported, 0);
    assert.equal(done.oldestUnexportedAt, null);
    assert.equal(done.lastExportAt, T0 + 2);
  });

  withStore('quota balances: load what was saved, apply deltas, forget', async (store) => {
    assert.deepEqual(await store.loadQuotaBalances(), []);
    const rule = { capacity: 1_000_000, rateNanos: 0, periodMs: 3_600_000 };
    const row = (bucket: string, balanceNanos: number, updatedAt: number) => ({ bucket, quota: 'daily', balanceNanos, carry: 0, updatedAt, unmetered: 0 });
    await store.saveQuotaBalances([{ row: row('a', 900_000, T0), delta: 100_000, rule }, { row: row('b', 1_000_000, T0), delta: 0, rule }], []);
    assert.deepEqual(await store.loadQuotaBalances(), [row('a', 900_000, T0), row('b', 1_000_000, T0)]);
    await store.saveQuotaBalances([{ row: { ...row('a', 850_000, T0 + 5), unmetered: 1 }, delta: 50_000, rule, unmeteredDelta: 1 }], ['b']);
    const rows = await store.loadQuotaBalances();
    assert.deepEqual(rows.map((r) => [r.bucket, r.balanceNanos, r.unmetered]), [['a', 850_000, 1]]);
    assert.ok(rows[0]!.updatedAt >= T0);
  });

  withStore('quota history: requests, refusals and charges per bucket and day', async (store) => {
    await store.insert(history());
    const rows = await store.quotaHistory({ from: T0 - DAY, to: T0 + 2 * DAY, every: 'day' });
    assert.deepEqual(rows, [
      { period: '2026-03-02', bucket: 'daily:alice@example.com', requests: 1, refused: 0, unmetered: 0, chargedNanos: 1500 },
      { period: '2026-03-03', bucket: 'daily:bob@example.com', requests: 1, refused: 1, unmetered: 0, chargedNanos: 0 },
    ]);
    const hourly = await store.quotaHistory({ from: T0 - DAY, to: T0 + 2 * DAY, every: 'hour', buckets: ['daily:alice@example.com'] });
    assert.deepEqual(hourly.map((r) => [r.period, r.bucket]), [['2026-03-02T10:00', 'daily:alice@example.com']]);
    assert.deepEqual(await store.quotaHistory({ from: T0 - DAY, to: T0 + 2 * DAY, every: 'day', buckets: [] }), []);
  });

  withStore('chats: scoped to their login; append, drop, finish, update, delete', async (store) => {
    const c = { id: 'conv-1', title: 'First', model: 'claude-haiku-4-5', system_prompt: '', created_at: T0, updated_at: T0 };
    await store.createConversation('alice@example.com', c);
    assert.deepEqual(await store.listConversations('alice@example.com'), [c]);
    assert.deepEqual(await store.listConversations('bob@example.com'), [], 'never another user\'s');
    assert.equal(await store.getConversation('bob@example.com', 'conv-1'), null);
    const msg = (id: string, role: 'user' | 'assistant', content: string) => ({ id, role, content, model: c.model, status: 'complete' as const, error: null, request_id: null, created_at: T0 });
    assert.equal(await store.appendMessages('alice@example.com', 'conv-1', [msg('m1', 'user', 'hi'), msg('m2', 'assistant', '')], 0), true);
    assert.equal(await store.appendMessages('bob@example.com', 'conv-1', [msg('x', 'user', 'intrude')], 0), false);
    assert.equal(await store.finishMessage('alice@example.com', 'conv-1', 'm2', 'hello', 'complete', null, 'req_1'), true);
    assert.equal(await store.finishMessage('bob@example.com', 'conv-1', 'm2', 'hijack', 'complete', null, null), false);
    assert.equal(await store.appendMessages('alice@example.com', 'conv-1', [msg('m3', 'assistant', 'again')], 1), true, 'retry drops the last answer');
    const got = await store.getConversation('alice@example.com', 'conv-1');
    assert.deepEqual(got?.messages.map((m) => [m.id, m.content]), [['m1', 'hi'], ['m3', 'again']]);
    // A NUL (which PostgreSQL text cannot hold) does not lose the answer.
    assert.equal(await store.finishMessage('alice@example.com', 'conv-1', 'm3', 'again\0', 'complete', null, null), true);
    assert.match((await store.getConversation('alice@example.com', 'conv-1'))!.messages[1]!.content, /^again/);
    const updated = await store.updateConversation('alice@example.com', 'conv-1', { title: 'Renamed' });
    assert.equal(updated?.title, 'Renamed');
    assert.equal(await store.updateConversation('bob@example.com', 'conv-1', { title: 'no' }), null);
    assert.equal(await store.deleteConversation('bob@example.com', 'conv-1'), false);
    assert.equal(await store.deleteConversation('alice@example.com', 'conv-1'), true);
    assert.equal(await store.getConversation('alice@example.com', 'conv-1'), null);
  });
}
