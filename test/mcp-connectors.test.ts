/**
 * Connectors and the credentials keyway holds for them: an authenticated MCP server gets
 * its secret from the connector and the client never sees it (canaries in every answer
 * and log line); OAuth client credentials fetched from a local token server and
 * refreshed; HTTP connectors reverse-proxied with their credential and grants per path;
 * what the client sends that must never reach an upstream; registrations; the legacy
 * HTTP+SSE transport.
 */
import assert from 'node:assert/strict';
import { createServer, get as httpGet, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../src/log.js';
import { echoTool, startMockMcpServer, type MockMcpServer } from '../src/mock-upstream/mcp-server.js';
import { startStack, type Stack } from './helpers.js';
import { asHeader, CAP, mcpClient, until } from './mcp-helpers.js';

const BEARER = 'sk-test-CONNECTOR-bearer-canary-7261';
const API_KEY = 'sk-test-CONNECTOR-apikey-canary-5512';
const CLIENT_SECRET = 'sk-test-CONNECTOR-client-secret-canary-9043';
const WRONG = 'sk-test-CONNECTOR-wrong-canary-6620';
const CANARIES = [BEARER, API_KEY, CLIENT_SECRET, WRONG];

const CLIENT_HEADERS = {
  authorization: 'Bearer sk-ant-test-CLIENT-credential-0001',
  'x-api-key': 'sk-test-CLIENT-key-0002',
  'tailscale-user-login': 'mallory@example.com',
  'x-forwarded-for': '203.0.113.9',
  'x-forwarded-host': 'evil.example',
  cookie: 'session=sk-test-CLIENT-cookie-0003',
};

interface TokenServer {
  url: string;
  issued: string[];
  close(): Promise<void>;
}

/** A local OAuth token endpoint: client_credentials with HTTP Basic, short-lived tokens. */
async function startTokenServer(clientId: string, secret: string, lifetimeS: number): Promise<TokenServer> {
  const issued: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const expected = `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
      const form = new URLSearchParams(body);
      if (req.headers.authorization !== expected || form.get('grant_type') !== 'client_credentials' || form.get('scope') !== 'tools:read tools:call') {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"invalid_client"}');
        return;
      }
      const token = `tok-test-${issued.length + 1}`;
      issued.push(token);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: lifetimeS }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/token`,
    issued,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

interface EchoApi {
  url: string;
  seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }>;
  close(): Promise<void>;
}

/** A plain HTTP API that answers with what it received. */
async function startEchoApi(): Promise<EchoApi> {
  const seen: EchoApi['seen'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.writeHead(req.url?.includes('missing') ? 404 : 200, { 'content-type': 'application/json', 'set-cookie': 'upstream=1' });
      res.end(JSON.stringify({ method: req.method, url: req.url, body }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('connectors: credentials keyway holds', () => {
  let secured: MockMcpServer;
  let oauth: MockMcpServer;
  let legacy: MockMcpServer;
  let registered: MockMcpServer;
  let leakyServer: MockMcpServer;
  let tokens: TokenServer;
  let api: EchoApi;
  let stack: Stack;
  const logs = new PassThrough();
  let logText = '';

  before(async () => {
    logs.on('data', (c) => (logText += String(c)));
    tokens = await startTokenServer('keyway-test', CLIENT_SECRET, 2);
    secured = await startMockMcpServer({ name: 'secured', requireHeader: ['authorization', `Bearer ${BEARER}`], tools: [echoTool('whoami', { run: (_a, ctx) => ({ content: [{ type: 'text', text: `auth header present: ${ctx.headers.authorization !== undefined}` }] }) })] });
    // Accepts only the newest token: an older one gets 401, as after a rotation.
    oauth = await startMockMcpServer({ name: 'oauth', authorize: (h) => h.authorization === `Bearer ${tokens.issued.at(-1)}`, tools: [echoTool('echo')] });
    legacy = await startMockMcpServer({ name: 'legacy', legacySse: true, tools: [echoTool('old')] });
    registered = await startMockMcpServer({ name: 'registered', tools: [echoTool('offered')] });
    leakyServer = await startMockMcpServer({ name: 'leaky', requireHeader: ['authorization', 'Bearer something-else'], tools: [echoTool('never')] });
    api = await startEchoApi();
    stack = await startStack(
      () =>
        JSON.stringify({
          grants: [
            { src: ['admin@example.com'], app: { [CAP]: [{ role: 'admin' }, { mcp_tools: '**' }, { connectors: ['api/proxy/**'] }] } },
            { src: ['alice@example.com'], app: { [CAP]: [{ role: 'user' }, { connectors: ['label:team/tools/*', 'api/proxy/public/**'] }] } },
          ],
          flags: { connectors: { value: true } },
          mcp: { accept_registrations: true, servers: { legacy: { url: legacy.url } } },
          connectors: {
            servers: {
              secured: { protocol: 'mcp', url: secured.url, auth: { type: 'bearer_token', token: BEARER }, labels: ['team'], description: 'A server that wants a token' },
              oauth: { protocol: 'mcp', url: oauth.url, auth: { type: 'oauth2_client_credentials', token_url: tokens.url, client_id: 'keyway-test', client_secret: CLIENT_SECRET, scopes: ['tools:read', 'tools:call'] } },
              api: { protocol: 'http', url: `${api.url}/base/`, auth: { type: 'api_key', header: 'X-Api-Key', api_key: API_KEY } },
              leaky: { protocol: 'mcp', url: leakyServer.url, auth: { type: 'bearer_token', token: 'sk-test-CONNECTOR-wrong-canary-6620' }, description: 'its server echoes the credential in its 401' },
              peruser: { protocol: 'mcp', url: 'https://mcp.example.com/mcp', auth: { type: 'oauth2_authorization_code', client_id: 'x' } },
            },
          },
        }),
      { identity: asHeader, log: createLogger('debug', logs) },
    );
    await stack.keyway.mcp.ready();
  });
  after(async () => {
    await stack.close();
    await Promise.all([secured.close(), oauth.close(), legacy.close(), registered.close(), leakyServer.close(), tokens.close(), api.close()]);
  });

  test('an authenticated MCP server gets its secret from the connector; the client never sees it', async () => {
    const client = await mcpClient(stack.url, 'admin', CLIENT_HEADERS);
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'secured_whoami'), JSON.stringify(tools.map((t) => t.name)));
      const result = await client.callTool({ name: 'secured_whoami', arguments: { text: 'x' } });
      assert.deepEqual(result.content, [{ type: 'text', text: 'auth header present: true' }]);
      const seen = JSON.stringify({ tools, result });
      for (const c of CANARIES) assert.ok(!seen.includes(c), 'no secret in what the client got');
      assert.ok(secured.requests.length > 0 && secured.requests.every((r) => r.headers.authorization === `Bearer ${BEARER}`));
    } finally {
      await client.close();
    }
  });

  test("the client's credentials, Tailscale-* and X-Forwarded-* headers and cookies never reach an MCP upstream", async () => {
    const client = await mcpClient(stack.url, 'admin', CLIENT_HEADERS);
    try {
      await client.callTool({ name: 'legacy_old', arguments: { text: 'x' } });
      await client.callTool({ name: 'oauth_echo', arguments: { text: 'x' } });
    } finally {
      await client.close();
    }
    for (const server of [secured, oauth, legacy]) {
      for (const r of server.requests) {
        const names = Object.keys(r.headers);
        assert.ok(!names.some((n) => n.startsWith('tailscale-') || n.startsWith('x-forwarded-') || n === 'cookie' || n === 'x-api-key' || n === 'x-test-as'), JSON.stringify(names));
        assert.ok(!String(r.headers.authorization ?? '').includes('CLIENT'), 'a client credential');
      }
    }
  });

  test('oauth2_client_credentials: keyway fetches a token, uses it, and fetches a new one when it expires or is refused', async () => {
    const client = await mcpClient(stack.url, 'admin');
    try {
      assert.ok(tokens.issued.length >= 1);
      assert.deepEqual((await client.callTool({ name: 'oauth_echo', arguments: { text: 'one' } })).content, [{ type: 'text', text: 'echo: one' }]);
      const first = tokens.issued.length;
      await new Promise((r) => setTimeout(r, 1_200)); // the 2 s token is kept for half its life
      assert.deepEqual((await client.callTool({ name: 'oauth_echo', arguments: { text: 'two' } })).content, [{ type: 'text', text: 'echo: two' }]);
      assert.ok(tokens.issued.length > first, 'an expired token is replaced');
      // A token revoked early: the server answers 401, keyway fetches a fresh one and retries once.
      tokens.issued.push('tok-test-rotated-elsewhere');
      const before = tokens.issued.length;
      assert.deepEqual((await client.callTool({ name: 'oauth_echo', arguments: { text: 'three' } })).content, [{ type: 'text', text: 'echo: three' }]);
      assert.equal(tokens.issued.length, before + 1);
    } finally {
      await client.close();
    }
  });

  test('label grants, and the legacy HTTP+SSE transport', async () => {
    const alice = await mcpClient(stack.url, 'alice');
    const admin = await mcpClient(stack.url, 'admin');
    try {
      assert.deepEqual((await alice.listTools()).tools.map((t) => t.name).sort(), ['internal_current_time', 'secured_whoami'], 'label:team covers the connector labelled team');
      assert.deepEqual((await admin.callTool({ name: 'legacy_old', arguments: { text: 'sse' } })).content, [{ type: 'text', text: 'echo: sse' }]);
    } finally {
      await Promise.all([alice.close(), admin.close()]);
    }
  });

  test('HTTP connectors: the path is appended to the url, the connector credential added, the client credential dropped', async () => {
    const res = await fetch(`${stack.url}/v1/connectors/api/public/items?q=1&key=v`, { method: 'POST', headers: { 'x-test-as': 'alice', 'content-type': 'application/json', ...CLIENT_HEADERS }, body: '{"a":1}' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('set-cookie'), null, "the upstream's cookies are not relayed");
    const body = (await res.json()) as { url: string; body: string };
    assert.equal(body.url, '/base/public/items?q=1&key=v');
    assert.equal(body.body, '{"a":1}');
    const seen = api.seen.at(-1)!;
    assert.equal(seen.headers['x-api-key'], API_KEY);
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(seen.headers.cookie, undefined);
    assert.ok(!Object.keys(seen.headers).some((n) => n.startsWith('tailscale-') || n.startsWith('x-forwarded-')), JSON.stringify(seen.headers));
    assert.equal((await fetch(`${stack.url}/v1/connectors/api/public/missing`, { headers: { 'x-test-as': 'alice' } })).status, 404, "the upstream's status is relayed");
    assert.ok(logText.includes('"connector":"api"') && logText.includes('"path":"/public/items"'), 'each proxied request is logged');
  });

  test('HTTP connectors: an ungranted path is 403, an unknown connector 404, a path that could escape 400', async () => {
    const get = (path: string, who = 'alice') => fetch(`${stack.url}${path}`, { headers: { 'x-test-as': who } });
    const before = api.seen.length;
    const denied = await get('/v1/connectors/api/private/x');
    assert.equal(denied.status, 403);
    assert.equal(((await denied.json()) as { code: string }).code, 'CONNECTOR_DENIED');
    assert.equal((await get('/v1/connectors/nope/x')).status, 404);
    assert.equal((await get('/v1/connectors/api/public/..%2Fprivate')).status, 400);
    // fetch would normalise %2e%2e itself; a raw request keeps it.
    const raw = await new Promise<number>((resolve, reject) => {
      const u = new URL(stack.url);
      httpGet({ host: u.hostname, port: u.port, path: '/v1/connectors/api/public/%2e%2e/private', headers: { 'x-test-as': 'alice' } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      }).on('error', reject);
    });
    assert.equal(raw, 400);
    assert.equal((await get('/v1/connectors/secured/x', 'admin')).status, 404, 'an MCP connector is not an HTTP one');
    assert.equal(api.seen.length, before, 'nothing refused reached the API');
    assert.equal((await get('/v1/connectors/api/private/x', 'admin')).status, 200);
  });

  test('a registered server joins while its registration is open and leaves when it closes', async () => {
    const controller = new AbortController();
    const res = await fetch(`${stack.url}/v1/mcp/register`, { method: 'POST', headers: { 'x-test-as': 'alice', 'content-type': 'application/json' }, body: JSON.stringify({ url: registered.url }), signal: controller.signal });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /event: registered\ndata: \{"id":"auto\d+"\}/);
    const id = /"id":"(auto\d+)"/.exec(first)![1]!;
    const keepalive = new TextDecoder().decode((await reader.read()).value);
    assert.match(keepalive, /: keepalive/);
    const admin = await mcpClient(stack.url, 'admin');
    try {
      await until(async () => (await admin.listTools()).tools.some((t) => t.name === `${id}_offered`), 5_000, 'the registered tool');
      assert.deepEqual((await admin.callTool({ name: `${id}_offered`, arguments: { text: 'r' } })).content, [{ type: 'text', text: 'echo: r' }]);
      controller.abort();
      await until(async () => !(await admin.listTools()).tools.some((t) => t.name === `${id}_offered`), 5_000, 'the registration to end');
    } finally {
      await admin.close();
    }
    const bad = await fetch(`${stack.url}/v1/mcp/register`, { method: 'POST', headers: { 'x-test-as': 'alice' }, body: JSON.stringify({ url: 'http://169.254.169.254/latest/meta-data/' }) });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /cloud metadata/);
    const self = await fetch(`${stack.url}/v1/mcp/register`, { method: 'POST', headers: { 'x-test-as': 'alice' }, body: JSON.stringify({ url: `${stack.url}/v1/mcp` }) });
    assert.equal(self.status, 400);
    assert.match(((await self.json()) as { error: { message: string } }).error.message, /own listen address/);
  });

  test('no secret in the log, and admin config reads mask every connector secret', async () => {
    const config = (await (await fetch(`${stack.url}/api/config`, { headers: { 'x-test-as': 'admin' } })).json()) as { config: string };
    for (const c of CANARIES) {
      assert.ok(!config.config.includes(c), `config read: ${c}`);
      assert.ok(!logText.includes(c), `log: ${c}`);
    }
    assert.ok(logText.includes('MCP server available'), 'servers coming up are logged');
    // A server that answers 401 with the credential it got is down, and says why, without the credential.
    const list = (await (await fetch(`${stack.url}/api/connectors`, { headers: { 'x-test-as': 'admin' } })).json()) as { connectors: Array<{ id: string; status: string; error?: string }> };
    const leaky = list.connectors.find((c) => c.id === 'leaky')!;
    assert.equal(leaky.status, 'down');
    assert.match(leaky.error ?? '', /401/);
    assert.ok(!JSON.stringify(list).includes(WRONG));
    assert.ok(logText.includes('"server":"leaky"'), 'the leaky server going down is logged');
  });
});

describe('registrations are off unless mcp.accept_registrations', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack(() => JSON.stringify({ grants: [{ src: ['*'], app: { [CAP]: [{ role: 'admin' }] } }] }), { identity: asHeader });
  });
  after(() => stack.close());

  test('403 with a JSON-RPC error', async () => {
    const res = await fetch(`${stack.url}/v1/mcp/register`, { method: 'POST', headers: { 'x-test-as': 'admin' }, body: JSON.stringify({ url: 'http://127.0.0.1:1/mcp' }) });
    assert.equal(res.status, 403);
    const body = (await res.json()) as { jsonrpc: string; error: { message: string } };
    assert.equal(body.jsonrpc, '2.0');
    assert.match(body.error.message, /accept_registrations/);
  });
});
