/**
 * The request detail in real Chromium shows which hooks a request called: a guardrail's
 * block, an allow with its duration, a fail_open failure with its reason, and an event
 * queued after the answer.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { FAKE, postJson } from '../helpers.js';
import { startHookServer, type HookServer } from '../hook-helpers.js';
import { browserSkip, CAP, shot, startBrowserStack, type BrowserStack } from './harness.js';

const skip = browserSkip();

describe('hooks in the request detail', { skip }, () => {
  let stack: BrowserStack;
  let hooks: HookServer;
  let allowedId = '';
  let blockedId = '';
  before(async () => {
    hooks = await startHookServer();
    hooks.scripts.set('/block', (c) => ({ json: c.body.user_message.includes('forbidden') ? { action: 'block', message: 'not that' } : { action: 'allow' } }));
    hooks.scripts.set('/broken', { status: 500 });
    stack = await startBrowserStack((u) =>
      JSON.stringify({
        providers: { mock: { name: 'Mock AI', baseurl: u, apikey: FAKE.providerKey, models: ['gpt-4o'], cost_basis: 'openai' } },
        hooks: { guard: { url: `${hooks.url}/block`, preference: 1 }, flaky: { url: `${hooks.url}/broken` }, audit: { url: `${hooks.url}/audit` } },
        grants: [
          { src: ['admin@example.com'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } },
          { src: ['alice@example.com'], app: { [CAP]: [{ role: 'user' }, { models: '**' }, { send_hooks: [{ name: 'guard', events: ['pre_request'], send: ['user_message'] }, { name: 'flaky', events: ['pre_request'], send: [] }, { name: 'audit', events: ['entire_request'], send: ['response_body'] }] }] } },
        ],
      }),
    );
    const chat = (content: string) => postJson(`${stack.url}/v1/chat/completions`, { model: 'mock/gpt-4o', messages: [{ role: 'user', content }] }, { 'x-test-as': 'alice' });
    const allowed = await chat('hello');
    assert.equal(allowed.status, 200, allowed.text);
    allowedId = allowed.headers.get('x-keyway-request-id')!;
    const blocked = await chat('something forbidden');
    assert.equal(blocked.status, 403);
    blockedId = blocked.headers.get('x-keyway-request-id')!;
    await stack.keyway.telemetry!.recorder.flush();
  });
  after(async () => {
    await stack?.close();
    await hooks?.close();
  });
  afterEach(() => assert.deepEqual(stack.errors.splice(0), []));

  test('an answered request lists its guardrails with verdicts and durations, and its events', async () => {
    const page = await stack.page('alice');
    await page.goto(`/ui/logs/${allowedId}`);
    const list = page.getByRole('list', { name: 'Hooks' });
    await list.waitFor();
    const guard = list.locator('li[data-hook="guard"]');
    await guard.getByText('allowed').waitFor();
    assert.match(await guard.textContent() ?? '', /pre_request.*allowed.* in \d+(\.\d)? ms/);
    const flaky = list.locator('li[data-hook="flaky"]');
    await flaky.getByText('failed (fail_open: the request went on)').waitFor();
    assert.match(await flaky.textContent() ?? '', /status: answered HTTP 500/);
    await list.locator('li[data-hook="audit"]').getByText('queued after the answer').waitFor();
    await shot(page, 'hooks-request-allowed');
  });

  test('a blocked request says which hook blocked it', async () => {
    const page = await stack.page('alice');
    await page.goto(`/ui/logs/${blockedId}`);
    const list = page.getByRole('list', { name: 'Hooks' });
    await list.locator('li[data-hook="guard"]').getByText('blocked the request').waitFor();
    assert.equal(await list.locator('li[data-hook="flaky"]').count(), 0, 'the chain stopped at the block');
    await page.getByText('GUARDRAIL_BLOCKED').first().waitFor();
    await shot(page, 'hooks-request-blocked');
  });
});
