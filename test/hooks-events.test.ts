/**
 * Asynchronous hook events end to end: entire_request once per completed request and
 * tool_call_entire_request only when the answer had tool calls, in every format, JSON and
 * stream; after the answer reached the client and never delaying it; payloads with the
 * reassembled response, raw events, tool calls as objects, the estimated cost and the
 * charged quotas; failures fail open; a full queue drops and counts; a slow hook cannot
 * take the providers' connections; telemetry off still notifies.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { Identity, IdentitySource } from '../src/identity/identity.js';
import { DEFAULT_HOOK_SETTINGS } from '../src/hooks/hooks.js';
import { postJson, startStack, type Stack } from './helpers.js';
import { startHookServer, type HookServer } from './hook-helpers.js';

const CAP = 'tailscale.com/cap/aperture';
const ALICE: Identity = { login: 'alice@example.com', displayName: 'Alice', nodeId: 'nALICE1', tags: [], groups: [], loopback: false, capMap: {} };
const ADMIN: Identity = { login: 'admin@example.com', displayName: 'Admin', nodeId: 'nADMIN1', tags: [], groups: [], loopback: false, capMap: {} };
// A caller whose grants come from the tailnet policy, naming a hook this gateway lacks.
const CAROL: Identity = { login: 'carol@example.com', displayName: 'Carol', nodeId: 'nCAROL1', tags: [], groups: [], loopback: false, capMap: { [CAP]: [{ role: 'user' }, { models: '**' }, { send_hooks: [{ name: 'ghost', events: ['entire_request', 'pre_request'], send: [] }] }] } };
const PEOPLE: Record<string, Identity> = { alice: ALICE, admin: ADMIN, carol: CAROL };
const byHeader: IdentitySource = { name: 'test-header', identify: (req: IncomingMessage) => PEOPLE[String(req.headers['x-test-as'] ?? 'alice')] };

const MODELS = ['claude-sonnet-4-5', 'gpt-4o', 'gemini-2.5-flash'];
const ALL_FORMATS = { anthropic_messages: true, openai_chat: true, openai_responses: true, gemini_generate_content: true };
const EVERYTHING = ['request_body', 'response_body', 'raw_responses', 'user_message', 'tools', 'grants', 'estimated_cost', 'quotas'];

interface FormatCase {
  name: string;
  model: string;
  path(model: string, stream: boolean): string;
  body(model: string, stream: boolean, prompt: string): Record<string, unknown>;
  /** The answer's text in a reassembled response_body. */
  text(response: any): string;
}

