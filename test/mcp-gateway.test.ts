/**
 * /v1/mcp end to end: real MCP servers on loopback (built on the official SDK), keyway in
 * front, and the SDK's client as the caller. Listing, calling, resources and templates,
 * grants per message, protocol versions, malformed input, notifications, and a server
 * that goes down and comes back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ProgressNotificationSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { echoTool, startMockMcpServer, type MockMcpServer } from '../src/mock-upstream/mcp-server.js';
import { startStack, type Stack } from './helpers.js';
import { asHeader, CAP, INIT, mcpClient, rpc, sessionOf, until } from './mcp-helpers.js';

const GRANTS = [
  { src: ['admin@example.com'], app: { [CAP]: [{ role: 'admin' }, { mcp_tools: '**' }, { mcp_resources: '**' }, { mcp_templates: '**' }] } },
  { src: ['alice@example.com'], app: { [CAP]: [{ role: 'user' }, { mcp_tools: 'local/*' }, { connectors: ['docs/resources/**'] }] } },
  { src: ['bob@example.com'], app: { [CAP]: [{ role: 'user' }, { mcp_tools: '*/search' }, { mcp_templates: 'docs/**' }] } },
  { src: ['nomcp@example.com'], app: { [CAP]: [{ role: 'user' }, { models: '**' }] } },
];

const SEARCH_SCHEMA = {
  type: 'object',
  properties: { query: { type: 'string', description: 'What to look for', minLength: 1 }, limit: { type: 'integer', default: 10 } },
  required: ['query'],
  $defs: { unusual: { const: 'kept as written' } },
};

describe('/v1/mcp aggregates MCP servers', () => {
  let local: MockMcpServer;
  let docs: MockMcpServer;
  let flaky: MockMcpServer;
  let stack: Stack;

  before(async () => {
    local = await startMockMcpServer({
      name: 'local',
      tools: [
        echoTool('echo'),
        { name: 'read_file', description: 'Reads a file', inputSchema: { type: 'object', properties: { path: { type: 'string' } } }, run: (a) => ({ content: [{ type: 'text', text: `read ${String(a.path)}` }], structuredContent: { path: a.path }, _meta: { upstream: 'local' } }) },
        { name: 'fails', run: () => ({ content: [{ type: 'text', text: 'it broke' }], isError: true }) },
        { name: 'slow', progress: 3, delayMs: 0, run: () => ({ content: [{ type: 'text', text: 'done' }] }) },
        { name: 'hang', delayMs: 30_000 },
      ],
    });
    docs = await startMockMcpServer({
      name: 'docs',
      tools: [{ name: 'search', description: 'Searches the docs', inputSchema: SEARCH_SCHEMA, extra: { annotations: { readOnlyHint: true }, _meta: { 'x/vendor': 1 } } }],
      resources: [{ uri: 'file:///guide/intro.md', name: 'intro', text: '# Intro' }],
      templates: [{ uriTemplate: 'docs://pages/{page}', name: 'page' }],
    });
    flaky = await startMockMcpServer({ name: 'flaky', tools: [echoTool('ping')] });
    stack = await startStack(
      () =>
        JSON.stringify({
          grants: GRANTS,
          mcp: { servers: { local: { url: local.url }, docs: { url: docs.url }, flaky: { url: flaky.url } } },
        }),
      { identity: asHeader },
    );
    await stack.keyway.mcp.ready();
  });
  after(async () => {
    await stack.close();
    await Promise.all([local.close(), docs.close(), flaky.close()]);
  });

  test('tools from every server, prefixed with the server ID, definitions as the upstream wrote them', async () => {
    const client = await mcpClient(stack.url, 'admin');
    try {
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name).sort();
      assert.deepEqual(names, ['docs_search', 'flaky_ping', 'internal_current_time', 'local_echo', 'local_fails', 'local_hang', 'local_read_file', 'local_slow']);
      const search = tools.find((t) => t.name === 'docs_search')!;
      assert.equal(search.description, 'Searches the docs');
      assert.deepEqual(search.inputSchema, SEARCH_SCHEMA);
      assert.deepEqual(search.annotations, { readOnlyHint: true });
      assert.deepEqual(search._meta, { 'x/vendor': 1 });
      assert.deepEqual(client.getServerCapabilities()?.tools, { listChanged: true });
      assert.ok(client.getServerCapabilities()?.resources, 'resources are advertised');
      assert.equal(client.getServerVersion()?.name, 'keyway');
    } finally {
      await client.close();
    }
  });

  test('a call reaches the owning server with the prefix stripped (split at the first "_"), and its result comes back as written', async () => {
    const client = await mcpClient(stack.url, 'admin');
    try {
      const before = local.calls.length;
      const result = await client.callTool({ name: 'local_read_file', arguments: { path: '/etc/motd' } });
      assert.deepEqual(result, { content: [{ type: 'text', text: 'read /etc/motd' }], structuredContent: { path: '/etc/motd' }, _meta: { upstream: 'local' } });
      assert.deepEqual(local.calls.slice(before), [{ name: 'read_file', arguments: { path: '/etc/motd' } }]);
      const failed = await client.callTool({ name: 'local_fails', arguments: {} });
      assert.equal(failed.isError, true, "a tool's own error is a result, passed through");
      const echoed = await client.callTool({ name: 'docs_search', arguments: { query: 'x' } });
      assert.deepEqual(echoed.content, [{ type: 'text', text: 'search ok' }]);
    } finally {
      await client.close();
    }
  });

  test('internal_current_time answers every caller with a role', async () => {
    for (const who of ['admin', 'alice', 'nomcp']) {
      const client = await mcpClient(stack.url, who);
      try {
        const t0 = Date.now();
        const result = await client.callTool({ name: 'internal_current_time', arguments: { timezone: 'Europe/Berlin' } });
        const out = result.structuredContent as { utc: string; unix: number; local: string };
        assert.ok(Math.abs(Date.parse(out.utc) - t0) < 5_000, who);
        assert.equal(out.unix, Math.floor(Date.parse(out.utc) / 1000));
        assert.match(out.local, /\d{4}-\d{2}-\d{2}/);
        const bad = await client.callTool({ name: 'internal_current_time', arguments: { timezone: 'Mars/Olympus' } });
        assert.equal(bad.isError, true);
      } finally {
        await client.close();
      }
    }
  });

  test('resources and templates: listed as <server>-<uri>, read through the owning server', async () => {
    const client = await mcpClient(stack.url, 'admin');
    try {
      const { resources } = await client.listResources();
      assert.deepEqual(resources, [{ uri: 'docs-file:///guide/intro.md', name: 'intro' }]);
      const { resourceTemplates } = await client.listResourceTemplates();
      assert.deepEqual(resourceTemplates, [{ uriTemplate: 'docs-docs://pages/{page}', name: 'page' }]);
      const read = await client.readResource({ uri: 'docs-file:///guide/intro.md' });
      assert.deepEqual(read.contents, [{ uri: 'docs-file:///guide/intro.md', mimeType: 'text/plain', text: '# Intro' }]);
      const page = await client.readResource({ uri: 'docs-docs://pages/setup' });
      assert.deepEqual(page.contents, [{ uri: 'docs-docs://pages/setup', mimeType: 'text/plain', text: 'template docs://pages/setup' }]);
    } finally {
      await client.close();
    }
  });

  test('grants decide per caller what is listed; what is not listed cannot be called and fails like an unknown tool', async () => {
    const alice = await mcpClient(stack.url, 'alice');
    const bob = await mcpClient(stack.url, 'bob');
    const nomcp = await mcpClient(stack.url, 'nomcp');
    try {
      assert.deepEqual((await alice.listTools()).tools.map((t) => t.name).sort(), ['internal_current_time', 'local_echo', 'local_fails', 'local_hang', 'local_read_file', 'local_slow']);
      assert.deepEqual((await bob.listTools()).tools.map((t) => t.name).sort(), ['docs_search', 'internal_current_time']);
      assert.deepEqual((await nomcp.listTools()).tools.map((t) => t.name), ['internal_current_time'], 'deny by default: a role without an MCP grant lists only the built-in tool');
      assert.deepEqual((await alice.listResources()).resources.map((r) => r.uri), ['docs-file:///guide/intro.md']);
      assert.deepEqual((await alice.listResourceTemplates()).resourceTemplates, []);
      assert.deepEqual((await bob.listResources()).resources, []);
      assert.deepEqual((await bob.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate), ['docs-docs://pages/{page}']);

      const before = docs.calls.length;
      const raw = async (who: string, name: string) => {
        const init = await rpc(stack.url, who, INIT());
        const sid = init.headers.get('mcp-session-id')!;
        const h = { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
        await rpc(stack.url, who, { jsonrpc: '2.0', method: 'notifications/initialized' }, h);
        return rpc(stack.url, who, { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: { query: 'secret' } } }, h);
      };
      const refused = await raw('alice', 'docs_search');
      const unknown = await raw('alice', 'docs_nosuchtool');
      assert.equal(refused.status, unknown.status);
      assert.deepEqual(refused.json.error.code, unknown.json.error.code);
      assert.equal(refused.json.error.code, -32602);
      assert.equal(refused.json.error.message, 'Tool docs_search not found');
      assert.equal(unknown.json.error.message, 'Tool docs_nosuchtool not found');
      assert.equal(docs.calls.length, before, 'the refused call never reached the upstream');

      await assert.rejects(nomcp.callTool({ name: 'local_echo', arguments: { text: 'x' } }), /Tool local_echo not found/);
      await assert.rejects(bob.readResource({ uri: 'docs-file:///guide/intro.md' }), /Resource docs-file:\/\/\/guide\/intro.md not found/);
      assert.equal((await bob.readResource({ uri: 'docs-docs://pages/a' })).contents.length, 1, 'a template grant reads what the template expands to');
      await assert.rejects(nomcp.readResource({ uri: 'docs-docs://pages/a' }), /not found/);
      assert.equal((await alice.readResource({ uri: 'docs-docs://pages/a' })).contents.length, 1, 'docs/resources/** covers every URI of docs');
    } finally {
      await Promise.all([alice.close(), bob.close(), nomcp.close()]);
    }
  });

  test('no role: 403 with a JSON-RPC error body, before anything is read', async () => {
    const res = await rpc(stack.url, 'norole', INIT());
    assert.equal(res.status, 403);
    assert.equal(res.json.jsonrpc, '2.0');
    assert.equal(res.json.error.message, 'access denied: no role granted');
    assert.equal(res.json.error.data.code, 'no_role');
    const nobody = await rpc(stack.url, 'stranger', INIT());
    assert.equal(nobody.status, 403);
    assert.equal(nobody.json.jsonrpc, '2.0');
  });

  test('a session ID taken from another caller grants nothing: that caller gets "session not found"', async () => {
    const alice = await mcpClient(stack.url, 'alice');
    try {
      const sid = sessionOf(alice);
      const stolen = await rpc(stack.url, 'admin', { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' });
      assert.equal(stolen.status, 404);
      assert.equal(stolen.json.error.message, 'Session not found');
      const listed = await rpc(stack.url, 'alice', { jsonrpc: '2.0', id: 3, method: 'tools/list' }, { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' });
      assert.equal(listed.status, 200);
      assert.ok(listed.json.result.tools.some((t: { name: string }) => t.name === 'local_echo'));
    } finally {
      await alice.close();
    }
  });

  test('grants are read for every message: a reload takes effect inside an open session', async () => {
    const alice = await mcpClient(stack.url, 'alice');
    try {
      assert.ok((await alice.listTools()).tools.some((t) => t.name === 'local_echo'));
      const text = stack.keyway.runtime.current.text;
      const narrowed = JSON.parse(text);
      narrowed.grants[1].app[CAP] = [{ role: 'user' }];
      const saved = await stack.keyway.runtime.save(JSON.stringify(narrowed), stack.keyway.runtime.current.hash);
      assert.equal(saved.ok, true);
      assert.deepEqual((await alice.listTools()).tools.map((t) => t.name), ['internal_current_time']);
      await assert.rejects(alice.callTool({ name: 'local_echo', arguments: { text: 'x' } }), /not found/);
      const back = await stack.keyway.runtime.save(text, stack.keyway.runtime.current.hash);
      assert.equal(back.ok, true);
      assert.ok((await alice.listTools()).tools.some((t) => t.name === 'local_echo'));
    } finally {
      await alice.close();
    }
  });

  test('protocol versions: a supported one is echoed, any other answered with the latest', async () => {
    for (const v of ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25']) {
      const res = await rpc(stack.url, 'admin', INIT(v));
      assert.equal(res.status, 200, v);
      assert.equal(res.json.result.protocolVersion, v);
      assert.ok(res.json.result.capabilities.tools && res.json.result.capabilities.resources);
      assert.ok(res.headers.get('mcp-session-id'));
    }
    const odd = await rpc(stack.url, 'admin', INIT('1999-01-01'));
    assert.equal(odd.json.result.protocolVersion, '2025-11-25');
  });

  test('malformed messages get JSON-RPC errors, never a 500', async () => {
    const cases: Array<{ body: unknown; headers?: Record<string, string>; status: number; code: number }> = [
      { body: '{"jsonrpc": "2.0", "id": 1, "method": ', status: 400, code: -32700 },
      { body: 'null', status: 400, code: -32000 },
      { body: { jsonrpc: '2.0', id: 1, method: 'tools/list' }, status: 400, code: -32000 }, // no session
      { body: { jsonrpc: '2.0', id: 1, method: 'tools/list' }, headers: { 'mcp-session-id': 'nope' }, status: 404, code: -32001 },
      { body: [INIT(), INIT()], status: 400, code: -32000 },
    ];
    for (const c of cases) {
      const res = await rpc(stack.url, 'admin', c.body, c.headers);
      assert.equal(res.status, c.status, `${JSON.stringify(c.body)} → ${res.text}`);
      assert.equal(res.json?.error?.code, c.code, res.text);
    }
    const init = await rpc(stack.url, 'admin', INIT());
    const h = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
    const inSession: Array<{ body: unknown; status: number; code: number }> = [
      { body: { jsonrpc: '2.0', id: 2, method: 'no/such/method' }, status: 200, code: -32601 },
      { body: { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { arguments: {} } }, status: 200, code: -32602 },
      { body: { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'local_echo', arguments: 'text' } }, status: 200, code: -32602 },
      { body: { jsonrpc: '2.0', id: 5, method: 'tools/list', params: { cursor: 'made-up' } }, status: 200, code: -32602 },
      { body: { jsonrpc: '2.0', id: 6, method: 'resources/read', params: {} }, status: 200, code: -32602 },
      { body: { jsonrpc: '1.0', id: 7, method: 'tools/list' }, status: 400, code: -32700 },
      { body: { id: 8 }, status: 400, code: -32700 },
    ];
    for (const c of inSession) {
      const res = await rpc(stack.url, 'admin', c.body, h);
      assert.equal(res.status, c.status, `${JSON.stringify(c.body)} → ${res.text}`);
      assert.equal(res.json?.error?.code, c.code, `${JSON.stringify(c.body)} → ${res.text}`);
    }
    const put = await fetch(`${stack.url}/v1/mcp`, { method: 'PUT', headers: { 'x-test-as': 'admin' } });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET, POST, DELETE');
    assert.equal(((await put.json()) as { jsonrpc: string }).jsonrpc, '2.0');
    const big = await rpc(stack.url, 'admin', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { pad: 'x'.repeat(33 * 1024 * 1024) } }));
    assert.equal(big.status, 413);
    assert.equal(big.json.jsonrpc, '2.0');
  });

  test('progress passes through under the client\'s own token; cancellation reaches the upstream', async () => {
    const client = await mcpClient(stack.url, 'admin');
    try {
      const seen: number[] = [];
      const result = await client.callTool({ name: 'local_slow', arguments: {} }, undefined, { onprogress: (p) => seen.push(p.progress) });
      assert.deepEqual(result.content, [{ type: 'text', text: 'done' }]);
      assert.deepEqual(seen, [1, 2, 3]);

      const controller = new AbortController();
      const call = client.callTool({ name: 'local_hang', arguments: {} }, undefined, { signal: controller.signal });
      await until(() => local.calls.some((c) => c.name === 'hang'), 5_000, 'the hanging call to arrive');
      controller.abort();
      await assert.rejects(call);
      await until(() => local.cancelled.length > 0, 5_000, 'the upstream to see the cancellation');
    } finally {
      await client.close();
    }
    void ProgressNotificationSchema;
  });

  test('a list change upstream reaches clients as notifications/tools/list_changed', async () => {
    const client = await mcpClient(stack.url, 'admin');
    try {
      let changed = 0;
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        changed++;
      });
      // The GET stream that carries notifications opens after initialize; give it a moment.
      await new Promise((r) => setTimeout(r, 200));
      flaky.setTools([echoTool('ping'), echoTool('pong')]);
      await until(() => changed > 0, 5_000, 'list_changed');
      assert.ok((await client.listTools()).tools.some((t) => t.name === 'flaky_pong'));
      flaky.setTools([echoTool('ping')]);
      await until(async () => !(await client.listTools()).tools.some((t) => t.name === 'flaky_pong'), 5_000, 'pong to go');
    } finally {
      await client.close();
    }
  });

  test('a server that goes down loses its tools, and gets them back when it recovers', async () => {
    const client = await mcpClient(stack.url, 'admin');
    try {
      assert.ok((await client.listTools()).tools.some((t) => t.name === 'flaky_ping'));
      await flaky.stop();
      await stack.keyway.mcp.ready(); // one poll round
      const down = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(!down.includes('flaky_ping'), 'its tools are hidden');
      assert.ok(down.includes('local_echo'), 'other servers are unaffected');
      await assert.rejects(client.callTool({ name: 'flaky_ping', arguments: { text: 'x' } }), /Tool flaky_ping not found/);

      await flaky.start();
      await stack.keyway.mcp.ready();
      assert.ok((await client.listTools()).tools.some((t) => t.name === 'flaky_ping'), 'back after recovery');
      const result = await client.callTool({ name: 'flaky_ping', arguments: { text: 'again' } });
      assert.deepEqual(result.content, [{ type: 'text', text: 'echo: again' }]);

      // Restarted between two polls: the old upstream session is gone; keyway connects again and the call goes through.
      await flaky.stop();
      await flaky.start();
      const retried = await client.callTool({ name: 'flaky_ping', arguments: { text: 'after restart' } });
      assert.deepEqual(retried.content, [{ type: 'text', text: 'echo: after restart' }]);
    } finally {
      await client.close();
    }
  });
});
