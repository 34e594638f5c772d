/**
 * Identity sources end to end: tailscaled whois over a unix socket (users, tagged
 * devices, unknown, slow and failing peers, caching, policy-file grants), the headers of
 * `tailscale serve`, and the `auto` choice.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { chooseIdentitySource } from '../src/identity/choose.js';
import { serveHeadersIdentity } from '../src/identity/serve-headers.js';
import { decodeRfc2047 } from '../src/identity/rfc2047.js';
import { tailscaleIdentity } from '../src/identity/tailscale.js';
import type { IncomingMessage } from 'node:http';
import { startFakeTailscaled, type FakeTailscaled } from './fake-tailscaled.js';
import { configText, startStack, type Stack } from './helpers.js';

const CAP = 'tailscale.com/cap/aperture';

function providers(u: string) {
  return {
    anthropic: { baseurl: u, authorization: 'x-api-key', auth_mode: 'passthrough', models: ['claude-a'], compatibility: { anthropic_messages: true } },
    openai: { baseurl: u, apikey: 'sk-test-provider', models: ['gpt-a'] },
  };
}

const GRANTS = [
  { src: ['admin@example.com'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } },
  { src: ['alice@example.com'], app: { [CAP]: [{ role: 'user' }, { models: 'anthropic/**' }] } },
  { src: ['group:eng'], app: { [CAP]: [{ models: 'openai/gpt-a' }] } },
  { src: ['tag:api,tag:prod'], app: { [CAP]: [{ role: 'user' }, { models: 'openai/**' }] } },
];

/** call sends a request from a chosen loopback source address (one keep-alive agent per address). */
const agents = new Map<string, Agent>();
function call(from: string, url: string, opts: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; json: any }> {
  let agent = agents.get(from);
  if (!agent) agents.set(from, (agent = new Agent({ keepAlive: true, maxSockets: 1 })));
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? (opts.body ? 'POST' : 'GET'), localAddress: from, agent, headers: { 'content-type': 'application/json', ...opts.headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    req.end(opts.body === undefined ? undefined : JSON.stringify(opts.body));
  });
}

const claude = { model: 'claude-a', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] };
const gpt = { model: 'gpt-a', messages: [{ role: 'user', content: 'hi' }] };

