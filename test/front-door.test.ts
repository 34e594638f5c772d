/**
 * The front door's defences (security review, issue 12): the Host allowlist against DNS
 * rebinding, cross-site browser requests and CORS grants, slow and greedy clients, a 413
 * that fetch() can read, and serve-headers on a unix socket. Every test talks to a real
 * keyway over real sockets and checks on the mock upstream that nothing was forwarded.
 */
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { CAP } from './browser/harness.js';
import { startFakeTailscaled, type FakeTailscaled } from './fake-tailscaled.js';
import { FAKE, configText, postJson, startStack, type Stack } from './helpers.js';
import { createLogger } from '../src/log.js';
import { HostAllowlist, hostOf } from '../src/server/host-allowlist.js';

const chat = (model = 'gpt-test') => ({ model, messages: [{ role: 'user', content: 'hi' }] });

function providers(u: string) {
  return {
    openai: { baseurl: u, apikey: FAKE.providerKey, models: ['gpt-test'], compatibility: { openai_chat: true } },
    anthropic: { baseurl: u, authorization: 'x-api-key', apikey: FAKE.providerKey, models: ['claude-test'], compatibility: { anthropic_messages: true } },
    gemini: { baseurl: u, authorization: 'x-goog-api-key', apikey: FAKE.providerKey, models: ['gemini-test'], compatibility: { gemini_generate_content: true } },
  };
}

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** raw sends one request with exactly these headers (fetch would not let us set Host). */
function raw(url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, url), { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('Host allowlist (DNS rebinding)', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) => configText(providers(u)), { settings: { hostNames: ['gateway.example.com'] } });
  });
  after(() => stack.close());

  test('a page on a rebinding name is refused on every route, before anything is read or forwarded', async () => {
    const before = stack.upstream.requests.length;
    const host = `rebind.attacker.example:${stack.keyway.port}`;
    for (const path of ['/api/whoami', '/api/config?reveal=1', '/ui/', '/chat', '/v1/models', '/metrics', '/']) {
      const r = await raw(stack.url, 'GET', path, { host });
      assert.equal(r.status, 421, path);
      assert.match(r.text, /unknown_host/i, path);
      assert.match(r.text, /rebind\.attacker\.example/);
      assert.match(r.text, /--host-name/);
      assert.doesNotMatch(r.text, /csrf_token/);
    }
    const put = await raw(stack.url, 'PUT', '/api/config', { host, 'content-type': 'application/json' }, JSON.stringify({ config: '{}', hash: 'x' }));
    assert.equal(put.status, 421);
    // Inference routes answer in the caller's own API envelope.
    const openai = await raw(stack.url, 'POST', '/v1/chat/completions', { host, 'content-type': 'text/plain' }, JSON.stringify(chat()));
    assert.equal(openai.status, 421);
    assert.equal(JSON.parse(openai.text).error.code, 'unknown_host');
    const anthropic = await raw(stack.url, 'POST', '/v1/messages', { host }, JSON.stringify({ model: 'claude-test', max_tokens: 5, messages: [] }));
    assert.equal(JSON.parse(anthropic.text).type, 'error');
    const gemini = await raw(stack.url, 'POST', '/v1beta/models/gemini-test:generateContent', { host }, '{}');
    assert.equal(JSON.parse(gemini.text).error.code, 421);
    assert.equal(stack.upstream.requests.length, before, 'nothing was forwarded');
  });

  test('loopback names and addresses, the listen address and --host-name names are served', async () => {
    const port = stack.keyway.port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `LOCALHOST:${port}`, `[::1]:${port}`, `127.0.0.2:${port}`, `app.localhost:${port}`, 'gateway.example.com', `Gateway.Example.Com.:${port}`]) {
      const r = await raw(stack.url, 'GET', '/api/whoami', { host });
      assert.equal(r.status, 200, host);
    }
    for (const host of ['gateway.example.com.evil.example', 'example.com', '10.1.2.3', 'localhost.evil.example', '127.0.0.1.nip.io']) {
      assert.equal((await raw(stack.url, 'GET', '/api/whoami', { host })).status, 421, host);
    }
  });

  test('a liveness probe answers under any name', async () => {
    assert.equal((await raw(stack.url, 'GET', '/healthz', { host: 'lb-probe.internal' })).status, 200);
  });

  test('hostOf and the allowlist parse Host headers strictly', () => {
    assert.equal(hostOf('Example.COM:8080'), 'example.com');
    assert.equal(hostOf('[::1]:80'), '::1');
    assert.equal(hostOf('node.tailnet.ts.net.'), 'node.tailnet.ts.net');
    const any = new HostAllowlist('0.0.0.0', []);
    assert.ok(any.allows('127.0.0.1'), 'loopback with the unspecified address');
    assert.ok(!any.allows('evil.example'));
    const unix = new HostAllowlist('unix:/run/keyway.sock', ['keyway.example']);
    assert.ok(unix.allows('keyway.example:443'));
    assert.ok(!unix.allows('unix'));
  });
});

