/**
 * pre_request hooks end to end: a real keyway, a real mock upstream and a real hook server
 * on loopback. allow, block and modify; chains and their order; fail_open and fail_closed
 * under refusal, timeout, 500 and bad JSON; auth styles; disabled hooks; the same hook
 * through two grants called once with merged sends; the block and 503 envelopes of every
 * format, streaming included; the payload per `send`, with credential canaries; telemetry
 * and /metrics.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Identity, IdentitySource } from '../src/identity/identity.js';
import { createLogger } from '../src/log.js';
import { postJson, startStack, type Stack } from './helpers.js';
import { startHookServer, type HookServer } from './hook-helpers.js';

const CAP = 'tailscale.com/cap/aperture';

const ALICE: Identity = { login: 'alice@example.com', displayName: 'Alice', nodeId: 'nALICE1', tags: [], groups: [], loopback: false, capMap: {} };
const ADMIN: Identity = { login: 'admin@example.com', displayName: 'Admin', nodeId: 'nADMIN1', tags: [], groups: [], loopback: false, capMap: {} };
const byHeader: IdentitySource = { name: 'test-header', identify: (req: IncomingMessage) => (req.headers['x-test-as'] === 'admin' ? ADMIN : ALICE) };

/** Credentials that must never reach a hook: each contains `test` and a word to look for. */
const CANARY = {
  clientKey: 'sk-ant-test-CANARYCLIENT-0001',
  bearer: 'sk-test-CANARYBEARER-0001',
  googleKey: 'AIza-test-CANARYGOOGLE-0001',
  provider: 'sk-test-CANARYPROVIDER-9999',
  hookKey: 'hk-test-CANARYHOOKKEY-0001',
  cookie: 'session=CANARYCOOKIE-test',
  tailscale: 'CANARYTAILSCALE-test@example.com',
};

const MODELS = ['claude-sonnet-4-5', 'gpt-4o', 'gemini-2.5-flash'];
const ALL_FORMATS = { anthropic_messages: true, openai_chat: true, openai_responses: true, gemini_generate_content: true };

/** One API format: how to call it and how its block (and 503) envelope reads. */
interface FormatCase {
  name: string;
  model: string;
  path(model: string, stream: boolean, query?: string): string;
  body(model: string, stream: boolean, prompt: string): Record<string, unknown>;
  /** Checks the envelope of a keyway error with `status`; returns its message. */
  blocked(json: any, status: number): string;
  failed(json: any): string;
}

const FORMATS: FormatCase[] = [
  {
    name: 'anthropic messages',
    model: 'claude-sonnet-4-5',
    path: () => '/v1/messages',
    body: (model, stream, prompt) => ({ model, stream, max_tokens: 16, messages: [{ role: 'user', content: prompt }] }),
    blocked: (j) => {
      assert.equal(j.type, 'error');
      assert.equal(j.error.type, 'invalid_request_error');
      return j.error.message;
    },
    failed: (j) => {
      assert.equal(j.error.type, 'api_error');
      return j.error.message;
    },
  },
  {
    name: 'openai chat',
    model: 'gpt-4o',
    path: () => '/v1/chat/completions',
    body: (model, stream, prompt) => ({ model, stream, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: prompt }] }),
    blocked: (j) => {
      assert.equal(j.error.type, 'guardrail_blocked');
      return j.error.message;
    },
    failed: (j) => {
      assert.equal(j.error.type, 'server_error');
      assert.equal(j.error.code, 'hook_failed');
      return j.error.message;
    },
  },
  {
    name: 'openai responses',
    model: 'gpt-4o',
    path: () => '/v1/responses',
    body: (model, stream, prompt) => ({ model, stream, input: prompt }),
    blocked: (j) => {
      assert.equal(j.error.type, 'guardrail_blocked');
      return j.error.message;
    },
    failed: (j) => {
      assert.equal(j.error.type, 'server_error');
      return j.error.message;
    },
  },
  {
    name: 'gemini',
    model: 'gemini-2.5-flash',
    path: (model, stream, query = '') => `/v1beta/models/${encodeURIComponent(model)}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}${query ? (stream ? '&' : '?') + query : ''}`,
    body: (_model, _stream, prompt) => ({ contents: [{ role: 'user', parts: [{ text: prompt }] }] }),
    blocked: (j, status) => {
      assert.equal(j.error.code, status);
      assert.equal(j.error.status, 'PERMISSION_DENIED');
      return j.error.message;
    },
    failed: (j) => {
      assert.equal(j.error.code, 503);
      assert.equal(j.error.status, 'UNAVAILABLE');
      return j.error.message;
    },
  },
];

