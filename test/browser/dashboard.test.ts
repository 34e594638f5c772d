/**
 * Dashboard screens in real Chromium against a real keyway and mock upstream: usage
 * charts and logs show the traffic the test just sent, the Models tab's Test button, and
 * admin screens staying out of a user's reach (in the UI and in the API).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { configText, FAKE, postJson } from '../helpers.js';
import { browserSkip, GRANTS, shot, startBrowserStack, type BrowserStack } from './harness.js';

const skip = browserSkip();

function providers(u: string) {
  return {
    mock: { name: 'Mock AI', description: 'The test upstream, with a provider key', baseurl: u, apikey: FAKE.providerKey, models: ['mock-1', 'gpt-4o'], cost_basis: 'openai' },
    'anthropic-pt': {
      name: 'Anthropic (passthrough)',
      description: 'Clients bring their own key',
      baseurl: u,
      authorization: 'x-api-key',
      auth_mode: 'passthrough',
      models: ['claude-sonnet-4-5'],
      compatibility: { anthropic_messages: true },
    },
  };
}

describe('dashboard', { skip }, () => {
  let stack: BrowserStack;
  before(async () => {
    stack = await startBrowserStack((u) => configText(providers(u), GRANTS));
    // Traffic from alice: two provider-key requests and one with her own Anthropic key.
    const as = { 'x-test-as': 'alice', 'x-session-id': 'sess-browser-1' };
    for (const content of ['first question', 'second question']) {
      const r = await postJson(`${stack.url}/v1/chat/completions`, { model: 'mock/gpt-4o', messages: [{ role: 'user', content }] }, as);
      assert.equal(r.status, 200, r.text);
    }
    const m = await postJson(
      `${stack.url}/v1/messages`,
      { model: 'claude-sonnet-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hello from my own key' }] },
      { ...as, 'x-api-key': FAKE.anthropicKey, 'anthropic-version': '2023-06-01', 'x-session-id': 'sess-browser-2' },
    );
    assert.equal(m.status, 200, m.text);
    // Telemetry is written in batches every 250 ms.
    for (let i = 0; i < 50; i++) {
      const r = await stack.api('alice', '/api/requests');
      if (r.json?.requests?.length === 3) break;
      await new Promise((res) => setTimeout(res, 100));
    }
  });
  after(() => stack?.close());
  afterEach(() => assert.deepEqual(stack.errors.splice(0), []));

  test('usage charts and stats show the traffic just sent', async () => {
    const page = await stack.page('alice');
    await page.goto('/ui/');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const requests = page.locator('.stat', { hasText: 'Requests' }).locator('.stat-value');
    await requests.filter({ hasText: '3' }).waitFor();
    // Both models appear in the charts' legends and as bars with tooltips.
    await page.locator('.legend').first().getByText('mock/gpt-4o').waitFor();
    await page.locator('.legend').first().getByText('anthropic-pt/claude-sonnet-4-5').waitFor();
    assert.ok((await page.locator('svg.chart rect').count()) >= 2);
    await page.getByRole('cell', { name: 'gpt-4o' }).first().waitFor();
    await page.getByRole('link', { name: /sess-browser-1/ }).waitFor();
    assert.equal(await page.getByRole('heading', { name: 'All users' }).count(), 0, 'users do not see everyone');
    await shot(page, 'overview');
  });

  test('logs list sessions, expand to requests and show a request in detail', async () => {
    const page = await stack.page('alice');
    await page.goto('/ui/logs');
    const session = page.getByRole('button', { name: /sess-browser-2/ });
    await session.click();
    assert.equal(await session.getAttribute('aria-expanded'), 'true');
    await page.locator('.expanded-row').getByRole('link').first().click();
    await page.getByRole('heading', { level: 1, name: 'Request' }).waitFor();
    const summary = page.locator('dl.kv').first();
    await summary.getByText('anthropic-pt/claude-sonnet-4-5').waitFor();
    await summary.getByText("the caller's own key or token", { exact: false }).waitFor();
    const body = page.getByLabel('Request body');
    await body.getByText('hello from my own key', { exact: false }).waitFor();
    // keyway redacted the credential before it was stored; the UI shows what is stored.
    const text = await page.locator('main').innerText();
    assert.ok(!text.includes(FAKE.anthropicKey), 'the client key never reaches the page');
    assert.match(text, /x-api-key\s*\[redacted\]/);
    await shot(page, 'request-detail');

    await page.getByRole('link', { name: '← Back to the log' }).click();
    await page.getByRole('tab', { name: 'All requests' }).click();
    await page.locator('table tbody tr').nth(2).waitFor();
    assert.equal(await page.locator('table tbody tr').count(), 3);
    // A model is named as the Model column shows it: the provider that served it, then the name.
    await page.getByLabel('Model').fill('anthropic-pt/claude-sonnet-4-5');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/model=anthropic-pt%2Fclaude-sonnet-4-5/);
    await page.getByRole('tab', { name: 'All requests' }).click();
    await page.locator('table tbody tr').nth(0).waitFor();
    assert.equal(await page.locator('table tbody tr').count(), 1);
    await shot(page, 'logs');
  });

  test('Models: Test is disabled with a tooltip for passthrough-only, and works with a key', async () => {
    const page = await stack.page('alice');
    await page.goto('/ui/models');
    const pt = page.locator('tr[data-model="anthropic-pt/claude-sonnet-4-5"]');
    const disabled = pt.getByRole('button', { name: 'Test' });
    assert.equal(await disabled.isDisabled(), true);
    await disabled.focus();
    const tip = pt.getByRole('tooltip');
    await tip.waitFor({ state: 'visible' });
    assert.match(await tip.innerText(), /No API key is configured.*clients bring their own/s);
    await page.locator('.card', { hasText: 'Anthropic (passthrough)' }).getByText('needs your own key').waitFor();
    await shot(page, 'models-tooltip');

    const keyed = page.locator('tr[data-model="mock/gpt-4o"]');
    await keyed.getByRole('button', { name: 'Test mock/gpt-4o' }).click();
    const result = keyed.getByTestId('test-result');
    await result.waitFor();
    assert.match(await result.innerText(), /OK in \d+ ms: .*MOCK_OK/);
    // Prices per million tokens come from /v1/models pricing (OpenAI's list for gpt-4o).
    assert.match(await keyed.locator('td.num').first().innerText(), /^\$\d+\.\d\d$/);
    await page.mouse.move(0, 0);
    await shot(page, 'models');
  });

  test('an admin sees all users, drills into one, and can download the CSV', async () => {
    const page = await stack.page('admin');
    await page.goto('/ui/');
    const users = page.locator('.card', { has: page.getByRole('heading', { name: 'All users' }) });
    const csv = users.getByRole('link', { name: 'Download CSV' });
    const href = await csv.getAttribute('href');
    assert.match(href ?? '', /^\/api\/usage\.csv\?/);
    const download = await stack.api('admin', href!);
    assert.equal(download.status, 200);
    assert.match(download.text, /^day,login,model,/);
    assert.match(download.text, /alice@example\.com/);
    await shot(page, 'overview-admin');
    await users.getByRole('link', { name: 'alice@example.com' }).click();
    await page.getByRole('heading', { name: 'Usage of alice@example.com' }).waitFor();
    // Alice's traffic, including the Models test above (recorded as hers, client dashboard-test).
    const total = (await stack.api('admin', '/api/usage?user=alice%40example.com')).json.totals.requests as number;
    assert.ok(total >= 3);
    await page.locator('.stat', { hasText: 'Requests' }).locator('.stat-value').filter({ hasText: String(total) }).waitFor();
    await shot(page, 'overview-drilldown');
    assert.equal(new URL(page.url()).pathname, '/ui/dashboard/alice%40example.com');
  });

  test('a user without admin cannot reach admin screens, and the API refuses them', async () => {
    const page = await stack.page('alice');
    await page.goto('/ui/');
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Models' }).waitFor();
    for (const name of ['Configuration', 'Providers', 'Grants']) assert.equal(await nav.getByRole('link', { name }).count(), 0, name);
    for (const path of ['/ui/config', '/ui/providers', '/ui/grants', '/ui/dashboard/admin%40example.com']) {
      await page.goto(path);
      await page.getByRole('heading', { name: 'Admins only' }).waitFor();
    }
    await shot(page, 'admins-only');
    // The server enforces it, whatever the UI shows.
    const read = await stack.api('alice', '/api/config');
    assert.equal(read.status, 403);
    assert.equal(read.json.code, 'NOT_ADMIN');
    const save = await stack.api('alice', '/api/config', { method: 'PUT', body: JSON.stringify({ config: '{}', hash: '' }) });
    assert.equal(save.status, 403);
    const history = await stack.api('alice', '/api/config/history');
    assert.equal(history.status, 403);
    const others = await stack.api('alice', '/api/usage?user=admin%40example.com');
    assert.equal(others.status, 403);
    // From inside the page too (same origin, with the CSRF token): still refused.
    const status = await page.evaluate(`(async () => {
      const who = await (await fetch('/api/whoami')).json();
      const r = await fetch('/api/config', { method: 'PUT', headers: { 'content-type': 'application/json', 'x-csrf-token': who.csrf_token }, body: JSON.stringify({ config: '{}', hash: '' }) });
      return r.status;
    })()`);
    assert.equal(status, 403);
  });
});
