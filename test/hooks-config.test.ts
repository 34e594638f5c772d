/**
 * Hooks in the configuration: every rule of `hooks` and `send_hooks` (errors for what keyway
 * would drop or guess at, warnings for what is legal but likely a mistake), the legacy
 * `temp_grants` hook entries (reference §2.11) working end to end, and the plan: merged
 * wirings, chain order, disabled hooks, capabilities with and without `models`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileSnapshot } from '../src/config/snapshot.js';
import type { Problem } from '../src/config/types.js';
import { validateConfigText } from '../src/config/validate.js';
import { HookPlan } from '../src/hooks/hook-plan.js';
import { LOCAL_OWNER } from '../src/identity/identity.js';
import { postJson, startStack } from './helpers.js';
import { startHookServer } from './hook-helpers.js';

const CAP = 'tailscale.com/cap/aperture';
const PROVIDERS = { p: { baseurl: 'https://x.example', apikey: 'k', models: ['m'] }, q: { baseurl: 'https://y.example', apikey: 'k', models: ['m'] } };

function check(doc: Record<string, unknown>) {
  return validateConfigText(JSON.stringify({ providers: PROVIDERS, grants: [{ src: ['*'], app: { [CAP]: [{ role: 'admin' }] } }], ...doc }), { env: {} });
}

function has(problems: Problem[], severity: Problem['severity'], path: string, message: string | RegExp): void {
  const found = problems.find((p) => p.path === path && p.severity === severity && (typeof message === 'string' ? p.message === message : message.test(p.message)));
  assert.ok(found, `expected ${severity} at ${path}: ${message}\ngot: ${JSON.stringify(problems, null, 1)}`);
}

describe('hooks configuration', () => {
  test('a valid hook section and wiring load without a problem, with the defaults applied', () => {
    const r = check({
      hooks: { guard: { url: 'https://guard.example/check', apikey: 'hk-test-1', authorization: 'x-api-key', timeout: '1500ms', fail_policy: 'fail_closed', preference: 7 }, audit: { url: 'http://127.0.0.1:9000/audit' } },
      grants: [{ src: ['*'], app: { [CAP]: [{ role: 'admin' }, { send_hooks: [{ name: 'guard', events: ['pre_request'], send: ['user_message'] }, { name: 'audit', events: ['entire_request', 'tool_call_entire_request'], send: ['tools', 'estimated_cost'] }] }] } }],
    });
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.config!.hooks, [
      { id: 'guard', url: 'https://guard.example/check', apikey: 'hk-test-1', authorization: 'x-api-key', timeoutMs: 1500, disabled: false, failPolicy: 'fail_closed', preference: 7 },
      { id: 'audit', url: 'http://127.0.0.1:9000/audit', apikey: '', authorization: 'bearer', timeoutMs: 5000, disabled: false, failPolicy: 'fail_open', preference: 0 },
    ]);
  });

  test('what would be dropped or guessed at is an error', () => {
    const cases: Array<[Record<string, unknown>, string, string | RegExp]> = [
      [{ hooks: { h: 'https://x' } }, 'hooks.h', 'hook h must be an object'],
      [{ hooks: { h: {} } }, 'hooks.h.url', 'hook h has no url configured'],
      [{ hooks: { h: { url: 'ftp://x' } } }, 'hooks.h.url', 'hook h has invalid URL scheme (must be http:// or https://): ftp://x'],
      [{ hooks: { h: { url: 'https://exa mple' } } }, 'hooks.h.url', 'hook h has invalid url: https://exa mple'],
      [{ hooks: { h: { url: 'https://x', authorization: 'basic' } } }, 'hooks.h.authorization', /^hook h has invalid authorization type: basic/],
      [{ hooks: { h: { url: 'https://x', fail_policy: 'fail-closed' } } }, 'hooks.h.fail_policy', 'hook h has invalid fail_policy: fail-closed (want "fail_open" or "fail_closed")'],
      [{ hooks: { h: { url: 'https://x', timeout: '5 seconds' } } }, 'hooks.h.timeout', /^hook h has invalid timeout "5 seconds"/],
      [{ hooks: { h: { url: 'https://x', timeout: 5 } } }, 'hooks.h.timeout', 'timeout must be a string, not number'],
      [{ hooks: { h: { url: 'https://x', timeout: '-1s' } } }, 'hooks.h.timeout', /invalid timeout/],
      [{ hooks: { h: { url: 'https://x', preference: 1.5 } } }, 'hooks.h.preference', 'preference must be a whole number, not number'],
      [{ hooks: { h: { url: 'https://x', disabled: 'yes' } } }, 'hooks.h.disabled', 'disabled must be true or false, not string'],
    ];
    for (const [doc, path, message] of cases) {
      const r = check(doc);
      has(r.problems, 'error', path, message);
      assert.equal(r.config, undefined, `${path}: refused`);
    }
  });

  test('send_hooks: undefined hooks, unknown events and fields are errors; an entry without events a warning', () => {
    const wire = (entry: unknown) => check({ hooks: { h: { url: 'https://x' } }, grants: [{ src: ['*'], app: { [CAP]: [{ role: 'admin' }, { send_hooks: [entry] }] } }] });
    const at = `grants[0].app["${CAP}"][1].send_hooks[0]`;
    has(wire({ name: 'nope', events: ['pre_request'] }).problems, 'error', `${at}.name`, 'send_hooks references undefined hook "nope"');
    has(wire({ events: ['pre_request'] }).problems, 'error', at, 'send_hooks entries need the "name" of a hook');
    has(wire({ name: 'h', events: ['pre-request'] }).problems, 'error', `${at}.events[0]`, /^unknown hook event "pre-request" \(want pre_request, entire_request, tool_call_entire_request\)$/);
    has(wire({ name: 'h', events: ['entire_request'], send: ['body'] }).problems, 'error', `${at}.send[0]`, /^unknown hook send field "body"/);
    has(wire('h').problems, 'error', at, /send_hooks entries must be objects/);
    const none = wire({ name: 'h', send: ['tools'] });
    has(none.problems, 'warning', `${at}.events`, 'hook "h" is wired with no events; it is never called');
    assert.ok(none.config, 'a warning does not block');
    has(wire({ name: 'h', events: ['entire_request'], sends: [] }).problems, 'warning', `${at}.sends`, 'unknown config key "sends"');
  });

  test('warnings and notes: an apikey over plain http, no timeout', () => {
    const r = check({ hooks: { a: { url: 'http://guard.example/x', apikey: 'hk-test-2' }, b: { url: 'http://localhost:1/x', apikey: 'hk-test-3' }, c: { url: 'https://x', timeout: '0' } } });
    has(r.problems, 'warning', 'hooks.a.url', 'hook a sends its apikey over plain http:// to guard.example; use https://');
    assert.ok(!r.problems.some((p) => p.path === 'hooks.b.url'), 'loopback is fine');
    has(r.problems, 'info', 'hooks.c.timeout', /has no timeout/);
    assert.equal(r.config!.hooks.find((h) => h.id === 'c')!.timeoutMs, 0);
  });

  test('hooks are implemented: no "has no effect" warning', () => {
    const r = check({ hooks: { h: { url: 'https://x' } }, grants: [{ src: ['*'], app: { [CAP]: [{ role: 'admin' }, { send_hooks: [{ name: 'h', events: ['entire_request'], send: [] }] }] } }] });
    assert.deepEqual(r.problems.filter((p) => /has no effect/.test(p.message)), []);
  });

  test('legacy temp_grants hook entries become send_hooks, validated like them', () => {
    const legacy = (hook: unknown) => check({ hooks: { h: { url: 'https://x' } }, grants: undefined, temp_grants: [{ src: ['*'], grants: [{ role: 'admin' }, { hook }] }] });
    const r = legacy({ match: { providers: ['p'], models: ['*', 'm'], events: ['pre_request'] }, hook: 'h', fields: ['user_message'] });
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.config!.grants[0]!.caps.slice(1), [
      { models: 'p/**', send_hooks: [{ name: 'h', events: ['pre_request'], send: ['user_message'] }], extra: {} },
      { models: 'p/m', send_hooks: [{ name: 'h', events: ['pre_request'], send: ['user_message'] }], extra: {} },
    ]);
    const everything = legacy({ match: { events: ['entire_request'] }, hook: 'h' });
    assert.deepEqual(everything.config!.grants[0]!.caps[1], { send_hooks: [{ name: 'h', events: ['entire_request'], send: [] }], extra: {} }, 'every provider and model: no `models`');
    const at = 'temp_grants[0].grants[1].hook';
    has(legacy({ match: { events: ['entire_request'] }, hook: 'nope' }).problems, 'error', `${at}.hook`, 'temp_grants hook references undefined hook "nope"');
    has(legacy({ match: { events: ['on_request'] }, hook: 'h' }).problems, 'error', `${at}.match.events[0]`, /unknown hook event "on_request"/);
    has(legacy({ match: { events: ['entire_request'] }, hook: 'h', fields: ['everything'] }).problems, 'error', `${at}.fields[0]`, /unknown hook send field "everything"/);
    has(legacy('h').problems, 'error', at, /must be objects/);
  });

  test('the plan merges a hook wired twice, orders the chain, skips disabled hooks, applies models', () => {
    const r = check({
      hooks: { a: { url: 'https://a' }, b: { url: 'https://b', preference: 2 }, c: { url: 'https://c', preference: 2 }, off: { url: 'https://off', disabled: true } },
      grants: [
        { src: ['*'], app: { [CAP]: [{ role: 'admin' }, { send_hooks: [{ name: 'a', events: ['pre_request'], send: ['request_body'] }, { name: 'off', events: ['pre_request'], send: [] }] }] } },
        { src: ['(loopback)'], app: { [CAP]: [{ models: 'p/**', send_hooks: [{ name: 'a', events: ['entire_request'], send: ['tools'] }, { name: 'c', events: ['pre_request'], send: [] }, { name: 'b', events: ['pre_request'], send: ['raw_responses'] }] }] } },
      ],
    });
    assert.ok(r.config, JSON.stringify(r.problems));
    const snapshot = compileSnapshot('', r.config, []);
    const plan = new HookPlan(r.config.hooks);
    const access = snapshot.accessFor(LOCAL_OWNER);
    const onP = plan.hooksFor(access, 'p', 'm');
    assert.deepEqual(onP.pre.map((c) => c.name), ['b', 'c', 'a'], 'preference 2 (b before c by id), then a; off is disabled');
    assert.equal(onP.pre.find((c) => c.name === 'a')!.send, 1 | 16, 'a: request_body and tools, merged');
    assert.deepEqual(onP.entire.map((c) => c.name), ['a']);
    assert.equal(onP.asyncSend, 1 | 16);
    const onQ = plan.hooksFor(access, 'q', 'm');
    assert.deepEqual(onQ.pre.map((c) => c.name), ['a'], 'the p/** capability does not apply to q');
    assert.deepEqual(onQ.entire, []);
    assert.equal(plan.hooksFor(access, 'p', 'm'), onP, 'worked out once');
  });
});

describe('legacy temp_grants hooks, end to end', () => {
  test('a temp_grants hook entry blocks the requests it matches, and only those', async () => {
    const hooks = await startHookServer();
    hooks.scripts.set('/legacy', { json: { action: 'block', message: 'legacy guard says no' } });
    const stack = await startStack((u) =>
      JSON.stringify({
        providers: { p: { baseurl: u, apikey: 'sk-test-legacy', models: ['gpt-4o'] }, q: { baseurl: u, apikey: 'sk-test-legacy', models: ['gpt-4o'] } },
        hooks: { legacy: { url: `${hooks.url}/legacy` } },
        temp_grants: [{ src: ['(loopback)'], grants: [{ role: 'admin' }, { providers: [{ provider: '*', model: '*' }] }, { hook: { match: { providers: ['p'], models: ['*'], events: ['pre_request'] }, hook: 'legacy', fields: ['user_message'] } }] }],
      }),
    );
    try {
      const blocked = await postJson(`${stack.url}/v1/chat/completions`, { model: 'p/gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(blocked.status, 403);
      assert.equal(blocked.json.error.message, 'legacy guard says no');
      assert.equal(hooks.callsTo('/legacy')[0]!.body.user_message, 'hi');
      const other = await postJson(`${stack.url}/v1/chat/completions`, { model: 'q/gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(other.status, 200, other.text);
      assert.equal(hooks.callsTo('/legacy').length, 1);
    } finally {
      await stack.close();
      await hooks.close();
    }
  });
});