describe('tailscale identity (whois over the LocalAPI socket)', () => {
  let tailscaled: FakeTailscaled;
  let stack: Stack;
  before(async () => {
    tailscaled = await startFakeTailscaled({
      '127.0.0.2': { Node: { StableID: 'nALICE', Name: 'alice-laptop.example.ts.net.' }, UserProfile: { LoginName: 'alice@example.com', DisplayName: 'Alice Example', Groups: ['group:eng'] } },
      '127.0.0.3': { Node: { StableID: 'nCI', ComputedName: 'ci-runner', Tags: ['tag:prod', 'tag:api'] }, UserProfile: { LoginName: 'tagged-devices' } },
      '127.0.0.5': { delayMs: 1500, then: { UserProfile: { LoginName: 'admin@example.com' } } },
      '127.0.0.6': { status: 500, body: 'internal error' },
      '127.0.0.7': { Node: { StableID: 'nBOB' }, UserProfile: { LoginName: 'bob@example.com' }, CapMap: { [CAP]: [{ role: 'user' }, { models: 'openai/**' }] } },
      '127.0.0.8': { Node: { StableID: 'nADMIN' }, UserProfile: { LoginName: 'admin@example.com' } },
      '127.0.0.9': { Node: { StableID: 'nEMPTY' }, UserProfile: { LoginName: 'tagged-devices' } },
    });
    stack = await startStack((u) => configText(providers(u), GRANTS), {
      identity: tailscaleIdentity({ socketPath: tailscaled.socketPath, timeoutMs: 400 }),
      settings: { host: '127.0.0.1' },
    });
  });
  after(async () => {
    for (const a of agents.values()) a.destroy();
    await stack.close();
    await tailscaled.close();
  });

  test('a user gets exactly what their grants give', async () => {
    const who = await call('127.0.0.2', `${stack.url}/api/whoami`);
    assert.equal(who.status, 200);
    assert.deepEqual(
      { login: who.json.login, display_name: who.json.display_name, node_id: who.json.node_id, groups: who.json.groups, role: who.json.role, models: who.json.models, source: who.json.identity_source },
      { login: 'alice@example.com', display_name: 'Alice Example', node_id: 'nALICE', groups: ['group:eng'], role: 'user', models: ['anthropic/**', 'openai/gpt-a'], source: 'tailscale' },
    );
    assert.equal((await call('127.0.0.2', `${stack.url}/v1/messages`, { body: claude, headers: { 'x-api-key': 'sk-ant-test-alice' } })).status, 200);
    assert.equal((await call('127.0.0.2', `${stack.url}/v1/chat/completions`, { body: gpt })).status, 200, 'granted through group:eng');
    const models = await call('127.0.0.2', `${stack.url}/v1/models`);
    assert.deepEqual(models.json.data.map((m: any) => `${m.metadata.provider.id}/${m.id}`).sort(), ['anthropic/claude-a', 'openai/gpt-a']);
    assert.equal((await call('127.0.0.2', `${stack.url}/api/config`)).status, 403, 'a user is not an admin');
  });

  test('a tagged device is its sorted, comma-joined tags', async () => {
    const who = await call('127.0.0.3', `${stack.url}/api/whoami`);
    assert.equal(who.json.login, 'tag:api,tag:prod');
    assert.deepEqual(who.json.tags, ['tag:prod', 'tag:api']);
    assert.equal((await call('127.0.0.3', `${stack.url}/v1/chat/completions`, { body: gpt })).status, 200);
    assert.equal((await call('127.0.0.3', `${stack.url}/v1/messages`, { body: claude })).status, 404);
  });

  test('grants from the tailnet policy (CapMap) count like configured ones', async () => {
    const who = await call('127.0.0.7', `${stack.url}/api/whoami`);
    assert.equal(who.json.role, 'user');
    assert.equal((await call('127.0.0.7', `${stack.url}/v1/chat/completions`, { body: gpt })).status, 200);
    assert.equal((await call('127.0.0.7', `${stack.url}/v1/messages`, { body: claude })).status, 404);
  });

  test('unknown, slow, failing and nameless peers are refused, and nothing is forwarded', async () => {
    stack.upstream.reset();
    for (const ip of ['127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.9']) {
      const r = await call(ip, `${stack.url}/v1/messages`, { body: claude, headers: { 'x-api-key': 'sk-ant-test-x' } });
      assert.equal(r.status, 403, ip);
      assert.equal(r.json.error.type, 'permission_error', ip);
      assert.equal((await call(ip, `${stack.url}/api/whoami`)).status, 403, ip);
    }
    assert.equal(stack.upstream.requests.length, 0);
  });

  test('one whois per connection: later requests on it use the cached identity', async () => {
    const before = tailscaled.lookups.filter((a) => a.startsWith('127.0.0.8:')).length;
    for (let i = 0; i < 5; i++) assert.equal((await call('127.0.0.8', `${stack.url}/v1/chat/completions`, { body: gpt })).status, 200);
    const after = tailscaled.lookups.filter((a) => a.startsWith('127.0.0.8:')).length;
    assert.equal(after - before, 1);
    assert.match(tailscaled.lookups.at(-1)!, /^127\.0\.0\.8:\d+$/);
  });

  test('spoofed Tailscale-* headers change nothing and are never forwarded', async () => {
    stack.upstream.reset();
    const spoof = { 'tailscale-user-login': 'admin@example.com', 'tailscale-app-capabilities': JSON.stringify({ [CAP]: [{ role: 'admin' }, { models: '**' }] }) };
    const who = await call('127.0.0.2', `${stack.url}/api/whoami`, { headers: spoof });
    assert.equal(who.json.login, 'alice@example.com');
    assert.equal((await call('127.0.0.2', `${stack.url}/api/config`, { headers: spoof })).status, 403);
    assert.equal((await call('127.0.0.2', `${stack.url}/v1/messages`, { body: claude, headers: { ...spoof, 'x-api-key': 'sk-ant-test-alice' } })).status, 200);
    assert.equal(stack.upstream.requests[0]!.headers['tailscale-user-login'], undefined);
    assert.equal(stack.upstream.requests[0]!.headers['tailscale-app-capabilities'], undefined);
  });

  test('an admin may read the config; /api/explain says why a model is or is not served', async () => {
    assert.equal((await call('127.0.0.8', `${stack.url}/api/config`)).status, 200);
    const yes = await call('127.0.0.2', `${stack.url}/api/explain?model=claude-a`);
    assert.equal(yes.json.served, true);
    assert.equal(yes.json.provider, 'anthropic');
    // An OpenAI-only model asked for in Anthropic's API is served through translation.
    const translated = await call('127.0.0.2', `${stack.url}/api/explain?model=openai/gpt-a&format=anthropic_messages`);
    assert.equal(translated.json.served, true);
    assert.match(translated.json.summary, /translated from anthropic_messages to openai_chat/);
    assert.deepEqual(translated.json.translations, { anthropic_messages: 'openai_chat' });
    const nope = await call('127.0.0.3', `${stack.url}/api/explain?model=claude-a`);
    assert.match(nope.json.summary, /no models pattern of yours matches "anthropic\/claude-a"/);
  });
});

describe('auto identity', () => {
  test('chooses tailscale when tailscaled answers, loopback when it does not, and says why', async () => {
    const tailscaled = await startFakeTailscaled({});
    try {
      const found = await chooseIdentitySource('auto', tailscaled.socketPath);
      assert.equal(found.source.name, 'tailscale');
      assert.match(found.reason, /tailscaled answers/);
    } finally {
      await tailscaled.close();
    }
    const missing = await chooseIdentitySource('auto', '/nonexistent/tailscaled.sock');
    assert.equal(missing.source.name, 'loopback');
    assert.match(missing.reason, /does not answer/);
  });
});