/** A provider and the hooks its models are wired to (pre_request unless `events` says otherwise). */
interface Wiring {
  provider: string;
  hooks: Array<{ name: string; events?: string[]; send?: string[] }>;
}

function configFor(upstream: string, hookUrl: string, extraHooks: Record<string, unknown> = {}): string {
  const hook = (path: string, extra: Record<string, unknown> = {}) => ({ url: `${hookUrl}${path}`, ...extra });
  const hooks: Record<string, unknown> = {
    allow: hook('/allow'),
    low: hook('/low', { preference: 1 }),
    high: hook('/high', { preference: 5 }),
    'mid-b': hook('/mid-b', { preference: 3 }),
    'mid-a': hook('/mid-a', { preference: 3 }),
    blocker: hook('/blocker', { preference: -1 }),
    'block-default': hook('/block-default'),
    modifier: hook('/modifier', { preference: 10 }),
    'model-changer': hook('/model-changer', { preference: 10 }),
    'model-changer-closed': hook('/model-changer', { preference: 10, fail_policy: 'fail_closed' }),
    // Nothing listens on port 9 of loopback: refused at once.
    // Failing hooks run first (preference 2), so the tests see whether the chain goes on.
    'refused-open': { url: 'http://127.0.0.1:9/refused', preference: 2 },
    'refused-closed': { url: 'http://127.0.0.1:9/refused', fail_policy: 'fail_closed', preference: 2 },
    'slow-open': hook('/slow', { timeout: '200ms', preference: 2 }),
    'slow-closed': hook('/slow', { timeout: '200ms', fail_policy: 'fail_closed', preference: 2 }),
    'error-open': hook('/error', { preference: 2 }),
    'error-closed': hook('/error', { fail_policy: 'fail_closed', preference: 2 }),
    'badjson-open': hook('/badjson', { preference: 2 }),
    'badjson-closed': hook('/badjson', { fail_policy: 'fail_closed', preference: 2 }),
    'noaction-closed': hook('/noaction', { fail_policy: 'fail_closed' }),
    bearer: hook('/bearer', { apikey: CANARY.hookKey }),
    xapikey: hook('/xapikey', { apikey: CANARY.hookKey, authorization: 'x-api-key' }),
    xgoog: hook('/xgoog', { apikey: CANARY.hookKey, authorization: 'x-goog-api-key' }),
    nokey: hook('/nokey'),
    waiting: hook('/waiting'),
    off: hook('/off', { disabled: true }),
    payload: hook('/payload'),
    merged: hook('/merged'),
    ...extraHooks,
  };
  const wirings: Wiring[] = [
    { provider: 'plain', hooks: [] },
    { provider: 'allowed', hooks: [{ name: 'allow' }] },
    { provider: 'chain', hooks: [{ name: 'low' }, { name: 'mid-b' }, { name: 'high' }, { name: 'mid-a' }] },
    { provider: 'blocked', hooks: [{ name: 'allow' }, { name: 'blocker' }, { name: 'low' }] },
    { provider: 'blocked-default', hooks: [{ name: 'block-default' }] },
    { provider: 'modified', hooks: [{ name: 'modifier', send: ['request_body'] }, { name: 'allow', send: ['request_body', 'user_message'] }] },
    { provider: 'modified-blocked', hooks: [{ name: 'modifier', send: ['request_body'] }, { name: 'blocker' }] },
    { provider: 'model-change-open', hooks: [{ name: 'model-changer' }, { name: 'allow', send: ['request_body'] }] },
    { provider: 'model-change-closed', hooks: [{ name: 'model-changer-closed' }] },
    ...['refused', 'slow', 'error', 'badjson'].flatMap((k) => [
      { provider: `${k}-open`, hooks: [{ name: `${k}-open` }, { name: 'allow' }] },
      { provider: `${k}-closed`, hooks: [{ name: `${k}-closed` }, { name: 'allow' }] },
    ]),
    { provider: 'noaction-closed', hooks: [{ name: 'noaction-closed' }] },
    { provider: 'auth', hooks: [{ name: 'bearer' }, { name: 'xapikey' }, { name: 'xgoog' }, { name: 'nokey' }] },
    { provider: 'disabled', hooks: [{ name: 'off' }, { name: 'allow' }] },
    { provider: 'payload', hooks: [{ name: 'payload', send: ['request_body', 'response_body', 'raw_responses', 'user_message', 'tools', 'grants', 'estimated_cost', 'quotas'] }] },
    { provider: 'merged', hooks: [{ name: 'merged', send: ['request_body'] }] },
    { provider: 'waiting', hooks: [{ name: 'waiting' }] },
  ];
  const providers = Object.fromEntries(wirings.map((w) => [w.provider, { baseurl: upstream, apikey: CANARY.provider, models: MODELS, compatibility: ALL_FORMATS }]));
  const wired = wirings.filter((w) => w.hooks.length > 0).map((w) => ({ models: `${w.provider}/**`, send_hooks: w.hooks.map((h) => ({ name: h.name, events: h.events ?? ['pre_request'], send: h.send ?? [] })) }));
  return JSON.stringify({
    providers,
    hooks,
    quotas: { 'daily:<user>': { capacity: '$10.00', rate: '$10.00/day' } },
    grants: [
      { src: ['admin@example.com'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } },
      { src: ['alice@example.com'], app: { [CAP]: [{ role: 'user' }, { models: '**' }, ...wired, { models: 'payload/**', quotas: [{ bucket: 'daily:<user>' }] }], 'example.com/cap/policy': [{ tier: 'gold' }] } },
      // The same hook through a second grant, for every model (no `models`), with other sends:
      // one call, with the union of both.
      { src: ['*'], app: { [CAP]: [{ send_hooks: [{ name: 'merged', events: ['pre_request'], send: ['user_message'] }] }] } },
    ],
  }, null, 2);
}

