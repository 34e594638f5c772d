/**
 * The usage API's filters against real recorded requests. A request has one model name
 * (the served `provider/model`, or the requested name when no provider served it), so the
 * groups of `group_by=model` add up to the totals and filtering by each group's key gives
 * that group back: the overview's stacked bars once showed 898 tokens for a real 513,
 * because `model=claude-opus-4-8` also matched the `anthropic/claude-opus-4-8` rows.
 * A status filter that is not a status is refused, not ignored.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { configText, postJson, startStack, type Stack } from './helpers.js';

const SUMMED = ['requests', 'errors', 'inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'reasoningTokens'] as const;

interface UsageRow {
  key: string | null;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  costUsd: number;
}

function providers(u: string) {
  return {
    // Two providers serve the same model name; `anthropic` sorts first and serves the bare name.
    anthropic: { baseurl: u, apikey: 'sk-ant-test-provider-a', authorization: 'x-api-key', models: ['claude-opus-4-8'], compatibility: { anthropic_messages: true } },
    backup: { baseurl: u, apikey: 'sk-ant-test-provider-b', authorization: 'x-api-key', models: ['claude-opus-4-8'], compatibility: { anthropic_messages: true } },
  };
}

describe('usage filters', () => {
  let stack: Stack;
  const ids: Record<string, string> = {};

  before(async () => {
    // Translation off: the last request below must be refused for its format.
    stack = await startStack((u) => configText(providers(u)), { settings: { translation: false } });
    const messages = (model: string, content: string, chunks: number) =>
      postJson(`${stack.url}/v1/messages`, { model, max_tokens: 64, messages: [{ role: 'user', content }] }, { 'anthropic-version': '2023-06-01', 'x-mock-scenario': `chunks=${chunks}`, 'x-session-id': 'sess-usage' });
    const sent: Array<[string, Promise<{ status: number; headers: Headers; text: string }>]> = [
      ['bare', messages('claude-opus-4-8', 'asked by its bare name', 5)],
      ['prefixed', messages('anthropic/claude-opus-4-8', 'asked with the provider in front', 9)],
      ['backup', messages('backup/claude-opus-4-8', 'asked of the backup provider', 3)],
      // No provider serves claude-opus-4-8 in the OpenAI chat format (and nothing translates): refused, no tokens.
      ['unserved', postJson(`${stack.url}/v1/chat/completions`, { model: 'claude-opus-4-8', messages: [{ role: 'user', content: 'wrong door' }] }, { 'x-session-id': 'sess-usage' })],
    ];
    for (const [name, pending] of sent) {
      const r = await pending;
      assert.equal(r.status, name === 'unserved' ? 404 : 200, `${name}: ${r.text}`);
      ids[name] = r.headers.get('x-keyway-request-id') ?? '';
    }
    await stack.keyway.telemetry!.recorder.flush();
    // keyway refused the last one itself, before any answer headers: find its record.
    const all = (await (await fetch(`${stack.url}/api/requests`)).json()) as { requests: Array<{ id: string; format: string }> };
    assert.equal(all.requests.length, 4);
    ids.unserved = all.requests.find((r) => r.format === 'openai_chat')!.id;
  });
  after(() => stack.close());

  async function get(path: string): Promise<{ status: number; json: any }> {
    const res = await fetch(stack.url + path);
    return { status: res.status, json: await res.json() };
  }
  const usage = async (query: string): Promise<{ totals: UsageRow; groups: UsageRow[] }> => {
    const r = await get(`/api/usage?${query}`);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json;
  };
  const sum = (rows: UsageRow[], k: (typeof SUMMED)[number] | 'costUsd') => rows.reduce((n, g) => n + g[k], 0);

  test('group_by=model names each request once: served provider/model, or the requested name when refused', async () => {
    const { totals, groups } = await usage('group_by=model');
    const byKey = new Map(groups.map((g) => [g.key, g]));
    assert.deepEqual([...byKey.keys()].sort(), ['anthropic/claude-opus-4-8', 'backup/claude-opus-4-8', 'claude-opus-4-8']);
    assert.equal(byKey.get('anthropic/claude-opus-4-8')!.requests, 2, 'bare and prefixed requests served by anthropic are one model');
    assert.equal(byKey.get('backup/claude-opus-4-8')!.requests, 1);
    const refused = byKey.get('claude-opus-4-8')!;
    assert.deepEqual([refused.requests, refused.errors, refused.inputTokens + refused.outputTokens], [1, 1, 0]);
    assert.equal(totals.requests, 4);
    assert.ok(totals.outputTokens > 0 && totals.costUsd > 0);
    for (const k of SUMMED) assert.equal(sum(groups, k), totals[k], `groups add up to the totals: ${k}`);
    assert.ok(Math.abs(sum(groups, 'costUsd') - totals.costUsd) < 1e-12);
  });

  test('filtering by each model key gives that group back, and the filtered totals add up to the whole', async () => {
    const { totals, groups } = await usage('group_by=model');
    const filtered: UsageRow[] = [];
    for (const g of groups) {
      const one = await usage(`model=${encodeURIComponent(g.key!)}`);
      for (const k of SUMMED) assert.equal(one.totals[k], g[k], `model=${g.key}: ${k}`);
      filtered.push(one.totals);
    }
    for (const k of SUMMED) assert.equal(sum(filtered, k), totals[k], `no request is counted twice: ${k}`);
    // The bare name is the refused request only; before, it also matched both providers' rows.
    const bare = await usage('model=claude-opus-4-8');
    assert.deepEqual([bare.totals.requests, bare.totals.outputTokens], [1, 0]);
    assert.equal((await usage('model=no-such-model')).totals.requests, 0);
  });

  test('per-model day series (what the overview charts draw) add up to the day totals', async () => {
    const days = await usage('group_by=day');
    const { groups } = await usage('group_by=model');
    const perModel = await Promise.all(groups.map((g) => usage(`model=${encodeURIComponent(g.key!)}&group_by=day`)));
    for (const day of days.groups) {
      const stacked = perModel.reduce((n, m) => n + (m.groups.find((g) => g.key === day.key)?.inputTokens ?? 0) + (m.groups.find((g) => g.key === day.key)?.outputTokens ?? 0), 0);
      assert.equal(stacked, day.inputTokens + day.outputTokens, `tokens on ${day.key}`);
    }
  });

  test('the request log and sessions use the same model names', async () => {
    const listed = (await get('/api/requests?model=anthropic%2Fclaude-opus-4-8')).json.requests.map((r: { id: string }) => r.id).sort();
    assert.deepEqual(listed, [ids.bare, ids.prefixed].sort());
    assert.deepEqual((await get('/api/requests?model=claude-opus-4-8')).json.requests.map((r: { id: string }) => r.id), [ids.unserved]);
    const sessions = (await get('/api/sessions')).json.sessions as Array<{ sessionId: string; models: string[] }>;
    const session = sessions.find((s) => s.sessionId === 'sess-usage')!;
    assert.deepEqual([...session.models].sort(), ['anthropic/claude-opus-4-8', 'backup/claude-opus-4-8', 'claude-opus-4-8']);
    const csv = await (await fetch(`${stack.url}/api/usage.csv?model=backup%2Fclaude-opus-4-8`)).text();
    assert.equal(csv.trim().split('\n').length, 2, 'a header and one row');
    assert.match(csv, /,backup\/claude-opus-4-8,1,0,/);
  });

  test('status filter: an HTTP status filters, empty means any, junk is a 400 that says what is wrong', async () => {
    const only404 = (await get('/api/requests?status=404')).json.requests.map((r: { id: string }) => r.id);
    assert.deepEqual(only404, [ids.unserved]);
    assert.equal((await usage('status=200')).totals.requests, 3);
    assert.equal((await usage('status=')).totals.requests, 4, 'an empty status is no filter, not status 0');
    for (const junk of ['abc', '4xx', '2e2', '200.0', '600', '99', ' 200', '-1']) {
      for (const path of ['/api/requests', '/api/usage', '/api/sessions', '/api/usage.csv']) {
        const r = await get(`${path}?status=${encodeURIComponent(junk)}`);
        assert.equal(r.status, 400, `${path} status=${junk}`);
        assert.equal(r.json.code, 'BAD_REQUEST');
        assert.equal(r.json.error, `status must be an HTTP status code from 100 to 599 (such as 404), not "${junk}"`);
      }
    }
    const limit = await get('/api/requests?limit=lots');
    assert.equal(limit.status, 400);
    assert.equal(limit.json.error, 'limit must be a whole number from 1 to 500, not "lots"');
  });
});