describe('Host allowlist with tailnet identity', () => {
  let tailscaled: FakeTailscaled;
  let stack: Stack;
  before(async () => {
    tailscaled = await startFakeTailscaled(
      { '127.0.0.1': { Node: { StableID: 'n1', Name: 'laptop' }, UserProfile: { LoginName: 'alice@example.com', DisplayName: 'Alice' } } },
      { DNSName: 'keyway.tail1234.ts.net.', TailscaleIPs: ['100.101.102.103', 'fd7a:115c:a1e0::1'] },
    );
    const grants = [{ src: ['alice@example.com'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } }];
    stack = await startStack((u) => configText(providers(u), grants), { settings: { identity: 'tailscale', tailscaleSocket: tailscaled.socketPath } });
  });
  after(async () => {
    await stack.close();
    await tailscaled.close();
  });

  test("the node's MagicDNS names and tailnet IPs are known", async () => {
    for (const host of ['keyway.tail1234.ts.net', 'keyway', '100.101.102.103', '[fd7a:115c:a1e0::1]:8080']) {
      const r = await raw(stack.url, 'GET', '/api/whoami', { host });
      assert.equal(r.status, 200, `${host}: ${r.text}`);
      assert.equal(JSON.parse(r.text).login, 'alice@example.com');
    }
    assert.equal((await raw(stack.url, 'GET', '/api/whoami', { host: 'keyway.tail9999.ts.net' })).status, 421);
  });
});

