/**
 * Adoption and tool-use analytics against real recorded traffic: requests from several
 * logins with the user agents of Claude Code, Codex, Gemini CLI, the SDKs and a plain
 * client go through keyway to the mock upstream; GET /api/adoption counts active users,
 * and requests and cost by user, agent and model (CSV parsed back here); /api/tool-use
 * counts the tool calls the models made; the request log filters by agent and by header.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { LOCAL_OWNER, type Identity, type IdentitySource } from '../src/identity/identity.js';
import type { RequestRecord } from '../src/telemetry/record.js';
import { configText, postJson, startStack, type Stack } from './helpers.js';

const CAP = 'tailscale.com/cap/aperture';
const person = (login: string): Identity => ({ ...LOCAL_OWNER, login, displayName: login, loopback: false });
const identity: IdentitySource = { name: 'test', identify: (req: IncomingMessage) => person(String(req.headers['x-as'] ?? 'alice@example.com')) };
const GRANTS = [
  { src: ['alice@example.com'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } },
  { src: ['*'], app: { [CAP]: [{ role: 'user' }, { models: '**' }] } },
];

const UA = {
  claude: 'claude-cli/2.1.197 (external, cli)',
  codex: 'codex_exec/0.171.0 (Debian 12.0.0; x86_64) xterm (codex_exec; 0.171.0)',
  gemini: 'GeminiCLI-tui/0.61.0/gemini-3-pro (linux; x64; terminal)',
  anthropicSdk: 'Anthropic/JS 1.14.0',
  openaiSdk: 'OpenAI/JS 6.49.0',
  plain: 'curl/8.5.0',
};

/** parseCsv reads RFC 4180 CSV (quoted fields, doubled quotes, commas and newlines inside quotes). */
function parseCsv(text: string): Array<Record<string, string>> {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n') row.push(field), rows.push(row), (row = []), (field = '');
    else field += c;
  }
  assert.equal(quoted, false, 'an unterminated quoted field');
  if (field !== '' || row.length > 0) row.push(field), rows.push(row);
  const [header, ...body] = rows;
  assert.ok(header, 'a header row');
  for (const r of body) assert.equal(r.length, header.length, `row ${JSON.stringify(r)} has as many fields as the header`);
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]!])));
}