const FORMATS: FormatCase[] = [
  {
    name: 'anthropic messages',
    model: 'claude-sonnet-4-5',
    path: () => '/v1/messages',
    body: (model, stream, prompt) => ({ model, stream, max_tokens: 64, messages: [{ role: 'user', content: prompt }] }),
    text: (r) => r.content.filter((b: any) => b.type === 'text').map((b: any) => b.text).join(''),
  },
  {
    name: 'openai chat',
    model: 'gpt-4o',
    path: () => '/v1/chat/completions',
    body: (model, stream, prompt) => ({ model, stream, ...(stream ? { stream_options: { include_usage: true } } : {}), messages: [{ role: 'user', content: prompt }] }),
    text: (r) => r.choices[0].message.content ?? '',
  },
  {
    name: 'openai responses',
    model: 'gpt-4o',
    path: () => '/v1/responses',
    body: (model, stream, prompt) => ({ model, stream, input: prompt }),
    text: (r) => r.output.filter((o: any) => o.type === 'message').flatMap((o: any) => o.content).map((c: any) => c.text).join(''),
  },
  {
    name: 'gemini',
    model: 'gemini-2.5-flash',
    path: (model, stream) => `/v1beta/models/${encodeURIComponent(model)}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
    body: (_m, _s, prompt) => ({ contents: [{ role: 'user', parts: [{ text: prompt }] }] }),
    text: (r) => r.candidates[0].content.parts.map((p: any) => p.text ?? '').join(''),
  },
];

function configFor(upstream: string, hookUrl: string): string {
  const provider = { baseurl: upstream, apikey: 'sk-test-provider-events', models: MODELS, compatibility: ALL_FORMATS };
  return JSON.stringify({
    providers: { audited: provider, failing: provider, slow: provider, plain: provider },
    hooks: {
      audit: { url: `${hookUrl}/audit` },
      tools: { url: `${hookUrl}/tools` },
      broken: { url: `${hookUrl}/broken` },
      sleepy: { url: `${hookUrl}/sleepy` },
    },
    quotas: { 'daily:<user>': { capacity: '$10.00', rate: '$10.00/day' } },
    grants: [
      { src: ['admin@example.com'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } },
      {
        src: ['alice@example.com'],
        app: {
          [CAP]: [
            { role: 'user' },
            { models: '**' },
            { models: 'audited/**', quotas: [{ bucket: 'daily:<user>' }], send_hooks: [{ name: 'audit', events: ['entire_request'], send: EVERYTHING }, { name: 'tools', events: ['tool_call_entire_request'], send: ['tools', 'user_message'] }] },
            { models: 'failing/**', send_hooks: [{ name: 'broken', events: ['entire_request', 'tool_call_entire_request'], send: [] }] },
            { models: 'slow/**', send_hooks: [{ name: 'sleepy', events: ['entire_request'], send: ['request_body'] }] },
          ],
          'example.com/cap/policy': [{ tier: 'gold' }],
        },
      },
    ],
  }, null, 2);
}

async function call(stack: Stack, f: FormatCase, provider: string, stream: boolean, prompt: string, as = 'alice') {
  const model = `${provider}/${f.model}`;
  return postJson(stack.url + f.path(model, stream), f.body(model, stream, prompt), { 'x-test-as': as });
}

async function record(stack: Stack, id: string | null): Promise<any> {
  assert.ok(id);
  for (let i = 0; i < 100; i++) {
    await stack.keyway.telemetry!.recorder.flush();
    const r = await fetch(`${stack.url}/api/requests/${id}`, { headers: { 'x-test-as': 'admin' } });
    if (r.status === 200) return ((await r.json()) as { request: unknown }).request;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`no record for ${id}`);
}

const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));

describe('asynchronous hook events', () => {
  let hooks: HookServer;
  let stack: Stack;
  before(async () => {
    hooks = await startHookServer();
    stack = await startStack((u) => configFor(u, hooks.url), { identity: byHeader, mock: { acceptAnyKey: true } });
  });
  after(async () => {
    await stack.close();
    await hooks.close();
  });
  beforeEach(() => {
    hooks.reset();
    hooks.scripts.set('/broken', { status: 500 });
    stack.upstream.reset();
  });

  test('entire_request: one call per request, every format, JSON and stream, with the reassembled answer', async () => {
    for (const f of FORMATS) {
      for (const stream of [false, true]) {
        const what = `${f.name}${stream ? ' stream' : ''}`;
        hooks.reset();
        const before = stack.keyway.quotas.ledger.peek('daily:alice@example.com')?.balance ?? 10e9;
        const r = await call(stack, f, 'audited', stream, 'tell me something');
        assert.equal(r.status, 200, `${what}: ${r.text}`);
        const [c] = await hooks.waitFor('/audit', 1);
        await settle(50);
        assert.equal(hooks.callsTo('/audit').length, 1, `${what}: exactly one call`);
        assert.equal(hooks.callsTo('/tools').length, 0, `${what}: no tool calls, no tool_call_entire_request`);
        const b = c!.body;
        assert.equal(b.event, 'entire_request');
        assert.equal(b.metadata.request_id, r.headers.get('x-keyway-request-id'));
        assert.equal(b.metadata.login_name, 'alice@example.com');
        assert.deepEqual(b.metadata.grants, { 'example.com/cap/policy': [{ tier: 'gold' }] });
        assert.equal(b.user_message, 'tell me something');
        assert.deepEqual(b.request_body, f.body(`audited/${f.model}`, stream, 'tell me something'));
        assert.match(f.text(b.response_body), /MOCK_OK/, `${what}: response_body is the answer as one object`);
        assert.deepEqual(b.tool_calls, []);
        if (stream) {
          assert.ok(Array.isArray(b.raw_responses) && b.raw_responses.length > 1, `${what}: raw_responses holds every event`);
          assert.ok(b.raw_responses.some((e: unknown) => typeof e === 'object'), what);
        } else {
          assert.deepEqual(b.raw_responses, JSON.parse(r.text), `${what}: raw_responses is the one JSON answer`);
        }
        // The cost and the buckets: what the record says, with this request charged.
        const rec = await record(stack, r.headers.get('x-keyway-request-id'));
        assert.ok(b.metadata.estimated_cost.dollars > 0, what);
        assert.equal(Math.round(b.metadata.estimated_cost.dollars * 1e9), Math.round(rec.costUsd * 1e9), `${what}: the record's cost`);
        assert.match(b.metadata.estimated_cost.cost_basis, /\//);
        assert.equal(b.metadata.estimated_cost.usage.input_tokens, rec.usage.inputTokens);
        const q = b.metadata.quotas['daily:alice@example.com'];
        const charged = rec.quotas[0].nanos;
        assert.ok(charged > 0, what);
        // The balance after this request's charge (plus what refill added meanwhile: $10/day is 116 nanodollars a millisecond).
        assert.ok(q.current >= before - charged && q.current <= before - charged + 116 * 2_000, `${what}: ${q.current} vs ${before} - ${charged}`);
        assert.equal(q.capacity, 10e9);
        assert.equal(q.rate, '$10.00/day');
        assert.deepEqual(rec.hooks, [{ hook: 'audit', event: 'entire_request', verdict: 'queued', ms: null }]);
      }
    }
  });

  test('tool_call_entire_request: only when the answer had tool calls; params are objects', async () => {
    for (const f of FORMATS) {
      for (const stream of [false, true]) {
        const what = `${f.name}${stream ? ' stream' : ''}`;
        hooks.reset();
        const r = await call(stack, f, 'audited', stream, 'weather please MOCK:tool');
        assert.equal(r.status, 200, `${what}: ${r.text}`);
        const [c] = await hooks.waitFor('/tools', 1);
        await hooks.waitFor('/audit', 1);
        assert.equal(c!.body.event, 'tool_call_entire_request');
        assert.deepEqual(c!.body.tool_calls, [{ name: 'get_weather', params: { location: 'Paris' } }], what);
        assert.equal(c!.body.user_message, 'weather please MOCK:tool');
        assert.equal(c!.body.request_body, undefined, 'only what its send asks for');
        assert.deepEqual(hooks.callsTo('/audit')[0]!.body.tool_calls, [{ name: 'get_weather', params: { location: 'Paris' } }]);
      }
    }
  });

  test('events never delay the answer: a hook that takes seconds, the client has its answer at once', async () => {
    hooks.scripts.set('/sleepy', { delayMs: 1_500 });
    const started = performance.now();
    const r = await call(stack, FORMATS[0]!, 'slow', true, 'quick');
    const ms = performance.now() - started;
    assert.equal(r.status, 200);
    assert.ok(ms < 1_000, `answered in ${Math.round(ms)} ms`);
    const [c] = await hooks.waitFor('/sleepy', 1);
    assert.ok(c!.at >= Date.now() - 5_000);
  });

  test('a failing event hook fails open and is counted', async () => {
    const r = await call(stack, FORMATS[1]!, 'failing', false, 'anything');
    assert.equal(r.status, 200);
    await hooks.waitFor('/broken', 1);
    await settle();
    const text = await (await fetch(`${stack.url}/metrics`, { headers: { 'x-test-as': 'admin' } })).text();
    assert.match(text, /keyway_hook_failures_total\{hook="broken",event="entire_request",reason="status"\} [1-9]/);
    assert.match(text, /keyway_hook_calls_total\{hook="broken",event="entire_request",result="failed"\} [1-9]/);
  });

  test('a tailnet grant naming a hook this gateway lacks: fail open, counted', async () => {
    const r = await call(stack, FORMATS[0]!, 'plain', false, 'hi', 'carol');
    assert.equal(r.status, 200, r.text);
    const rec = await record(stack, r.headers.get('x-keyway-request-id'));
    assert.deepEqual(rec.hooks.map((h: any) => [h.hook, h.event, h.verdict]), [['ghost', 'pre_request', 'failed_open'], ['ghost', 'entire_request', 'failed_open']]);
  });
});