describe('cross-site browser requests and CORS grants', () => {
  let stack: Stack;
  const grants = [
    { src: ['(loopback)'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } },
    {
      src: ['(loopback)'],
      app: {
        [CAP]: [
          {
            set_cors: true,
            cors_paths: ['/v1/chat/completions', '/v1/models'],
            'Access-Control-Allow-Origin': 'https://app.example.com, http://localhost:5173',
            'Access-Control-Allow-Headers': 'content-type, authorization',
          },
        ],
      },
    },
  ];
  let corsy: Server;
  before(async () => {
    // A provider that sends CORS headers of its own.
    corsy = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*', 'access-control-allow-credentials': 'true' });
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [] }));
    });
    await new Promise<void>((resolve) => corsy.listen(0, '127.0.0.1', resolve));
    const corsyUrl = `http://127.0.0.1:${(corsy.address() as AddressInfo).port}`;
    stack = await startStack((u) => configText({ ...providers(u), corsy: { baseurl: corsyUrl, apikey: FAKE.providerKey, models: ['gpt-corsy'] } }, grants));
  });
  after(async () => {
    await stack.close();
    corsy.close();
  });

  test('a foreign page cannot spend the key: text/plain POSTs, same-site and Origin-only requests are refused', async () => {
    const before = stack.upstream.requests.length;
    const cases: Array<Record<string, string>> = [
      { origin: 'https://evil.example', 'content-type': 'text/plain' },
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'content-type': 'text/plain' },
      { 'sec-fetch-site': 'same-site', origin: 'http://127.0.0.1:1', 'content-type': 'text/plain' },
      { origin: 'null', 'content-type': 'text/plain' },
      // A form POST navigation is refused too: only GET navigations pass.
      { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'content-type': 'application/x-www-form-urlencoded' },
    ];
    for (const headers of cases) {
      const r = await raw(stack.url, 'POST', '/v1/chat/completions', headers, JSON.stringify(chat()));
      assert.equal(r.status, 403, JSON.stringify(headers));
      const body = JSON.parse(r.text);
      assert.equal(body.error.code, 'cross_site', 'in the OpenAI envelope');
      assert.match(body.error.message, /set_cors/);
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    }
    const anthropic = await raw(stack.url, 'POST', '/v1/messages', { origin: 'https://evil.example' }, JSON.stringify({ model: 'claude-test', max_tokens: 5, messages: [] }));
    assert.equal(anthropic.status, 403);
    assert.equal(JSON.parse(anthropic.text).error.type, 'permission_error');
    assert.equal(stack.upstream.requests.length, before, 'nothing was forwarded');
  });

  test("keyway's own API refuses foreign pages on reads too", async () => {
    for (const path of ['/api/whoami', '/api/config', '/api/requests']) {
      const r = await raw(stack.url, 'GET', path, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors' });
      assert.equal(r.status, 403, path);
      assert.equal(JSON.parse(r.text).code, 'CROSS_SITE');
    }
  });

  test('non-browser clients, same-origin pages and links followed from elsewhere are unaffected', async () => {
    assert.equal((await postJson(`${stack.url}/v1/chat/completions`, chat())).status, 200);
    const same = await raw(stack.url, 'POST', '/v1/chat/completions', { origin: stack.url, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' }, JSON.stringify(chat()));
    assert.equal(same.status, 200);
    const link = await raw(stack.url, 'GET', '/ui/', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' });
    assert.notEqual(link.status, 403);
  });

  test('a CORS grant answers the preflight and lets the named origin call the named paths', async () => {
    const pre = await raw(stack.url, 'OPTIONS', '/v1/chat/completions', {
      origin: 'https://app.example.com',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
      'access-control-request-private-network': 'true',
      'sec-fetch-site': 'cross-site',
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(pre.headers['access-control-allow-headers'], 'content-type, authorization');
    assert.match(String(pre.headers['access-control-allow-methods']), /POST/);
    assert.equal(pre.headers['access-control-allow-private-network'], 'true');
    assert.match(String(pre.headers.vary), /Origin/);

    const before = stack.upstream.requests.length;
    const post = await raw(stack.url, 'POST', '/v1/chat/completions', { origin: 'https://app.example.com', 'sec-fetch-site': 'cross-site', 'content-type': 'application/json' }, JSON.stringify(chat()));
    assert.equal(post.status, 200);
    assert.equal(post.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(post.headers['access-control-expose-headers'], '*');
    assert.equal(stack.upstream.requests.length, before + 1);

    // Errors are readable by the page too.
    const missing = await raw(stack.url, 'POST', '/v1/chat/completions', { origin: 'http://localhost:5173', 'content-type': 'application/json' }, JSON.stringify(chat('no-such-model')));
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['access-control-allow-origin'], 'http://localhost:5173');
  });

  test('the grant opens only its origins and paths', async () => {
    const otherOrigin = await raw(stack.url, 'OPTIONS', '/v1/chat/completions', { origin: 'https://evil.example', 'access-control-request-method': 'POST' });
    assert.equal(otherOrigin.status, 403);
    const otherPath = await raw(stack.url, 'POST', '/v1/messages', { origin: 'https://app.example.com' }, JSON.stringify({ model: 'claude-test', max_tokens: 5, messages: [] }));
    assert.equal(otherPath.status, 403);
    const admin = await raw(stack.url, 'GET', '/api/config', { origin: 'https://app.example.com' });
    assert.equal(admin.status, 403);
  });

  test('CORS headers from the provider are never relayed', async () => {
    const r = await raw(stack.url, 'POST', '/v1/chat/completions', { 'content-type': 'application/json' }, JSON.stringify(chat('gpt-corsy')));
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    assert.equal(r.headers['access-control-allow-credentials'], undefined);
    // For an allowed origin, keyway's own value is the one the browser sees.
    const allowed = await raw(stack.url, 'POST', '/v1/chat/completions', { origin: 'https://app.example.com', 'content-type': 'application/json' }, JSON.stringify(chat('gpt-corsy')));
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(allowed.headers['access-control-allow-credentials'], undefined);
  });
});

describe('CORS grant validation', () => {
  test('set_cors without an origin, a bad origin and CORS fields without set_cors are reported', async () => {
    const { validateConfigText } = await import('../src/config/validate.js');
    const doc = (cap: Record<string, unknown>) =>
      JSON.stringify({ providers: {}, grants: [{ src: ['*'], app: { [CAP]: [{ role: 'admin' }, cap] } }] });
    const messages = (cap: Record<string, unknown>) => validateConfigText(doc(cap)).problems.map((p) => `${p.path}: ${p.message}`).join('\n');
    assert.match(messages({ set_cors: true }), /no Access-Control-Allow-Origin/);
    assert.match(messages({ set_cors: true, 'Access-Control-Allow-Origin': 'https://app.example.com/path' }), /must be "\*" or an origin/);
    assert.match(messages({ cors_paths: ['/v1/**'] }), /no effect without "set_cors": true/);
    assert.match(messages({ set_cors: true, 'Access-Control-Allow-Origin': '*', cors_paths: ['v1/**'] }), /must be a path starting with "\/"/);
    assert.doesNotMatch(messages({ set_cors: true, 'Access-Control-Allow-Origin': '*' }), /Access-Control|cors/i);
  });
});

describe('slow and greedy clients', () => {
  let stack: Stack;
  const logged: string[] = [];
  before(async () => {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logged.push(String(chunk));
        cb();
      },
    });
    stack = await startStack((u) => configText(providers(u)), {
      settings: { clientLimits: { headerTimeoutMs: 400, bodyTimeoutMs: 400, maxConnectionsPerPeer: 6 }, bodyLimit: 64 * 1024 },
      log: createLogger('warn', sink),
    });
  });
  after(() => stack.close());

  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = connect(stack.keyway.port, '127.0.0.1', () => resolve(s));
      s.on('error', reject);
    });
  const closed = (s: Socket) => new Promise<number>((resolve) => {
    const t0 = Date.now();
    s.on('close', () => resolve(Date.now() - t0));
  });

  test('headers that trickle in are cut off after the header timeout', async () => {
    const s = await open();
    let got = '';
    s.on('data', (d) => (got += d));
    const done = closed(s);
    s.write('GET /api/whoami HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const trickle = setInterval(() => s.writable && s.write('X-Slow: 1\r\n'), 50);
    const ms = await done;
    clearInterval(trickle);
    assert.ok(ms < 2500, `closed after ${ms} ms`);
    assert.match(got, /^HTTP\/1\.1 408/);
  });

  test('a connection that sends nothing is closed after the header timeout', async () => {
    const s = await open();
    const ms = await closed(s);
    assert.ok(ms >= 300 && ms < 2500, `closed after ${ms} ms`);
  });

  test('a body that stops arriving gets 408 in the caller\'s envelope, and nothing is forwarded', async () => {
    const before = stack.upstream.requests.length;
    const s = await open();
    let got = '';
    s.on('data', (d) => (got += d));
    const done = closed(s);
    s.write('POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"model":"claude-test",');
    const ms = await done;
    assert.ok(ms < 2500, `closed after ${ms} ms`);
    assert.match(got, /^HTTP\/1\.1 408/);
    const body = JSON.parse(got.slice(got.indexOf('\r\n\r\n') + 4));
    assert.equal(body.type, 'error', 'Anthropic envelope');
    assert.match(body.error.message, /body-timeout/);
    assert.equal(stack.upstream.requests.length, before);
  });

  test('a slow body that keeps coming and a long answer stream are never cut', async () => {
    // Body bytes every 150 ms for 1.2 s (each pause under the 400 ms bound).
    const payload = JSON.stringify(chat());
    const pieces = payload.match(/.{1,8}/g)!;
    const answer = await new Promise<RawAnswer>((resolve, reject) => {
      const req = httpRequest(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      });
      req.on('error', reject);
      let i = 0;
      const next = () => {
        if (i < pieces.length) {
          req.write(pieces[i++]);
          setTimeout(next, 1200 / pieces.length);
        } else req.end();
      };
      next();
    });
    assert.equal(answer.status, 200, answer.text);

    const started = Date.now();
    const stream = await fetch(`${stack.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-mock-scenario': 'chunks=6,interval=300' },
      body: JSON.stringify({ ...chat(), stream: true }),
    });
    const text = await stream.text();
    assert.ok(Date.now() - started > 1500, 'the stream ran for longer than both timeouts');
    assert.match(text, /\[DONE\]/);
  });

  test('a peer over its connection cap gets 503 and a log line; a freed slot is usable again', async () => {
    // Keep-alive connections that have each made a request stay open past the header timeout.
    const held: Socket[] = [];
    for (let i = 0; i < 6; i++) {
      const s = await open();
      await new Promise<void>((resolve) => {
        s.once('data', () => resolve());
        s.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      });
      held.push(s);
    }
    const extra = await open();
    let got = '';
    extra.on('data', (d) => (got += d));
    await closed(extra);
    assert.match(got, /^HTTP\/1\.1 503/);
    assert.match(got, /too many open connections/);
    assert.ok(logged.some((l) => l.includes('max-connections-per-peer')), 'the refusal is logged');

    const freed = closed(held[0]!);
    held[0]!.destroy();
    await freed;
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await fetch(`${stack.url}/healthz`)).status, 200);
    for (const s of held) s.destroy();
  });

  test('fetch() can read a 413: the rest of the upload is drained, not reset', async () => {
    const big = JSON.stringify({ ...chat(), padding: 'x'.repeat(1024 * 1024) });
    for (const declared of [true, false]) {
      const body = declared ? big : new Blob([big]).stream();
      const res = await fetch(`${stack.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        ...(declared ? {} : { duplex: 'half' }),
      } as RequestInit);
      assert.equal(res.status, 413);
      const json = (await res.json()) as { error: { code: string } };
      assert.equal(json.error.code, 'body_too_large');
    }
  });
});

