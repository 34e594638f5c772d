/**
 * MCP tool calls in telemetry: every call (refused ones too) is a request record of
 * format "mcp" in GET /api/requests, with arguments and result in its capture; the Tool
 * Use aggregate; /metrics per server and tool; GET /api/connectors; and no server
 * credential anywhere in any of them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { echoTool, startMockMcpServer, type MockMcpServer } from '../src/mock-upstream/mcp-server.js';
import { PassThrough } from 'node:stream';
import { createLogger } from '../src/log.js';
import { startStack, type Stack } from './helpers.js';
import { asHeader, CAP, mcpClient } from './mcp-helpers.js';

const SECRET = 'sk-test-TELEMETRY-server-secret-canary-3141';

describe('MCP tool calls are recorded', () => {
  let local: MockMcpServer;
  let locked: MockMcpServer;
  let stack: Stack;
  const logs = new PassThrough();
  let logText = '';
  logs.on('data', (c) => (logText += String(c)));
  const get = async (path: string, who = 'admin') => {
    const res = await fetch(`${stack.url}${path}`, { headers: { 'x-test-as': who } });
    return { status: res.status, text: await res.text() };
  };
  const json = async (path: string, who = 'admin') => JSON.parse((await get(path, who)).text);

  before(async () => {
    local = await startMockMcpServer({ tools: [echoTool('echo'), { name: 'fails', run: () => ({ content: [{ type: 'text', text: 'no' }], isError: true }) }] });
    locked = await startMockMcpServer({ requireHeader: ['authorization', `Bearer ${SECRET}`], tools: [echoTool('guarded')] });
    stack = await startStack(
      () =>
        JSON.stringify({
          grants: [
            { src: ['admin@example.com'], app: { [CAP]: [{ role: 'admin' }, { mcp_tools: '**' }] } },
            { src: ['alice@example.com'], app: { [CAP]: [{ role: 'user' }, { mcp_tools: 'local/echo' }] } },
          ],
          flags: { connectors: { value: true } },
          mcp: { servers: { local: { url: local.url } } },
          connectors: {
            servers: {
              locked: { protocol: 'mcp', url: locked.url, auth: { type: 'bearer_token', token: SECRET }, description: 'Needs a token' },
              api: { protocol: 'http', url: 'http://127.0.0.1:9/api', auth: { type: 'basic', username: 'u', password: SECRET } },
              later: { protocol: 'mcp', url: 'https://mcp.example.com/', auth: { type: 'oauth2_dcr' } },
            },
          },
        }),
      { identity: asHeader, log: createLogger('info', logs) },
    );
    await stack.keyway.mcp.ready();
    const admin = await mcpClient(stack.url, 'admin', { authorization: 'Bearer sk-ant-test-client-0001' });
    const alice = await mcpClient(stack.url, 'alice');
    try {
      await admin.callTool({ name: 'local_echo', arguments: { text: 'hello' } });
      await admin.callTool({ name: 'local_fails', arguments: {} });
      await admin.callTool({ name: 'locked_guarded', arguments: { text: 'in' } });
      await alice.callTool({ name: 'local_echo', arguments: { text: 'from alice' } });
      await assert.rejects(alice.callTool({ name: 'local_fails', arguments: {} }));
      await assert.rejects(alice.callTool({ name: 'local_nothing', arguments: {} }));
      await admin.callTool({ name: 'internal_current_time', arguments: {} });
      // Down between two polls: the call cannot reach it.
      await local.stop();
      await assert.rejects(admin.callTool({ name: 'local_echo', arguments: { text: 'lost' } }), /could not be reached/);
      await local.start();
    } finally {
      await Promise.all([admin.close(), alice.close()]);
    }
    await stack.keyway.telemetry!.recorder.flush();
  });
  after(async () => {
    await stack.close();
    await Promise.all([local.close(), locked.close()]);
  });

  test('GET /api/requests lists each call: login, server, tool, outcome, duration, sizes', async () => {
    const { requests } = await json('/api/requests?format=mcp&limit=50');
    const rows = requests.map((r: any) => [r.login, r.requestedModel, r.provider, r.upstreamModel, r.stopReason, r.status, r.errorCode]).reverse();
    assert.deepEqual(rows, [
      ['admin@example.com', 'local_echo', 'local', 'echo', 'ok', 200, null],
      ['admin@example.com', 'local_fails', 'local', 'fails', 'tool_error', 200, null],
      ['admin@example.com', 'locked_guarded', 'locked', 'guarded', 'ok', 200, null],
      ['alice@example.com', 'local_echo', 'local', 'echo', 'ok', 200, null],
      ['alice@example.com', 'local_fails', 'local', 'fails', 'refused', 404, 'TOOL_REFUSED'],
      ['alice@example.com', 'local_nothing', null, null, 'unknown', 404, 'UNKNOWN_TOOL'],
      ['admin@example.com', 'internal_current_time', 'internal', 'current_time', 'ok', 200, null],
      ['admin@example.com', 'local_echo', 'local', 'echo', 'unavailable', 502, 'UPSTREAM_UNREACHABLE'],
    ]);
    const first = requests.at(-1);
    assert.equal(first.format, 'mcp');
    assert.equal(first.path, '/v1/mcp');
    assert.equal(first.client, 'mcp');
    assert.ok(first.durationMs > 0);
    assert.equal(first.requestBytes, Buffer.byteLength('{"text":"hello"}'));
    assert.ok(first.responseBytes > 10);
    assert.match(first.sessionId, /^[0-9a-f-]{36}$/, 'grouped by MCP session');
    const mine = await json('/api/requests?format=mcp', 'alice');
    assert.ok(mine.requests.length === 3 && mine.requests.every((r: any) => r.login === 'alice@example.com'), 'a user sees only their own calls');
  });

  test('arguments and result are in the capture; the client credential is redacted', async () => {
    const { requests } = await json('/api/requests?format=mcp&limit=50');
    const echo = requests.at(-1);
    const detail = await json(`/api/requests/${echo.id}`);
    assert.equal(detail.capture.requestBody, '{"text":"hello"}');
    assert.deepEqual(JSON.parse(detail.capture.responseBody), { content: [{ type: 'text', text: 'echo: hello' }] });
    assert.equal(detail.capture.requestHeaders.authorization, '[redacted]');
    assert.equal(detail.capture.requestHeaders['x-test-as'], 'admin');
  });

  test('inference usage is not mixed with tool calls', async () => {
    const usage = await json('/api/usage');
    assert.equal(usage.totals.requests, 0);
    assert.equal((await json('/api/usage?format=mcp')).totals.requests, 8);
  });

  test('GET /api/tool-use: calls by tool, user and outcome over time', async () => {
    const use = await json('/api/tool-use');
    assert.equal(use.totals.calls, 8);
    assert.equal(use.totals.refused, 2);
    assert.equal(use.totals.errors, 2, 'tool_error and unavailable');
    assert.deepEqual(use.byTool.map((r: any) => [r.key, r.calls]).sort(), [['internal_current_time', 1], ['local_echo', 3], ['local_fails', 2], ['local_nothing', 1], ['locked_guarded', 1]]);
    assert.deepEqual(use.byUser.map((r: any) => [r.key, r.calls]).sort(), [['admin@example.com', 5], ['alice@example.com', 3]]);
    assert.deepEqual(Object.fromEntries(use.byOutcome.map((r: any) => [r.key, r.calls])), { ok: 4, tool_error: 1, refused: 1, unknown: 1, unavailable: 1 });
    assert.equal(use.bucket, 'day');
    assert.equal(use.series.reduce((n: number, s: any) => n + s.calls, 0), 8);
    assert.equal((await json('/api/tool-use?server=locked')).totals.calls, 1);
    assert.equal((await json('/api/tool-use', 'alice')).totals.calls, 3);
    assert.equal((await get('/api/tool-use?bucket=week')).status, 400);
  });

  test('/metrics per server and tool, servers up and down', async () => {
    const { text } = await get('/metrics');
    assert.match(text, /keyway_mcp_tool_calls_total\{server="local",tool="echo",outcome="ok"\} 2/);
    assert.match(text, /keyway_mcp_tool_calls_total\{server="local",tool="fails",outcome="refused"\} 1/);
    assert.match(text, /keyway_mcp_tool_calls_total\{server="none",tool="unknown",outcome="unknown"\} 1/);
    assert.match(text, /keyway_mcp_tool_call_duration_seconds_count\{server="locked",tool="guarded"\} 1/);
    assert.match(text, /keyway_mcp_server_up\{server="locked"\} 1/);
    assert.match(text, /keyway_mcp_tools\{server="local"\} 2/);
    assert.match(text, /keyway_mcp_server_transitions_total\{server="local",to="up"\} 1/);
    assert.ok(!text.includes('local_nothing'), 'names a client made up are not labels');
  });

  test('GET /api/connectors: every server with status, auth type and counts; URLs for admins only', async () => {
    const { connectors } = await json('/api/connectors');
    const byId = Object.fromEntries(connectors.map((c: any) => [c.id, c]));
    assert.deepEqual(Object.keys(byId).sort(), ['api', 'internal', 'later', 'local', 'locked']);
    assert.deepEqual(
      { status: byId.locked.status, protocol: byId.locked.protocol, auth_type: byId.locked.auth_type, tools: byId.locked.tools, source: byId.locked.source, description: byId.locked.description },
      { status: 'up', protocol: 'mcp', auth_type: 'bearer_token', tools: 1, source: 'connectors', description: 'Needs a token' },
    );
    assert.equal(byId.local.source, 'mcp.servers');
    assert.equal(byId.api.status, 'ready');
    assert.equal(byId.api.protocol, 'http');
    assert.equal(byId.later.status, 'unsupported');
    assert.equal(byId.locked.url, locked.url);
    for (const key of ['id', 'description', 'protocol', 'provider', 'category', 'status', 'auth_type']) assert.ok(key in byId.locked, key);
    const mine = (await json('/api/connectors', 'alice')).connectors;
    const local = mine.find((c: any) => c.id === 'local');
    assert.equal(local.tools, 1, "a user's counts are what their grants allow");
    assert.ok(mine.every((c: any) => c.url === undefined), 'no URLs for users');
  });

  test('the server credential appears in no answer', async () => {
    const { requests } = await json('/api/requests?format=mcp&limit=50');
    const bodies = [JSON.stringify(requests), (await get('/metrics')).text, JSON.stringify(await json('/api/connectors')), JSON.stringify(await json('/api/tool-use'))];
    for (const r of requests) bodies.push(JSON.stringify(await json(`/api/requests/${r.id}`)));
    for (const b of bodies) assert.ok(!b.includes(SECRET));
  });

  test('a server going down and coming back: a log line and a metric each way', async () => {
    await locked.stop();
    await stack.keyway.mcp.ready();
    let text = (await get('/metrics')).text;
    assert.match(text, /keyway_mcp_server_transitions_total\{server="locked",to="down"\} 1/);
    assert.match(text, /keyway_mcp_server_up\{server="locked"\} 0/);
    assert.match(text, /keyway_mcp_tools\{server="locked"\} 0/);
    assert.match(logText, /"level":40[^\n]*"server":"locked"[^\n]*MCP server unavailable; its tools are hidden until it recovers/);
    await locked.start();
    await stack.keyway.mcp.ready();
    text = (await get('/metrics')).text;
    assert.match(text, /keyway_mcp_server_transitions_total\{server="locked",to="up"\} 2/);
    assert.match(text, /keyway_mcp_server_up\{server="locked"\} 1/);
    assert.equal(logText.match(/"server":"locked"[^\n]*MCP server available/g)?.length, 2);
    assert.ok(!logText.includes(SECRET), 'no credential in the log');
  });
});

describe('a tool call answered on the fast path is recorded after its answer is written', () => {
  let upstream: MockMcpServer;
  let stack: Stack;
  before(async () => {
    upstream = await startMockMcpServer({ tools: [echoTool('echo')] });
    stack = await startStack(() => JSON.stringify({ grants: [{ src: ['admin@example.com'], app: { [CAP]: [{ role: 'admin' }, { mcp_tools: '**' }] } }], mcp: { servers: { local: { url: upstream.url } } } }), { identity: asHeader });
    await stack.keyway.mcp.ready();
  });
  after(async () => {
    await stack.close();
    await upstream.close();
  });

  test('the client does not wait for the record, yet every outcome is recorded with its result', async () => {
    // Which answers keyway had finished writing (res.end) when each call's record was made.
    let ended = false;
    stack.keyway.gateway.server.prependListener('request', (_req, res) => {
      ended = false;
      const end = res.end.bind(res);
      res.end = ((...a: Parameters<typeof res.end>) => {
        ended = true;
        return end(...a);
      }) as typeof res.end;
    });
    const inner = stack.keyway.mcp.observer!;
    const seen: Array<{ name: string; outcome: string; answered: boolean; resultText: string; argumentsText: string }> = [];
    stack.keyway.mcp.observer = {
      onTransition: (...a) => inner.onTransition(...a),
      onToolCall: (e) => {
        seen.push({ name: e.name, outcome: e.outcome, answered: ended, resultText: e.resultText, argumentsText: e.argumentsText });
        inner.onToolCall(e);
      },
    };
    const client = await mcpClient(stack.url, 'admin');
    try {
      await client.callTool({ name: 'local_echo', arguments: { text: 'after' } });
      await client.callTool({ name: 'internal_current_time', arguments: {} });
      await assert.rejects(client.callTool({ name: 'local_missing', arguments: {} }), /not found/);
    } finally {
      await client.close();
      stack.keyway.mcp.observer = inner;
    }
    assert.deepEqual(seen.map((s) => [s.name, s.outcome, s.answered]), [
      ['local_echo', 'ok', true],
      ['internal_current_time', 'ok', true],
      ['local_missing', 'unknown', true],
    ]);
    assert.equal(seen[0]!.argumentsText, '{"text":"after"}');
    assert.equal(seen[0]!.resultText, '{"content":[{"type":"text","text":"echo: after"}]}');
    assert.match(seen[1]!.resultText, /"content"/);
    assert.equal(seen[2]!.resultText, '{"error":"Tool local_missing not found"}');
  });
});