async function call(stack: Stack, f: FormatCase, provider: string, stream: boolean, prompt = 'hello hooks', headers: Record<string, string> = {}, query?: string) {
  const model = `${provider}/${f.model}`;
  return postJson(stack.url + f.path(model, stream, query), f.body(model, stream, prompt), headers);
}

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

describe('pre_request hooks', () => {
  let hooks: HookServer;
  let stack: Stack;
  let logs = '';
  before(async () => {
    hooks = await startHookServer();
    const sink = new Writable({
      write(chunk, _enc, done) {
        logs += String(chunk);
        done();
      },
    });
    stack = await startStack((u) => configFor(u, hooks.url), { identity: byHeader, mock: { acceptAnyKey: true }, log: createLogger('warn', sink) });
  });
  after(async () => {
    await stack.close();
    await hooks.close();
  });
  beforeEach(() => {
    hooks.reset();
    hooks.scripts.set('/blocker', { json: { action: 'block', status_code: 451, message: 'no secrets please' } });
    hooks.scripts.set('/block-default', { json: { action: 'block' } });
    hooks.scripts.set('/slow', { hang: true });
    hooks.scripts.set('/error', { status: 500, json: { action: 'allow' } });
    hooks.scripts.set('/badjson', { text: 'allow, I guess' });
    hooks.scripts.set('/noaction', { json: { verdict: 'allow' } });
    stack.upstream.reset();
    logs = '';
  });

  test('a request without hooks calls none', async () => {
    const r = await call(stack, FORMATS[0]!, 'plain', false);
    assert.equal(r.status, 200, r.text);
    // The grant without `models` wires "merged" for every model: that one call is all.
    assert.deepEqual(hooks.calls.map((c) => c.path), ['/merged']);
  });

  test('allow: the hook is called, then the request is forwarded as sent', async () => {
    for (const f of FORMATS) {
      for (const stream of [false, true]) {
        hooks.reset();
        stack.upstream.reset();
        const r = await call(stack, f, 'allowed', stream);
        assert.equal(r.status, 200, `${f.name}: ${r.text}`);
        assert.equal(hooks.callsTo('/allow').length, 1, f.name);
        assert.equal(hooks.callsTo('/allow')[0]!.body.event, 'pre_request');
        assert.equal(stack.upstream.requests.length, 1);
      }
    }
  });

  test('a chain runs in descending preference, then by hook id', async () => {
    const r = await call(stack, FORMATS[1]!, 'chain', false);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(hooks.calls.filter((c) => c.path !== '/merged').map((c) => c.path), ['/high', '/mid-a', '/mid-b', '/low']);
  });

  test('block: the status and message reach the client, later hooks and the provider see nothing', async () => {
    const r = await call(stack, FORMATS[1]!, 'blocked', false);
    assert.equal(r.status, 451);
    assert.equal(FORMATS[1]!.blocked(r.json, 451), 'no secrets please');
    assert.deepEqual(hooks.calls.filter((c) => c.path !== '/merged').map((c) => c.path), ['/low', '/allow', '/blocker'], 'blocker (preference -1) runs last');
    assert.equal(stack.upstream.requests.length, 0);
    const line = logs.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === 'request blocked by guardrail');
    assert.ok(line, logs);
    assert.equal(line.hook, 'blocker');
    assert.equal(line.login_name, 'alice@example.com');
    const rec = await record(stack, r.headers.get('x-keyway-request-id'));
    assert.equal(rec.status, 451);
    assert.equal(rec.errorCode, 'GUARDRAIL_BLOCKED');
    assert.deepEqual(rec.hooks.map((h: any) => [h.hook, h.verdict]), [['low', 'allow'], ['allow', 'allow'], ['merged', 'allow'], ['blocker', 'block']]);
    assert.ok(rec.hooks.every((h: any) => typeof h.ms === 'number' && h.ms >= 0));
  });

  test('block without status or message: 403 "request blocked by guardrail"', async () => {
    const r = await call(stack, FORMATS[0]!, 'blocked-default', false);
    assert.equal(r.status, 403);
    assert.equal(FORMATS[0]!.blocked(r.json, 403), 'request blocked by guardrail');
    hooks.scripts.set('/block-default', { json: { action: 'block', status_code: 200, message: '' } });
    const odd = await call(stack, FORMATS[0]!, 'blocked-default', false);
    assert.equal(odd.status, 403, 'a block is an error answer: 200 becomes 403');
  });

  test('block and fail_closed in every format envelope, JSON and stream', async () => {
    for (const f of FORMATS) {
      for (const stream of [false, true]) {
        const what = `${f.name}${stream ? ' stream' : ''}`;
        const blocked = await call(stack, f, 'blocked', stream);
        assert.equal(blocked.status, 451, what);
        assert.match(String(blocked.headers.get('content-type')), /^application\/json/, `${what}: a JSON error, not a stream`);
        assert.equal(f.blocked(blocked.json, 451), 'no secrets please', what);
        const failed = await call(stack, f, 'error-closed', stream);
        assert.equal(failed.status, 503, what);
        assert.match(f.failed(failed.json), /^request refused: guardrail hook "error-closed" failed \(answered HTTP 500\) and its fail_policy is fail_closed$/, what);
      }
    }
    assert.equal(stack.upstream.requests.length, 0, 'nothing was forwarded');
  });

  test('modify: the next hook and the provider see the replaced body', async () => {
    hooks.scripts.set('/modifier', (c) => ({ json: { action: 'modify', request_body: { ...c.body.request_body, messages: [{ role: 'user', content: 'rewritten [redacted]' }], unknown_field: 1 } } }));
    const r = await call(stack, FORMATS[1]!, 'modified', false, 'my password is hunter2');
    assert.equal(r.status, 200, r.text);
    const [mod] = hooks.callsTo('/modifier');
    assert.equal(mod!.body.request_body.messages[1].content, 'my password is hunter2');
    const [next] = hooks.callsTo('/allow');
    assert.deepEqual(next!.body.request_body.messages, [{ role: 'user', content: 'rewritten [redacted]' }]);
    assert.equal(next!.body.user_message, 'rewritten [redacted]');
    const sent = stack.upstream.requests[0]!;
    assert.deepEqual((sent.json as any).messages, [{ role: 'user', content: 'rewritten [redacted]' }]);
    assert.equal((sent.json as any).model, 'gpt-4o', 'the provider prefix is still removed');
    assert.ok(!sent.body.includes('hunter2'));
    const rec = await record(stack, r.headers.get('x-keyway-request-id'));
    assert.deepEqual(rec.hooks.map((h: any) => [h.hook, h.verdict]), [['modifier', 'modify'], ['allow', 'allow'], ['merged', 'allow']]);
  });

  test('modify with a body that is not an object is an allow', async () => {
    hooks.scripts.set('/modifier', { json: { action: 'modify', request_body: 'nope' } });
    const r = await call(stack, FORMATS[1]!, 'modified', false, 'keep me');
    assert.equal(r.status, 200, r.text);
    assert.equal((stack.upstream.requests[0]!.json as any).messages[1].content, 'keep me');
  });

  test('modify then block: the block wins and the modification is discarded with it', async () => {
    hooks.scripts.set('/modifier', (c) => ({ json: { action: 'modify', request_body: { ...c.body.request_body, extra: true } } }));
    const r = await call(stack, FORMATS[0]!, 'modified-blocked', false);
    assert.equal(r.status, 451);
    assert.equal(stack.upstream.requests.length, 0);
  });

  test('a modify that changes the model is a failed call: fail_open goes on with the body as it was, fail_closed answers 503', async () => {
    hooks.scripts.set('/model-changer', (c) => ({ json: { action: 'modify', request_body: { ...c.body.request_body, model: 'plain/gpt-4o', extra: 'x' } } }));
    const open = await call(stack, FORMATS[1]!, 'model-change-open', false);
    assert.equal(open.status, 200, open.text);
    const sent = stack.upstream.requests[0]!.json as any;
    assert.equal(sent.model, 'gpt-4o');
    assert.equal(sent.extra, undefined, 'the refused modification is not applied');
    assert.equal(hooks.callsTo('/allow')[0]!.body.request_body.model, 'model-change-open/gpt-4o');
    const rec = await record(stack, open.headers.get('x-keyway-request-id'));
    assert.equal(rec.hooks[0].verdict, 'failed_open');
    assert.match(rec.hooks[0].detail, /^model_changed: /);
    const closed = await call(stack, FORMATS[1]!, 'model-change-closed', false);
    assert.equal(closed.status, 503);
    assert.match(closed.json.error.message, /a guardrail may change a request, not the model it goes to/);
    // Gemini names its model in the URL: a body has none to change.
    const gemini = await call(stack, FORMATS[3]!, 'model-change-closed', false);
    assert.equal(gemini.status, 200, gemini.text);
  });

  for (const kind of ['refused', 'slow', 'error', 'badjson'] as const) {
    test(`failure (${kind}): fail_open goes on with a Warn log, fail_closed answers 503 and forwards nothing`, async () => {
      const open = await call(stack, FORMATS[0]!, `${kind}-open`, false);
      assert.equal(open.status, 200, open.text);
      assert.equal(hooks.callsTo('/allow').length, 1, 'the chain went on to the next hook');
      assert.equal(stack.upstream.requests.length, 1);
      const warn = logs.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === 'guardrail hook failed; fail_open, the request goes on');
      assert.ok(warn, logs);
      assert.equal(warn.level, 40);
      assert.equal(warn.hook, `${kind}-open`);
      const reason = { refused: 'unreachable', slow: 'timeout', error: 'status', badjson: 'bad_json' }[kind];
      assert.equal(warn.reason, reason);
      const rec = await record(stack, open.headers.get('x-keyway-request-id'));
      assert.equal(rec.hooks[0].verdict, 'failed_open');
      assert.match(rec.hooks[0].detail, new RegExp(`^${reason}: `));
      if (kind === 'slow') assert.ok(rec.hooks[0].ms >= 190 && rec.hooks[0].ms < 2000, `the timeout (200ms) bounds the call: ${rec.hooks[0].ms}`);

      stack.upstream.reset();
      const closed = await call(stack, FORMATS[0]!, `${kind}-closed`, false);
      assert.equal(closed.status, 503, closed.text);
      assert.match(FORMATS[0]!.failed(closed.json), new RegExp(`guardrail hook "${kind}-closed" failed`));
      assert.equal(stack.upstream.requests.length, 0);
      assert.equal(hooks.callsTo('/allow').length, 1, 'the chain stopped');
      const crec = await record(stack, closed.headers.get('x-keyway-request-id'));
      assert.equal(crec.errorCode, 'HOOK_FAILED');
      assert.equal(crec.hooks[0].verdict, 'failed_closed');
    });
  }

  test('a client that leaves while the chain runs: nothing is forwarded, the record says so', async () => {
    hooks.scripts.set('/waiting', { delayMs: 400 });
    const abort = new AbortController();
    const sent = fetch(`${stack.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'waiting/gpt-4o', messages: [{ role: 'user', content: 'hi' }] }), signal: abort.signal });
    await hooks.waitFor('/waiting', 1);
    abort.abort();
    await assert.rejects(sent);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(stack.upstream.requests.length, 0);
    await stack.keyway.telemetry!.recorder.flush();
    const listed = (await (await fetch(`${stack.url}/api/requests?limit=1`, { headers: { 'x-test-as': 'admin' } })).json()) as { requests: any[] };
    assert.equal(listed.requests[0].errorCode, 'CLIENT_CLOSED');
    assert.equal(listed.requests[0].errorClass, 'client_abort');
  });

  test('an answer without a known action is a failure', async () => {
    const r = await call(stack, FORMATS[1]!, 'noaction-closed', false);
    assert.equal(r.status, 503);
    assert.match(r.json.error.message, /"action" must be "allow", "block" or "modify"/);
  });

  test('auth styles: bearer, x-api-key, x-goog-api-key, none', async () => {
    const r = await call(stack, FORMATS[0]!, 'auth', false);
    assert.equal(r.status, 200, r.text);
    const h = (path: string) => hooks.callsTo(path)[0]!.headers;
    assert.equal(h('/bearer').authorization, `Bearer ${CANARY.hookKey}`);
    assert.equal(h('/bearer')['x-api-key'], undefined);
    assert.equal(h('/xapikey')['x-api-key'], CANARY.hookKey);
    assert.equal(h('/xapikey').authorization, undefined);
    assert.equal(h('/xgoog')['x-goog-api-key'], CANARY.hookKey);
    assert.equal(h('/nokey').authorization, undefined);
    assert.equal(h('/nokey')['x-api-key'], undefined);
    assert.equal(h('/nokey')['content-type'], 'application/json');
  });

  test('a disabled hook is skipped without a word', async () => {
    const r = await call(stack, FORMATS[0]!, 'disabled', false);
    assert.equal(r.status, 200, r.text);
    assert.equal(hooks.callsTo('/off').length, 0);
    assert.equal(hooks.callsTo('/allow').length, 1);
    const rec = await record(stack, r.headers.get('x-keyway-request-id'));
    assert.deepEqual(rec.hooks.map((x: any) => x.hook).sort(), ['allow', 'merged']);
  });

  test('the same hook through two grants is called once, with the union of their sends', async () => {
    const r = await call(stack, FORMATS[1]!, 'merged', false, 'merge me');
    assert.equal(r.status, 200, r.text);
    const calls = hooks.callsTo('/merged');
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.body.user_message, 'merge me', 'from the grant without models');
    assert.equal(calls[0]!.body.request_body.model, 'merged/gpt-4o', 'from the grant for merged/**');
  });

  test('payload: metadata and every send field, and no credential anywhere (canaries)', async () => {
    for (const f of FORMATS) {
      hooks.reset();
      const headers = {
        'x-api-key': CANARY.clientKey,
        authorization: `Bearer ${CANARY.bearer}`,
        'x-goog-api-key': CANARY.googleKey,
        cookie: CANARY.cookie,
        'tailscale-user-login': CANARY.tailscale,
        'tailscale-user-name': CANARY.tailscale,
        'user-agent': 'hooks-test/1.0',
        'x-session-id': 'sess-hooks-1',
      };
      const r = await call(stack, f, 'payload', false, 'the prompt to check', headers, f.name === 'gemini' ? `key=${CANARY.googleKey}` : undefined);
      assert.equal(r.status, 200, `${f.name}: ${r.text}`);
      const [c] = hooks.callsTo('/payload');
      assert.ok(c, f.name);
      for (const [name, value] of Object.entries(CANARY)) {
        if (name === 'hookKey') continue; // the hook's own key is its credential, in its header only
        assert.ok(!c.text.includes(value.split('=').pop()!), `${f.name}: ${name} leaked into the payload`);
      }
      assert.ok(!c.text.includes('CANARY'), `${f.name}: no canary at all`);
      const m = c.body.metadata;
      assert.equal(c.body.event, 'pre_request');
      assert.equal(m.login_name, 'alice@example.com');
      assert.equal(m.stable_node_id, 'nALICE1');
      assert.equal(m.user_agent, 'hooks-test/1.0');
      assert.equal(m.model, f.model);
      assert.equal(m.provider, 'payload');
      assert.equal(m.tailnet_name, '');
      assert.equal(m.session_id, 'sess-hooks-1');
      assert.equal(m.request_id, r.headers.get('x-keyway-request-id'));
      assert.ok(m.url.startsWith(f.path(`payload/${f.model}`, false).split('?')[0]!.replace('payload/', 'payload%2F')), `${f.name}: ${m.url}`);
      if (f.name === 'gemini') assert.match(m.url, /key=%5Bredacted%5D|key=\[redacted\]/);
      assert.deepEqual(m.grants, { 'example.com/cap/policy': [{ tier: 'gold' }] });
      assert.deepEqual(m.quotas, { 'daily:alice@example.com': { current: m.quotas['daily:alice@example.com'].current, capacity: 10_000_000_000, rate: '$10.00/day' } });
      assert.ok(Number.isInteger(m.quotas['daily:alice@example.com'].current));
      assert.equal(m.estimated_cost, undefined, 'not known before the answer');
      assert.equal(c.body.user_message, 'the prompt to check');
      assert.deepEqual(c.body.request_body, f.body(`payload/${f.model}`, false, 'the prompt to check'));
      for (const k of ['response_body', 'raw_responses', 'tool_calls']) assert.equal(c.body[k], undefined, `${f.name}: ${k} is absent from pre_request`);
    }
  });

  test('/metrics counts verdicts, failures and latency per hook', async () => {
    await call(stack, FORMATS[0]!, 'blocked', false);
    await call(stack, FORMATS[0]!, 'error-open', false);
    const text = await (await fetch(`${stack.url}/metrics`, { headers: { 'x-test-as': 'admin' } })).text();
    assert.match(text, /keyway_hook_calls_total\{hook="blocker",event="pre_request",result="block"\} [1-9]/);
    assert.match(text, /keyway_hook_calls_total\{hook="error-open",event="pre_request",result="failed_open"\} [1-9]/);
    assert.match(text, /keyway_hook_failures_total\{hook="error-open",event="pre_request",reason="status"\} [1-9]/);
    assert.match(text, /keyway_hook_duration_seconds_count\{hook="allow",event="pre_request"\} [1-9]/);
    assert.match(text, /keyway_hook_queue_depth \d/);
  });

  test('the chat UI goes through the same guardrails', async () => {
    const json = { 'content-type': 'application/json' };
    const created = await fetch(`${stack.url}/api/chat/conversations`, { method: 'POST', headers: json, body: JSON.stringify({ model: 'blocked/gpt-4o' }) });
    assert.equal(created.status, 201, await created.clone().text());
    const { id } = (await created.json()) as { id: string };
    const sent = await fetch(`${stack.url}/api/chat/conversations/${id}/messages`, { method: 'POST', headers: json, body: JSON.stringify({ content: 'hi' }) });
    assert.equal(sent.status, 451, await sent.clone().text());
    const body = (await sent.json()) as { error: string; code: string };
    assert.equal(body.code, 'GUARDRAIL_BLOCKED');
    assert.equal(body.error, 'no secrets please');
    assert.equal(stack.upstream.requests.length, 0);
  });
});