describe('serve-headers on a unix socket', () => {
  let dir: string;
  let stack: Stack;
  const logged: string[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyway-sock-'));
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logged.push(String(chunk));
        cb();
      },
    });
    const grants = [{ src: ['alice@example.com'], app: { [CAP]: [{ role: 'user' }, { models: '**' }] } }];
    // No tailscaled here, so the node's name comes from --host-name.
    stack = await startStack((u) => configText(providers(u), grants), {
      settings: { host: `unix:${join(dir, 'keyway.sock')}`, identity: 'serve-headers', tailscaleSocket: join(dir, 'none.sock'), hostNames: ['keyway.tail1234.ts.net'] },
      log: createLogger('warn', sink),
    });
  });
  after(async () => {
    await stack.close();
    await rm(dir, { recursive: true, force: true });
  });

  const overSocket = (path: string, headers: Record<string, string>) =>
    new Promise<RawAnswer>((resolve, reject) => {
      const req = httpRequest({ socketPath: join(dir, 'keyway.sock'), path, headers }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      });
      req.on('error', reject);
      req.end();
    });

  test('tailscale serve identity headers are trusted on the socket, which only its owner can open', async () => {
    const who = await overSocket('/api/whoami', { host: 'keyway.tail1234.ts.net', 'tailscale-user-login': 'alice@example.com' });
    assert.equal(who.status, 200, who.text);
    assert.equal(JSON.parse(who.text).login, 'alice@example.com');
    assert.equal((await stat(join(dir, 'keyway.sock'))).mode & 0o777, 0o600);
    assert.equal((await overSocket('/api/whoami', { host: 'other.example', 'tailscale-user-login': 'alice@example.com' })).status, 421);
    assert.ok(!logged.some((l) => l.includes('trusts the Tailscale-User-Login header')), 'no warning on a unix socket');
  });

  test('a stale socket file is replaced; one in use is refused', async () => {
    const { startKeyway, DEFAULT_SETTINGS } = await import('../src/start.js');
    const settings = { ...DEFAULT_SETTINGS, dataDir: join(dir, 'second'), watch: false };
    await assert.rejects(startKeyway({ ...settings, host: `unix:${join(dir, 'keyway.sock')}` }, { env: {}, log: createLogger('silent') }), /another process is listening/);
    // A process killed with -9 leaves its socket file behind.
    const stale = join(dir, 'stale.sock');
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`], { stdio: 'ignore' });
    assert.ok((await stat(stale)).isSocket());
    const second = await startKeyway({ ...settings, host: `unix:${stale}` }, { env: {}, log: createLogger('silent') });
    await second.close(100);
  });

  test('on loopback TCP, serve-headers says loudly that any local process can claim a login', async () => {
    const sink: string[] = [];
    const tcp = await startStack((u) => configText(providers(u)), {
      upstream: stack.upstream,
      settings: { identity: 'serve-headers', tailscaleSocket: join(dir, 'none.sock') },
      log: createLogger('warn', new Writable({ write: (c, _e, cb) => (sink.push(String(c)), cb()) })),
    });
    await tcp.close();
    assert.ok(sink.some((l) => l.includes('trusts the Tailscale-User-Login header') && l.includes('unix:')), sink.join('\n'));
  });
});
