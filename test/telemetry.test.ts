/**
 * Telemetry end to end: every request recorded with usage, cost, session and credential
 * source; captures redacted; nothing recorded holds a credential (a canary search of the
 * database file, the logs and every API answer); persistence across restarts; retention;
 * the bounded queue; SIGTERM drain.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { decompress } from 'zstd-napi';
import type { Identity, IdentitySource } from '../src/identity/identity.js';
import { LOCAL_OWNER } from '../src/identity/identity.js';
import { createLogger } from '../src/log.js';
import { startMockUpstream } from '../src/mock-upstream/index.js';
import { DEFAULT_SETTINGS, startKeyway } from '../src/start.js';
import { Recorder } from '../src/telemetry/recorder.js';
import type { Capture, RequestRecord } from '../src/telemetry/record.js';
import type { TelemetryStore } from '../src/telemetry/store.js';
import { FAKE, configText, postJson, startStack, type Stack } from './helpers.js';

const CAP = 'tailscale.com/cap/aperture';

function providers(u: string) {
  return {
    anthropic: { baseurl: u, authorization: 'x-api-key', auth_mode: 'passthrough', models: ['claude-opus-4-8', 'claude-unpriced-x'], compatibility: { anthropic_messages: true } },
    'anthropic-shared': { baseurl: u, authorization: 'x-api-key', auth_mode: 'passthrough', apikey: 'sk-ant-test-FALLBACK-canary', models: ['claude-sonnet-4-6'], compatibility: { anthropic_messages: true } },
    openai: { baseurl: u, apikey: 'sk-test-OVERRIDE-canary', models: ['gpt-5'], compatibility: { openai_chat: true, openai_responses: true } },
    gemini: { baseurl: u, authorization: 'x-goog-api-key', auth_mode: 'passthrough', models: ['gemini-2.5-flash'], compatibility: { gemini_generate_content: true } },
    local: { baseurl: u, auth_mode: 'none', models: ['llama'] },
  };
}

async function records(stack: Stack, query = ''): Promise<any[]> {
  await stack.keyway.telemetry!.recorder.flush();
  const r = await fetch(`${stack.url}/api/requests?limit=500${query}`);
  assert.equal(r.status, 200);
  return ((await r.json()) as { requests: any[] }).requests;
}

describe('recording', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) => configText(providers(u)));
  });
  after(() => stack.close());

  test('each format, stream and not: usage, model, status, timing, credential source', async () => {
    const calls: Array<[string, unknown, Record<string, string>]> = [
      ['/v1/messages', { model: 'claude-opus-4-8', max_tokens: 16, messages: [{ role: 'user', content: 'one' }] }, { 'x-api-key': FAKE.anthropicKey }],
      ['/v1/messages', { model: 'anthropic/claude-opus-4-8', stream: true, max_tokens: 16, messages: [{ role: 'user', content: 'two' }] }, { 'x-api-key': FAKE.anthropicKey, 'x-mock-scenario': 'chunks=4,cache-read=7' }],
      ['/v1/chat/completions', { model: 'gpt-5', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'three' }] }, {}],
      ['/v1/responses', { model: 'gpt-5', stream: true, input: 'four' }, {}],
      ['/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', { contents: [{ role: 'user', parts: [{ text: 'five' }] }] }, { 'x-goog-api-key': FAKE.googleKey }],
      ['/v1/chat/completions', { model: 'llama', messages: [] }, { authorization: 'Bearer sk-test-should-be-stripped' }],
    ];
    const ids: string[] = [];
    for (const [path, body, headers] of calls) {
      const res = await fetch(stack.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      assert.equal(res.status, 200, path);
      ids.push(res.headers.get('x-keyway-request-id') ?? '');
      await res.text();
    }
    const rows = new Map((await records(stack)).map((r) => [r.id, r]));
    const got = ids.map((id) => rows.get(id));
    assert.ok(got.every(Boolean), 'every request is recorded under the id keyway returned');
    const [a, b, c, d, e, f] = got;
    assert.deepEqual([a.format, a.provider, a.upstreamModel, a.status, a.stream, a.credentialSource], ['anthropic_messages', 'anthropic', 'claude-opus-4-8', 200, false, 'client']);
    assert.ok(a.usage.inputTokens > 0 && a.usage.outputTokens > 0);
    assert.match(a.credentialFingerprint, /^kf_[0-9a-f]{16}$/);
    assert.equal(b.requestedModel, 'anthropic/claude-opus-4-8');
    assert.equal(b.stream, true);
    assert.equal(b.usage.cacheReadTokens, 7);
    assert.equal(b.usage.outputTokens, 4);
    assert.ok(b.ttfbMs !== null && b.ttfbMs >= 0 && b.durationMs >= b.ttfbMs);
    assert.equal(b.credentialFingerprint, a.credentialFingerprint, 'same key, same fingerprint');
    assert.deepEqual([c.format, c.credentialSource, c.credentialFingerprint], ['openai_chat', 'provider', null]);
    assert.ok(c.usage.outputTokens > 0);
    assert.equal(d.format, 'openai_responses');
    assert.ok(d.usage.inputTokens > 0);
    assert.equal(e.format, 'gemini_generate_content');
    assert.ok(e.usage.outputTokens > 0);
    assert.notEqual(e.credentialFingerprint, a.credentialFingerprint);
    assert.equal(f.credentialSource, 'none');
  });

  test('fallback keys and costs: priced models get a cost and its basis, unknown ones none', async () => {
    await postJson(`${stack.url}/v1/messages`, { model: 'claude-sonnet-4-6', max_tokens: 8, messages: [] });
    await postJson(`${stack.url}/v1/messages`, { model: 'claude-unpriced-x', max_tokens: 8, messages: [] }, { 'x-api-key': FAKE.anthropicKey });
    const rows = await records(stack);
    const fallback = rows.find((r) => r.upstreamModel === 'claude-sonnet-4-6');
    assert.equal(fallback.credentialSource, 'fallback');
    assert.ok(fallback.costUsd > 0);
    assert.equal(fallback.costBasis, 'anthropic/claude-sonnet-4-6');
    const opus = rows.find((r) => r.upstreamModel === 'claude-opus-4-8');
    assert.ok(opus.costUsd > 0);
    const unpriced = rows.find((r) => r.upstreamModel === 'claude-unpriced-x');
    assert.equal(unpriced.costUsd, null);
    assert.ok(unpriced.usage.inputTokens > 0, 'usage is still recorded');
  });

  test('tool calls, interrupted streams and refused requests are recorded too', async () => {
    await fetch(`${stack.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': FAKE.anthropicKey, 'x-mock-scenario': 'tool' },
      body: JSON.stringify({ model: 'claude-opus-4-8', stream: true, max_tokens: 8, messages: [{ role: 'user', content: 'tool please' }], tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } }] }),
    }).then((r) => r.text());
    await fetch(`${stack.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': FAKE.anthropicKey, 'x-mock-scenario': 'die-midstream,chunks=10' },
      body: JSON.stringify({ model: 'claude-opus-4-8', stream: true, max_tokens: 8, messages: [{ role: 'user', content: 'die' }] }),
    }).then((r) => r.text()).catch(() => '');
    await postJson(`${stack.url}/v1/chat/completions`, { model: 'no-such-model', messages: [] });
    const rows = await records(stack);
    const tool = rows.find((r) => r.toolCallCount === 1);
    assert.ok(tool, 'a tool call was counted');
    const detail = (await (await fetch(`${stack.url}/api/requests/${tool.id}`)).json()) as any;
    assert.deepEqual(detail.toolCalls.map((t: any) => t.name), ['get_weather']);
    assert.equal(JSON.parse(detail.toolCalls[0].arguments).location, 'Paris');
    const cut = rows.find((r) => r.errorCode === 'UPSTREAM_FAILED');
    assert.ok(cut, 'the interrupted stream is recorded');
    assert.ok(cut.usage && cut.usage.inputTokens > 0, 'with the partial usage seen before the cut');
    const unknown = rows.find((r) => r.requestedModel === 'no-such-model');
    assert.deepEqual([unknown.status, unknown.errorCode, unknown.errorClass, unknown.provider], [404, 'UNKNOWN_MODEL', 'gateway', null]);
  });

  test('captures keep bodies and headers with credentials redacted', async () => {
    const res = await fetch(`${stack.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': FAKE.anthropicKey, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-opus-4-8', stream: true, max_tokens: 8, messages: [{ role: 'user', content: 'capture me' }] }),
    });
    const id = res.headers.get('x-keyway-request-id')!;
    await res.text();
    await stack.keyway.telemetry!.recorder.flush();
    const detail = (await (await fetch(`${stack.url}/api/requests/${id}`)).json()) as any;
    assert.equal(detail.capture.requestHeaders['x-api-key'], '[redacted]');
    assert.equal(detail.capture.requestHeaders['anthropic-version'], '2023-06-01');
    assert.match(detail.capture.requestBody, /capture me/);
    const reassembled = JSON.parse(detail.capture.responseBody);
    assert.equal(reassembled.content[0].text, 'MOCK_OK (anthropic claude-opus-4-8)');
  });

  test('sessions: explicit header, Claude Code header and metadata, Codex header, conversation fingerprint', async () => {
    const send = (headers: Record<string, string>, body: Record<string, unknown>) =>
      postJson(`${stack.url}/v1/messages`, { model: 'claude-opus-4-8', max_tokens: 8, messages: [{ role: 'user', content: 'hello session' }], ...body }, { 'x-api-key': FAKE.anthropicKey, ...headers });
    await send({ 'x-session-id': 'explicit-1', 'x-claude-code-session-id': 'cc-ignored' }, {});
    await send({ 'x-claude-code-session-id': 'cc-header-1' }, {});
    await send({}, { metadata: { user_id: JSON.stringify({ device_id: 'd', account_uuid: 'a', session_id: 'cc-meta-1' }) } });
    await send({}, { metadata: { user_id: 'user_abc_account__session_cc-legacy-1' } });
    await send({ 'session-id': 'codex-1' }, {});
    await send({}, { messages: [{ role: 'user', content: 'first turn' }] });
    await send({}, { messages: [{ role: 'user', content: 'first turn' }, { role: 'assistant', content: 'x' }, { role: 'user', content: 'second' }] });
    await stack.keyway.telemetry!.recorder.flush();
    const sessions = ((await (await fetch(`${stack.url}/api/sessions?limit=500`)).json()) as { sessions: Array<{ sessionId: string; requests: number }> }).sessions;
    const ids = sessions.map((s) => s.sessionId);
    for (const expected of ['explicit-1', 'cc-header-1', 'cc-meta-1', 'cc-legacy-1', 'codex-1']) assert.ok(ids.includes(expected), expected);
    assert.ok(!ids.includes('cc-ignored'));
    const fp = sessions.filter((s) => s.sessionId.startsWith('fp_') && s.requests === 2);
    assert.equal(fp.length, 1, 'a growing conversation keeps its fingerprint');
  });

  test('usage totals, grouping and CSV', async () => {
    const usage = (await (await fetch(`${stack.url}/api/usage?group_by=model`)).json()) as any;
    assert.ok(usage.totals.requests >= 10);
    assert.ok(usage.groups.some((g: any) => g.key === 'anthropic/claude-opus-4-8' && g.costUsd > 0));
    const byDay = (await (await fetch(`${stack.url}/api/usage?group_by=day`)).json()) as any;
    assert.equal(byDay.groups[0].key, new Date().toISOString().slice(0, 10));
    const csv = await (await fetch(`${stack.url}/api/usage.csv`)).text();
    const [header, first] = csv.split('\n');
    assert.equal(header, 'day,login,model,requests,errors,inputTokens,outputTokens,cacheReadTokens,cacheWriteTokens,reasoningTokens,costUsd');
    assert.match(first!, /^\d{4}-\d{2}-\d{2},local-owner,/);
    assert.equal((await fetch(`${stack.url}/api/usage?group_by=color`)).status, 400);
  });

  test('/metrics in Prometheus format for admins', async () => {
    const res = await fetch(`${stack.url}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /keyway_requests_total\{format="anthropic_messages",provider="anthropic",model="claude-opus-4-8",status="200"\} \d+/);
    assert.match(text, /keyway_tokens_total\{provider="anthropic",model="claude-opus-4-8",kind="input"\}/);
    assert.match(text, /keyway_cost_usd_total\{provider="anthropic-shared",model="claude-sonnet-4-6"\}/);
    assert.match(text, /keyway_telemetry_queue_depth \d+/);
    assert.match(text, /keyway_time_to_first_byte_seconds_bucket/);
  });
});

describe('who sees what', () => {
  const people: Record<string, Identity> = {
    alice: { ...LOCAL_OWNER, login: 'alice@example.com', loopback: false },
    bob: { ...LOCAL_OWNER, login: 'bob@example.com', loopback: false },
    ops: { ...LOCAL_OWNER, login: 'ops@example.com', loopback: false },
  };
  const source: IdentitySource = { name: 'test', identify: (req: IncomingMessage) => people[String(req.headers['x-as'])] };
  let stack: Stack;
  before(async () => {
    stack = await startStack(
      (u) =>
        configText(providers(u), [
          { src: ['alice@example.com'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } },
          { src: ['bob@example.com'], app: { [CAP]: [{ role: 'user' }, { models: '**' }] } },
          { src: ['ops@example.com'], app: { [CAP]: [{ role: 'user' }, { read_metrics: true }] } },
        ]),
      { identity: source },
    );
  });
  after(() => stack.close());

  test('users see only their own usage and requests; admins see everyone; /metrics needs read_metrics', async () => {
    const as = (who: string) => ({ 'x-as': who });
    const a = await fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { ...as('alice'), 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-5', messages: [] }) });
    const aliceId = a.headers.get('x-keyway-request-id')!;
    await a.text();
    await postJson(`${stack.url}/v1/chat/completions`, { model: 'gpt-5', messages: [] }, as('bob'));
    await stack.keyway.telemetry!.recorder.flush();
    const bobs = ((await (await fetch(`${stack.url}/api/requests`, { headers: as('bob') })).json()) as any).requests;
    assert.deepEqual([...new Set(bobs.map((r: any) => r.login))], ['bob@example.com']);
    assert.equal((await fetch(`${stack.url}/api/requests/${aliceId}`, { headers: as('bob') })).status, 404, "another user's request reads as not found");
    assert.equal((await fetch(`${stack.url}/api/usage?user=alice@example.com`, { headers: as('bob') })).status, 403);
    const all = ((await (await fetch(`${stack.url}/api/usage?group_by=login`, { headers: as('alice') })).json()) as any).groups.map((g: any) => g.key).sort();
    assert.deepEqual(all, ['alice@example.com', 'bob@example.com']);
    assert.equal((await fetch(`${stack.url}/api/requests/${aliceId}`, { headers: as('alice') })).status, 200);
    assert.equal((await fetch(`${stack.url}/metrics`, { headers: as('bob') })).status, 403);
    assert.equal((await fetch(`${stack.url}/metrics`, { headers: as('ops') })).status, 200);
  });
});

describe('the credential canary', () => {
  test('unique fake keys in every auth mode appear nowhere: not in the database, the logs or any API answer', async () => {
    const canaries = {
      client: 'sk-ant-test-CANARY-client-7f3a91',
      oauth: 'sk-ant-test-oauth-CANARY-oauth-55c2',
      fallback: 'sk-ant-test-CANARY-fallback-0b1e',
      override: 'sk-test-CANARY-override-92dd',
      none: 'sk-test-CANARY-none-1c4f',
      google: 'AIza-test-CANARY-google-8e21',
      query: 'AIza-test-CANARY-query-41aa',
    };
    let logs = '';
    const sink = new Writable({ write(chunk, _enc, done) { logs += String(chunk); done(); } });
    const upstream = await startMockUpstream();
    const dataDir = await mkdtemp(join(tmpdir(), 'keyway-canary-'));
    const configPath = join(dataDir, 'config.hujson');
    await writeFile(configPath, configText({
      pass: { baseurl: upstream.url, authorization: 'x-api-key', auth_mode: 'passthrough', apikey: canaries.fallback, models: ['claude-opus-4-8'], compatibility: { anthropic_messages: true } },
      over: { baseurl: upstream.url, apikey: canaries.override, models: ['gpt-5'], compatibility: { openai_chat: true } },
      none: { baseurl: upstream.url, auth_mode: 'none', apikey: canaries.none, models: ['llama'] },
      gem: { baseurl: upstream.url, authorization: 'x-goog-api-key', auth_mode: 'passthrough', models: ['gemini-2.5-flash'], compatibility: { gemini_generate_content: true } },
      dead: { baseurl: 'http://127.0.0.1:9', apikey: canaries.override, models: ['gpt-dead'] },
    }, undefined, { database: { retention: { duration: '720h' } } }));
    const keyway = await startKeyway({ ...DEFAULT_SETTINGS, port: 0, dataDir, configPath, watch: false, logLevel: 'debug' }, { env: {}, log: createLogger('debug', sink) });
    try {
      const post = (path: string, body: unknown, headers: Record<string, string>) =>
        fetch(keyway.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }).then((r) => r.text());
      const claude = { model: 'claude-opus-4-8', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] };
      await post('/v1/messages', claude, { 'x-api-key': canaries.client });
      await post('/v1/messages', { ...claude, stream: true }, { authorization: `Bearer ${canaries.oauth}`, 'anthropic-beta': 'oauth-2025-04-20' });
      await post('/v1/messages', claude, {});
      await post('/v1/messages', claude, { 'x-api-key': `${canaries.client}-invalid` });
      await post('/v1/chat/completions', { model: 'gpt-5', messages: [] }, { authorization: `Bearer ${canaries.client}` });
      await post('/v1/chat/completions', { model: 'llama', messages: [] }, { 'x-api-key': canaries.client });
      await post('/v1/chat/completions', { model: 'gpt-dead', messages: [] }, { authorization: `Bearer ${canaries.client}` });
      await post('/v1/chat/completions', { model: 'unknown', messages: [] }, { authorization: `Bearer ${canaries.client}` });
      await post('/v1beta/models/gemini-2.5-flash:generateContent', { contents: [] }, { 'x-goog-api-key': canaries.google });
      await post(`/v1beta/models/gemini-2.5-flash:generateContent?key=${canaries.query}`, { contents: [] }, {});
      await keyway.telemetry!.recorder.flush();

      const answers: string[] = [];
      const list = await (await fetch(`${keyway.url}/api/requests?limit=500`)).text();
      answers.push(list);
      for (const r of (JSON.parse(list) as { requests: Array<{ id: string }> }).requests) answers.push(await (await fetch(`${keyway.url}/api/requests/${r.id}`)).text());
      assert.ok(answers.length >= 11);
      for (const path of ['/api/usage?group_by=credential', '/api/usage.csv', '/api/sessions', '/metrics', '/v1/models', '/api/providers', '/api/config', '/aperture/config', '/api/whoami', '/api/config/history']) {
        answers.push(await (await fetch(keyway.url + path)).text());
      }
      await keyway.close(100);
      const files = (await readdir(dataDir)).filter((f) => f.startsWith('keyway.db'));
      assert.ok(files.includes('keyway.db'));
      let dbBytes = (await Promise.all(files.map((f) => readFile(join(dataDir, f))))).map((b) => b.toString('latin1')).join('');
      // Captures are stored zstd-compressed in blocks (migration 9): search what they hold, not the compressed bytes.
      const blocksDb = new Database(join(dataDir, 'keyway.db'), { readonly: true });
      const blocks = blocksDb.prepare('SELECT data FROM capture_blocks').pluck().all() as Buffer[];
      blocksDb.close();
      assert.ok(blocks.length > 0, 'the captures are in blocks');
      dbBytes += blocks.map((b) => decompress(b).toString('latin1')).join('');
      assert.ok(dbBytes.includes('claude-opus-4-8'), 'the decompressed captures are searched');
      for (const [name, secret] of Object.entries(canaries)) {
        // The override/fallback/none keys live in the config file by design; everywhere else they must not.
        assert.ok(!dbBytes.includes(secret), `${name} key found in the database`);
        assert.ok(!logs.includes(secret), `${name} key found in the logs`);
        for (const a of answers) assert.ok(!a.includes(secret), `${name} key found in an API answer: ${a.slice(0, 200)}`);
      }
      // The database does hold the requests: the search above looked at real content.
      const db = new Database(join(dataDir, 'keyway.db'), { readonly: true });
      const count = (db.prepare('SELECT count(*) AS n FROM requests').get() as { n: number }).n;
      const caps = (db.prepare('SELECT count(*) AS n FROM requests WHERE capture_block IS NOT NULL').get() as { n: number }).n;
      db.close();
      assert.equal(count, 10);
      assert.ok(caps >= 8);
    } finally {
      await keyway.close(100).catch(() => {});
      await upstream.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('durability', () => {
  test('records survive a restart; retention purges captures but never metrics', async () => {
    const upstream = await startMockUpstream();
    const dataDir = await mkdtemp(join(tmpdir(), 'keyway-persist-'));
    const configPath = join(dataDir, 'config.hujson');
    await writeFile(configPath, configText(providers(upstream.url), undefined, { database: { retention: { duration: '1h', purge: ['captures', 'tools'] } } }));
    const settings = { ...DEFAULT_SETTINGS, port: 0, dataDir, configPath, watch: false };
    const start = () => startKeyway(settings, { env: {}, log: createLogger('silent') });
    try {
      let keyway = await start();
      await postJson(`${keyway.url}/v1/chat/completions`, { model: 'gpt-5', messages: [] });
      await keyway.close(100);
      keyway = await start();
      const t = keyway.telemetry!;
      const old = Date.now() - 2 * 3_600_000;
      const record: RequestRecord = {
        id: 'req_old', startedAt: old, durationMs: 5, ttfbMs: 1, login: 'local-owner', nodeId: '', tags: [], userAgent: '', client: 'api', format: 'openai_chat', providerFormat: 'openai_chat', path: '/v1/chat/completions',
        requestedModel: 'gpt-5', provider: 'openai', upstreamModel: 'gpt-5', status: 200, errorCode: null, errorClass: null, stream: false,
        usage: { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0, webSearchCount: 0 },
        toolCalls: [{ name: 'old_tool', arguments: '{}' }], stopReason: 'stop', sessionId: 's-old', credentialSource: 'provider', credentialFingerprint: null, pricing: null, quotas: [],
      };
      const capture: Capture = { requestId: 'req_old', requestHeaders: {}, requestBody: '{"old":true}', requestTruncated: false, responseHeaders: {}, responseBody: '{}', responseTruncated: false, upstreamRequestBody: null, upstreamResponseBody: null };
      await t.store.insert([{ record, capture }]);
      const purged = await t.purgeNow(keyway.runtime.current);
      assert.deepEqual(purged, { captures: 1, tools: 1 });
      const rows = ((await (await fetch(`${keyway.url}/api/requests?from=0`)).json()) as { requests: Array<{ id: string }> }).requests;
      assert.equal(rows.length, 2, 'the record from before the restart and the old one are both there');
      const detail = (await (await fetch(`${keyway.url}/api/requests/req_old`)).json()) as any;
      assert.equal(detail.capture, null);
      assert.deepEqual(detail.toolCalls, []);
      assert.equal(detail.request.toolCallCount, 1, 'the metric survives the purge');
      await keyway.close(100);
    } finally {
      await upstream.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('SIGTERM drains the queue: every answered request is in the database', async () => {
    const upstream = await startMockUpstream();
    const dataDir = await mkdtemp(join(tmpdir(), 'keyway-drain-'));
    const configPath = join(dataDir, 'config.hujson');
    await writeFile(configPath, configText(providers(upstream.url)));
    const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
    const child = spawn(process.execPath, [cli, 'serve', '--port', '0', '--data-dir', dataDir, '--config', configPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const entry = JSON.parse(line) as { msg: string; url?: string };
          if (entry.msg === 'keyway listening' && entry.url) resolve(entry.url);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const n = 40;
      const results = await Promise.all(Array.from({ length: n }, () => postJson(`${url}/v1/chat/completions`, { model: 'gpt-5', messages: [] })));
      assert.ok(results.every((r) => r.status === 200));
      child.kill('SIGTERM');
      assert.equal(await new Promise((resolve) => child.on('exit', resolve)), 0);
      const db = new Database(join(dataDir, 'keyway.db'), { readonly: true });
      const count = (db.prepare('SELECT count(*) AS n FROM requests').get() as { n: number }).n;
      db.close();
      assert.equal(count, n);
    } finally {
      child.kill('SIGKILL');
      await upstream.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the bounded queue', () => {
  /** A store that holds every write until released, to make the queue back up. */
  class HeldStore implements Partial<TelemetryStore> {
    written: number = 0;
    release: () => void = () => {};
    held = new Promise<void>((r) => (this.release = r));
    async insert(items: unknown[]) {
      await this.held;
      this.written += items.length;
      return items.map(() => null);
    }
  }
  const rec = (i: number): RequestRecord => ({ id: `r${i}` } as RequestRecord);
  const cap = (i: number, size: number): Capture => ({ requestId: `r${i}`, requestHeaders: {}, requestBody: 'x'.repeat(size), requestTruncated: false, responseHeaders: {}, responseBody: '', responseTruncated: false, upstreamRequestBody: null, upstreamResponseBody: null });

  test('drops captures before records, counts every drop, and drains what it kept', async () => {
    const store = new HeldStore();
    const log = createLogger('silent');
    const recorder = new Recorder(store as unknown as TelemetryStore, log, { flushIntervalMs: 60_000, batchSize: 100, maxQueued: 10, maxQueuedCaptureBytes: 2500 });
    for (let i = 0; i < 15; i++) recorder.submit(rec(i), cap(i, 1000));
    assert.equal(recorder.stats.queued, 10);
    assert.equal(recorder.stats.droppedRecords, 5);
    // Two captures fit in 2,500 bytes; the other eight records were kept without theirs, plus five dropped with theirs.
    assert.equal(recorder.stats.droppedCaptures, 8 + 5);
    const drained = recorder.drain();
    store.release();
    await drained;
    assert.equal(store.written, 10);
    assert.equal(recorder.stats.written, 10);
  });
});