describe('asynchronous hook events against a hook that never answers', () => {
  let hooks: HookServer;
  let stack: Stack;
  before(async () => {
    hooks = await startHookServer();
    hooks.scripts.set('/sleepy', { hang: true });
    // One connection to a hook origin, two events in flight and four waiting: small enough
    // to see drops and to show that a hook that never answers holds only its own pool.
    const settings = { hooks: { client: { ...DEFAULT_HOOK_SETTINGS.client, connectionsPerOrigin: 1 }, events: { ...DEFAULT_HOOK_SETTINGS.events, concurrency: 2, maxQueued: 4 } } };
    stack = await startStack((u) => configFor(u, hooks.url), { identity: byHeader, mock: { acceptAnyKey: true }, settings });
  });
  after(async () => {
    await stack.close();
    await hooks.close();
  });

  test('a hook that never answers: its queue fills and drops (counted), providers keep their connections', async () => {
    // Two events in flight (one on the hook's only connection, one waiting for it inside
    // undici), four waiting in the queue, the rest dropped.
    const results = [];
    for (let i = 0; i < 12; i++) results.push(await call(stack, FORMATS[1]!, 'slow', false, `n${i}`));
    assert.ok(results.every((r) => r.status === 200), 'every request was answered');
    assert.equal(stack.upstream.requests.length, 12);
    const text = await (await fetch(`${stack.url}/metrics`, { headers: { 'x-test-as': 'admin' } })).text();
    const dropped = Number(/keyway_hook_events_dropped_total\{hook="sleepy",event="entire_request"\} (\d+)/.exec(text)?.[1]);
    assert.equal(dropped, 12 - 2 - 4, text.split('\n').filter((l) => l.includes('hook')).join('\n'));
    assert.match(text, /keyway_hook_queue_depth 6/);
    const last = await record(stack, results.at(-1)!.headers.get('x-keyway-request-id'));
    assert.deepEqual(last.hooks, [{ hook: 'sleepy', event: 'entire_request', verdict: 'dropped', ms: null }]);
    // Other hooks have connections of their own origin pool; here the same origin: the
    // queue is what is full, never a provider pool.
    const other = await call(stack, FORMATS[1]!, 'plain', false, 'still fine');
    assert.equal(other.status, 200);
  });

});

