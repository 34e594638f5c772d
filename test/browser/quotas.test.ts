/**
 * The Quotas screen in real Chromium: an admin sees every bucket with its balance bar,
 * refusals over time and a refill button that works; a user sees only their own buckets
 * and no refill; the Models page's Test result and the chat name the bucket that refused.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { FAKE, postJson } from '../helpers.js';
import { browserSkip, CAP, shot, startBrowserStack, type BrowserStack } from './harness.js';

const skip = browserSkip();

function config(u: string): string {
  const provider = { baseurl: u, apikey: FAKE.providerKey, models: ['gpt-4o', 'mystery-model-x'], cost_basis: 'openai' };
  return JSON.stringify({
    providers: { mock: { name: 'Mock AI', ...provider }, tight: { name: 'Tight budget', ...provider } },
    grants: [
      { src: ['admin@example.com'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } },
      { src: ['alice@example.com', 'bob@example.com'], app: { [CAP]: [{ role: 'user' }, { models: '**' }, { models: 'mock/**', quotas: [{ bucket: 'daily:<user>' }, { bucket: 'team' }] }, { models: 'tight/**', quotas: [{ bucket: 'empty:<user>' }] }] } },
    ],
    quotas: {
      // Small enough that one request shows in the bar (a gpt-4o call here costs about $0.00005).
      'daily:<user>': { capacity: '$0.0001', rate: '$0.0001/day' },
      'empty:<user>': { capacity: '$0.00', rate: '$1.00/hour' },
      team: { capacity: '$50.00', rate: '$50.00/month' },
    },
  });
}

describe('quotas screen', { skip }, () => {
  let stack: BrowserStack;
  before(async () => {
    stack = await startBrowserStack(config);
    const chat = (as: string, model: string) => postJson(`${stack.url}/v1/chat/completions`, { model, messages: [{ role: 'user', content: 'spend' }] }, { 'x-test-as': as });
    assert.equal((await chat('alice', 'mock/gpt-4o')).status, 200);
    assert.equal((await chat('alice', 'mock/mystery-model-x')).status, 200);
    assert.equal((await chat('bob', 'mock/gpt-4o')).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await chat('alice', 'tight/gpt-4o')).status, 429);
    // Telemetry (the refusal history) is written in batches.
    await stack.keyway.telemetry!.recorder.flush();
  });
  after(() => stack?.close());
  afterEach(() => assert.deepEqual(stack.errors.splice(0), []));

  test('admins see every bucket with its balance, refusals over time, and refill one', async () => {
    const page = await stack.page('admin');
    await page.goto('/ui/');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Quotas' }).click();
    await page.getByRole('heading', { level: 1, name: 'Quotas' }).waitFor();
    for (const b of ['daily:alice@example.com', 'daily:bob@example.com', 'empty:alice@example.com', 'team']) await page.locator(`tr[data-bucket="${b}"]`).waitFor();
    const daily = page.locator('tr[data-bucket="daily:alice@example.com"]');
    const meter = daily.getByRole('meter', { name: 'Balance of daily:alice@example.com' });
    assert.match(String(await meter.getAttribute('aria-valuetext')), /^\$0\.0000\d+ of \$0\.0001$/);
    const width = Number(/width: ([\d.]+)%/.exec(String(await daily.locator('.balance-fill').getAttribute('style')))?.[1]);
    assert.ok(width > 1 && width < 99, `the bar shows what is left (${width}%)`);
    // The unpriced request is one this bucket cannot see.
    await daily.getByText('cannot see 1 request').waitFor();
    const empty = page.locator('tr[data-bucket="empty:alice@example.com"]');
    await empty.getByText('refusing').waitFor();
    // Refusals over time: a bar for the bucket that refused.
    const chart = page.locator('.card', { has: page.getByRole('heading', { name: 'Refusals over time' }) });
    await chart.locator('svg.chart rect').first().waitFor();
    assert.match(await chart.locator('svg.chart rect title').first().textContent() ?? '', /empty:alice@example\.com: 3/);
    await shot(page, 'quotas-admin');

    // Refill: $0.50 on a bucket of $0.0001 stops at its capacity.
    await daily.getByRole('button', { name: 'Refill daily:alice@example.com' }).click();
    const dialog = page.getByRole('dialog', { name: 'Refill daily:alice@example.com' });
    await dialog.getByLabel('Amount').fill('$0.50');
    await dialog.getByRole('button', { name: 'Add $0.50' }).click();
    await page.getByTestId('toast-success').filter({ hasText: 'daily:alice@example.com now holds $0.0001' }).waitFor();
    await daily.getByRole('meter').and(page.locator('[aria-valuetext="$0.0001 of $0.0001"]')).waitFor();
    // Filling a $0.00 bucket up leaves it at $0.00: a refill never goes above the capacity.
    await empty.getByRole('button', { name: 'Refill empty:alice@example.com' }).click();
    await page.getByRole('dialog', { name: 'Refill empty:alice@example.com' }).getByRole('button', { name: 'Fill up' }).click();
    await page.getByTestId('toast-success').filter({ hasText: 'empty:alice@example.com now holds $0.00' }).waitFor();
  });

  test('users see their own buckets only, and no refill', async () => {
    const page = await stack.page('alice');
    await page.goto('/ui/quotas');
    await page.getByRole('heading', { name: 'Your buckets' }).waitFor();
    await page.locator('tr[data-bucket="daily:alice@example.com"]').waitFor();
    await page.locator('tr[data-bucket="team"]').waitFor();
    assert.equal(await page.locator('tr[data-bucket="daily:bob@example.com"]').count(), 0, "never another user's bucket");
    assert.equal(await page.getByRole('button', { name: /^Refill/ }).count(), 0);
    assert.ok(!(await page.locator('main').innerText()).includes('bob@example.com'));
    await shot(page, 'quotas-user');
    // The API refuses what the UI hides.
    const refill = await stack.api('alice', '/api/quotas/refill', { method: 'POST', body: JSON.stringify({ bucket: 'daily:alice@example.com' }) });
    assert.equal(refill.status, 403);
  });

  test('the Models page names the bucket when the Test button is refused', async () => {
    const page = await stack.page('alice');
    await page.goto('/ui/models');
    const row = page.locator('tr[data-model="tight/gpt-4o"]');
    await row.getByRole('button', { name: 'Test tight/gpt-4o' }).click();
    const quota = row.getByTestId('test-quota');
    await quota.waitFor();
    assert.match(await quota.innerText(), /Refused by the quota bucket empty:alice@example\.com; it lets requests through again in about 1 s/);
    assert.match(await row.getByTestId('test-result').innerText(), /Failed \(429\)/);
    await shot(page, 'models-quota');
  });

  test('the chat says which bucket refused a message', async () => {
    const page = await stack.page('alice');
    await page.goto('/chat');
    await page.getByRole('button', { name: /Model:/ }).click();
    await page.getByRole('combobox', { name: 'Search models' }).fill('tight');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: /Model: .*tight\/gpt-4o/ }).waitFor();
    const sent = stack.upstream.requests.length;
    await page.getByLabel('Message', { exact: true }).fill('over budget');
    await page.getByLabel('Message', { exact: true }).press('Enter');
    const answer = page.locator('article[aria-label="Answer"]').last();
    await answer.and(page.locator('[data-status="error"]')).waitFor();
    assert.match(await answer.getByRole('alert').innerText(), /Refused by the quota bucket empty:alice@example\.com: it lets requests through again in about 1 s/);
    assert.equal(stack.upstream.requests.length, sent, 'nothing was forwarded');
    await shot(page, 'chat-quota');
  });
});