describe('adoption analytics', () => {
  let stack: Stack;
  const DAY = 86_400_000;

  before(async () => {
    stack = await startStack(
      (u) =>
        configText(
          {
            anthropic: { baseurl: u, apikey: 'sk-ant-test-provider', authorization: 'x-api-key', models: ['claude-opus-4-8', 'claude-haiku-4-5'], compatibility: { anthropic_messages: true } },
            openai: { baseurl: u, apikey: 'sk-test-openai-provider', models: ['gpt-5'], compatibility: { openai_chat: true } },
          },
          GRANTS,
        ),
      { identity },
    );
    const messages = (as: string, ua: string, model: string, extra: Record<string, string> = {}) =>
      postJson(`${stack.url}/v1/messages`, { model, max_tokens: 32, messages: [{ role: 'user', content: `hello from ${as} via ${ua}` }] }, { 'anthropic-version': '2023-06-01', 'x-as': as, 'user-agent': ua, ...extra });
    const chat = (as: string, ua: string, extra: Record<string, string> = {}) =>
      postJson(`${stack.url}/v1/chat/completions`, { model: 'gpt-5', messages: [{ role: 'user', content: `chat from ${as}` }] }, { 'x-as': as, 'user-agent': ua, ...extra });
    const sent = await Promise.all([
      messages('alice@example.com', UA.claude, 'claude-opus-4-8', { 'x-mock-scenario': 'tool=Bash', 'x-team': 'platform' }),
      messages('alice@example.com', UA.claude, 'claude-opus-4-8', { 'x-mock-scenario': 'tool=Read' }),
      messages('alice@example.com', UA.gemini, 'claude-haiku-4-5'),
      messages('bob@example.com', UA.anthropicSdk, 'claude-haiku-4-5', { 'x-mock-scenario': 'tool=Bash', 'x-team': 'data, "science"' }),
      chat('bob@example.com', UA.codex),
      chat('carol@example.com', UA.openaiSdk),
      chat('carol@example.com', UA.plain),
    ]);
    for (const r of sent) assert.equal(r.status, 200, r.text);
    await stack.keyway.telemetry!.recorder.flush();
    // One more user, eight days ago: a copy of bob's SDK request as if recorded then.
    const recent = await get('/api/requests?user=bob@example.com&agent=anthropic-sdk');
    const detail = await get(`/api/requests/${recent.json.requests[0].id}`);
    const old: RequestRecord = {
      ...detail.json.request,
      id: 'req_00000000000000000001',
      login: 'dave@example.com',
      startedAt: Date.now() - 8 * DAY,
      toolCalls: detail.json.toolCalls,
      pricing: { basis: 'anthropic', model: 'claude-haiku-4-5', adjustment: 1 },
    };
    await stack.keyway.telemetry!.store.insert([{ record: old, capture: null }]);
  });
  after(() => stack?.close());

  async function get(path: string, as = 'alice@example.com'): Promise<{ status: number; json: any; text: string; headers: Headers }> {
    const res = await fetch(stack.url + path, { headers: { 'x-as': as } });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text, headers: res.headers };
  }
  const ok = async (path: string) => {
    const r = await get(path);
    assert.equal(r.status, 200, r.text);
    return r;
  };

  test('active users per day and per week, with requests and cost', async () => {
    const { json: day } = await ok('/api/adoption?bucket=day');
    assert.equal(day.bucket, 'day');
    assert.deepEqual(day.totals.users, 4);
    assert.equal(day.totals.requests, 8);
    const today = new Date().toISOString().slice(0, 10);
    const eightAgo = new Date(Date.now() - 8 * DAY).toISOString().slice(0, 10);
    assert.deepEqual(day.activeUsers.map((p: any) => [p.period, p.users, p.requests]), [[eightAgo, 1, 1], [today, 3, 7]]);
    assert.ok(day.totals.costUsd > 0, 'priced requests have a cost');
    const { json: week } = await ok('/api/adoption?bucket=week');
    for (const p of week.activeUsers) assert.equal(new Date(`${p.period}T00:00:00Z`).getUTCDay(), 1, `${p.period} is a Monday`);
    assert.equal(week.activeUsers.reduce((n: number, p: any) => n + p.requests, 0), 8);
    // A period narrows everything: only today.
    const { json: recent } = await ok(`/api/adoption?from=${Date.now() - DAY}`);
    assert.equal(recent.totals.users, 3);
    assert.deepEqual(recent.byUser.map((u: any) => u.login).sort(), ['alice@example.com', 'bob@example.com', 'carol@example.com']);
  });

  test('requests and cost by user, agent and model add up to the totals', async () => {
    const { json } = await ok('/api/adoption');
    const byLogin = Object.fromEntries(json.byUser.map((u: any) => [u.login, u]));
    assert.equal(byLogin['alice@example.com'].requests, 3);
    assert.deepEqual(byLogin['alice@example.com'].agents, ['claude-code', 'gemini-cli']);
    assert.deepEqual(byLogin['bob@example.com'].agents, ['anthropic-sdk', 'codex']);
    assert.equal(byLogin['dave@example.com'].activeDays, 1);
    const byAgent = Object.fromEntries(json.byAgent.map((a: any) => [a.agent, a.requests]));
    assert.deepEqual(byAgent, { 'claude-code': 2, 'gemini-cli': 1, 'anthropic-sdk': 2, codex: 1, 'openai-sdk': 1, other: 1 });
    const byModel = Object.fromEntries(json.byModel.map((m: any) => [m.model, m.requests]));
    assert.deepEqual(byModel, { 'anthropic/claude-opus-4-8': 2, 'anthropic/claude-haiku-4-5': 3, 'openai/gpt-5': 3 });
    for (const table of ['byUser', 'byAgent', 'byModel', 'activeUsers']) {
      assert.equal(json[table].reduce((n: number, r: any) => n + r.requests, 0), json.totals.requests, `${table} adds up`);
      assert.ok(Math.abs(json[table].reduce((n: number, r: any) => n + r.costUsd, 0) - json.totals.costUsd) < 1e-9, `${table} cost adds up`);
    }
    assert.equal(json.agentSeries.reduce((n: number, r: any) => n + r.requests, 0), 8);
    assert.equal(json.modelSeries.reduce((n: number, r: any) => n + r.requests, 0), 8);
    // One user's view (the per-user dashboard): their agents and models only.
    const { json: bob } = await ok('/api/adoption?user=bob@example.com');
    assert.deepEqual(bob.byAgent.map((a: any) => a.agent).sort(), ['anthropic-sdk', 'codex']);
    assert.deepEqual(bob.byModel.map((m: any) => m.model).sort(), ['anthropic/claude-haiku-4-5', 'openai/gpt-5']);
  });

  test('each table downloads as CSV with a header, and the numbers match the JSON', async () => {
    const { json } = await ok('/api/adoption');
    for (const [table, key, rows] of [
      ['users', 'login', json.byUser],
      ['agents', 'agent', json.byAgent],
      ['models', 'model', json.byModel],
      ['active', 'period', json.activeUsers],
    ] as const) {
      const r = await ok(`/api/adoption?format=csv&table=${table}`);
      assert.match(r.headers.get('content-type') ?? '', /^text\/csv/);
      assert.match(r.headers.get('content-disposition') ?? '', new RegExp(`attachment; filename="keyway-adoption-${table}-day.csv"`));
      const parsed = parseCsv(r.text);
      assert.equal(parsed.length, rows.length, table);
      for (const row of rows as any[]) {
        const line = parsed.find((p) => p[key] === row[key]);
        assert.ok(line, `${table}: ${row[key]}`);
        assert.equal(Number(line.requests), row.requests);
        assert.ok(Math.abs(Number(line.costUsd) - row.costUsd) < 1e-12);
      }
    }
    const users = parseCsv((await ok('/api/adoption?format=csv&table=users')).text);
    assert.equal(users.find((u) => u.login === 'alice@example.com')!.agents, 'claude-code gemini-cli');
    assert.ok(!Number.isNaN(Date.parse(users[0]!.lastSeen!)));
  });

  test('adoption is for admins, and bad parameters get a clear 400', async () => {
    const bob = await get('/api/adoption', 'bob@example.com');
    assert.equal(bob.status, 403);
    assert.equal(bob.json.code, 'NOT_ADMIN');
    for (const [q, message] of [
      ['bucket=month', /bucket must be "day" or "week"/],
      ['format=xml', /format must be "json" or "csv"/],
      ['format=csv', /table must be one of active, users, agents, models/],
      ['format=csv&table=__proto__', /table must be one of/],
      ['from=yesterday', /from must be an ISO date/],
    ] as const) {
      const r = await get(`/api/adoption?${q}`);
      assert.equal(r.status, 400, q);
      assert.match(r.json.error, message, q);
    }
  });

  test('tool use counts the tool calls models made, by tool, agent and user over time', async () => {
    const { json } = await ok('/api/tool-use?bucket=day&from=' + (Date.now() - 30 * DAY));
    const m = json.models;
    assert.equal(m.totals.calls, 4, 'Bash twice today, Read once, and dave\'s copied Bash call');
    assert.deepEqual(Object.fromEntries(m.byTool.map((t: any) => [t.key, t.calls])), { Bash: 3, Read: 1 });
    assert.deepEqual(Object.fromEntries(m.byAgent.map((t: any) => [t.key, t.calls])), { 'claude-code': 2, 'anthropic-sdk': 2 });
    assert.deepEqual(Object.fromEntries(m.byUser.map((t: any) => [t.key, t.calls])), { 'alice@example.com': 2, 'bob@example.com': 1, 'dave@example.com': 1 });
    assert.equal(m.series.reduce((n: number, s: any) => n + s.calls, 0), 4);
    assert.equal(new Set(m.series.map((s: any) => s.at)).size, 2, 'two days');
    // MCP calls stay where they were: none here.
    assert.equal(json.totals.calls, 0);
    // Filters apply: one user, one tool; a user sees only their own.
    assert.equal((await ok('/api/tool-use?user=alice@example.com')).json.models.totals.calls, 2);
    assert.equal((await ok('/api/tool-use?tool=Bash')).json.models.totals.calls, 3);
    const bob = await get('/api/tool-use', 'bob@example.com');
    assert.deepEqual(bob.json.models.byUser.map((u: any) => u.key), ['bob@example.com']);
  });

  test('the request log filters by agent and by a captured header, never a credential one', async () => {
    const claude = await ok('/api/requests?agent=claude-code');
    assert.equal(claude.json.requests.length, 2);
    for (const r of claude.json.requests) assert.equal(r.agent, 'claude-code');
    const other = await ok('/api/requests?agent=other');
    assert.deepEqual(other.json.requests.map((r: any) => r.userAgent), [UA.plain]);
    const team = await ok(`/api/requests?header=${encodeURIComponent('X-Team: platform')}`);
    assert.equal(team.json.requests.length, 1);
    assert.equal(team.json.requests[0].login, 'alice@example.com');
    const quoted = await ok(`/api/requests?header=${encodeURIComponent('x-team:data, "science"')}`);
    assert.equal(quoted.json.requests[0].login, 'bob@example.com');
    assert.equal((await ok('/api/requests?header=x-team:nobody')).json.requests.length, 0);
    // Usage honours the same filters.
    assert.equal((await ok('/api/usage?agent=codex')).json.totals.requests, 1);
    assert.equal((await ok('/api/usage?group_by=agent')).json.groups.length, 6);
    for (const [q, message] of [
      ['agent=vim', /agent must be one of claude-code, codex/],
      ['header=x-api-key:sk-ant-test-provider', /header "x-api-key" cannot be filtered on/],
      ['header=Authorization:Bearer%20x', /header "authorization" cannot be filtered on/],
      ['header=tailscale-user-login:alice', /cannot be filtered on/],
      ['header=novalue', /header must be "name:value"/],
      ['header=%22x%22:1', /header must be "name:value"/],
    ] as const) {
      const r = await get(`/api/requests?${q}`);
      assert.equal(r.status, 400, q);
      assert.match(r.json.error, message, q);
      assert.doesNotMatch(r.text, /sk-ant-test-provider/, 'the error never repeats a credential');
    }
  });
});