function fakeReq(remoteAddress: string, headers: Record<string, string>): IncomingMessage {
  return { socket: { remoteAddress }, headers } as unknown as IncomingMessage;
}

describe('serve-headers identity', () => {
  test('trusts tailscale serve headers from loopback only', () => {
    const id = serveHeadersIdentity.identify(fakeReq('127.0.0.1', { 'tailscale-user-login': '=?utf-8?q?j=C3=B6rg@example.com?=', 'tailscale-user-name': '=?utf-8?q?J=C3=B6rg_M=C3=BCller?=' }));
    assert.ok(id && !(id instanceof Promise));
    assert.equal(id.login, 'jörg@example.com');
    assert.equal(id.displayName, 'Jörg Müller');
    assert.equal(id.loopback, false);
    assert.equal(serveHeadersIdentity.identify(fakeReq('100.101.102.103', { 'tailscale-user-login': 'alice@example.com' })), undefined);
  });

  test('app capabilities become grants; malformed ones grant nothing', () => {
    const caps = JSON.stringify({ [CAP]: [{ role: 'user' }], 'other.example/cap': [{}] });
    const id = serveHeadersIdentity.identify(fakeReq('127.0.0.1', { 'tailscale-user-login': 'a@example.com', 'tailscale-app-capabilities': caps }));
    assert.deepEqual(id && !(id instanceof Promise) && id.capMap, { [CAP]: [{ role: 'user' }] });
    const bad = serveHeadersIdentity.identify(fakeReq('127.0.0.1', { 'tailscale-user-login': 'a@example.com', 'tailscale-app-capabilities': '{not json' }));
    assert.deepEqual(bad && !(bad instanceof Promise) && bad.capMap, {});
  });

  test('the same headers give the same identity object, so grants are evaluated once per caller', () => {
    const headers = { 'tailscale-user-login': 'same@example.com', 'tailscale-user-name': 'Same', 'tailscale-app-capabilities': JSON.stringify({ [CAP]: [{ role: 'user' }] }) };
    const a = serveHeadersIdentity.identify(fakeReq('127.0.0.1', headers));
    const b = serveHeadersIdentity.identify(fakeReq('127.0.0.1', { ...headers }));
    assert.ok(a && !(a instanceof Promise));
    assert.equal(a, b);
    const other = serveHeadersIdentity.identify(fakeReq('127.0.0.1', { ...headers, 'tailscale-app-capabilities': JSON.stringify({ [CAP]: [{ role: 'admin' }] }) }));
    assert.notEqual(other, a, 'other capabilities are another identity');
    assert.deepEqual(other && !(other instanceof Promise) && other.capMap, { [CAP]: [{ role: 'admin' }] });
    assert.equal(serveHeadersIdentity.identify(fakeReq('100.64.0.1', headers)), undefined, 'still loopback only');
  });

  test('a loopback request without a login is the local owner only if it did not come through serve', () => {
    const local = serveHeadersIdentity.identify(fakeReq('127.0.0.1', {}));
    assert.equal(local && !(local instanceof Promise) && local.loopback, true);
    assert.equal(serveHeadersIdentity.identify(fakeReq('127.0.0.1', { 'x-forwarded-for': '100.64.0.9' })), undefined, 'tagged device through serve');
    assert.equal(serveHeadersIdentity.identify(fakeReq('127.0.0.1', { 'tailscale-funnel-request': '?1' })), undefined, 'funnel');
  });

  test('end to end: a serve-identified user is granted by login', async () => {
    const stack = await startStack((u) => configText(providers(u), GRANTS), { identity: serveHeadersIdentity });
    try {
      const r = await fetch(`${stack.url}/api/whoami`, { headers: { 'tailscale-user-login': 'alice@example.com' } });
      assert.equal(((await r.json()) as { role: string }).role, 'user');
      const denied = await fetch(`${stack.url}/v1/models`, { headers: { 'tailscale-user-login': 'mallory@example.com' } });
      assert.equal(denied.status, 403);
    } finally {
      await stack.close();
    }
  });
});

test('RFC 2047 decoding', () => {
  assert.equal(decodeRfc2047('plain@example.com'), 'plain@example.com');
  assert.equal(decodeRfc2047('=?utf-8?q?Andr=C3=A9?='), 'André');
  assert.equal(decodeRfc2047('=?UTF-8?B?SsO2cmc=?='), 'Jörg');
  assert.equal(decodeRfc2047('=?utf-8?q?a?= =?utf-8?q?b?='), 'ab');
  assert.equal(decodeRfc2047('=?utf-8?q?=FF?='), '', 'invalid UTF-8 names nobody');
});