describe('asynchronous hook events with retries', () => {
  test('--hook-retries 1: a failed call is tried once more, with the same payload', async () => {
    const hooks = await startHookServer();
    let n = 0;
    hooks.scripts.set('/broken', () => ({ status: ++n === 1 ? 503 : 200 }));
    const settings = { hooks: { ...DEFAULT_HOOK_SETTINGS, events: { ...DEFAULT_HOOK_SETTINGS.events, retries: 1 } } };
    const stack = await startStack((u) => configFor(u, hooks.url), { identity: byHeader, mock: { acceptAnyKey: true }, settings });
    try {
      const r = await call(stack, FORMATS[1]!, 'failing', false, 'again');
      assert.equal(r.status, 200);
      const calls = await hooks.waitFor('/broken', 2, 5_000);
      assert.equal(calls[0]!.text, calls[1]!.text, 'the same payload');
      await settle(200);
      const text = await (await fetch(`${stack.url}/metrics`, { headers: { 'x-test-as': 'admin' } })).text();
      assert.match(text, /keyway_hook_calls_total\{hook="broken",event="entire_request",result="delivered"\} 1/);
      assert.match(text, /keyway_hook_calls_total\{hook="broken",event="entire_request",result="failed"\} 1/);
    } finally {
      await stack.close();
      await hooks.close();
    }
  });
});

describe('asynchronous hook events with telemetry off', () => {
  test('events are still sent, with the answer read for them alone', async () => {
    const hooks = await startHookServer();
    const stack = await startStack((u) => configFor(u, hooks.url), { identity: byHeader, mock: { acceptAnyKey: true }, settings: { telemetry: false } });
    try {
      const r = await call(stack, FORMATS[0]!, 'audited', true, 'no telemetry MOCK:tool');
      assert.equal(r.status, 200, r.text);
      const [c] = await hooks.waitFor('/audit', 1);
      assert.match(c!.body.metadata.request_id, /^req_/);
      assert.ok(c!.body.raw_responses.length > 1);
      assert.deepEqual(c!.body.tool_calls, [{ name: 'get_weather', params: { location: 'Paris' } }]);
      await hooks.waitFor('/tools', 1);
    } finally {
      await stack.close();
      await hooks.close();
    }
  });
});
