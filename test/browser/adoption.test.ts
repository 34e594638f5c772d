/**
 * Adoption analytics in real Chromium against a real keyway and mock upstream: the
 * Adoption screen (users, agents, models, CSV downloads), the Table toggle that shows a
 * chart's numbers, the per-user dashboard an admin opens from it, the tool calls models
 * made on Tool Use, the Logs agent filter, and the Ctrl+K palette.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { configText, FAKE, postJson } from '../helpers.js';
import { browserSkip, GRANTS, PHONE, shot, startBrowserStack, type BrowserStack } from './harness.js';

const skip = browserSkip();

const UA = { claude: 'claude-cli/2.1.197 (external, cli)', codex: 'codex_exec/0.171.0 (Debian 12.0.0; x86_64)', sdk: 'OpenAI/JS 6.49.0' };

function providers(u: string) {
  return {
    mock: { baseurl: u, apikey: FAKE.providerKey, models: ['gpt-4o'], cost_basis: 'openai' },
    anthropic: { baseurl: u, apikey: 'sk-ant-test-provider-key-0001', authorization: 'x-api-key', models: ['claude-opus-4-8'], compatibility: { anthropic_messages: true } },
  };
}

describe('adoption analytics in the dashboard', { skip }, () => {
  let stack: BrowserStack;
  let claudeRequest = '';
  before(async () => {
    stack = await startBrowserStack((u) => configText(providers(u), GRANTS));
    const messages = (as: string, content: string) =>
      postJson(`${stack.url}/v1/messages`, { model: 'claude-opus-4-8', max_tokens: 32, messages: [{ role: 'user', content }] }, { 'x-test-as': as, 'user-agent': UA.claude, 'anthropic-version': '2023-06-01' });
    const chat = (as: string, ua: string) => postJson(`${stack.url}/v1/chat/completions`, { model: 'mock/gpt-4o', messages: [{ role: 'user', content: `hi from ${as}` }] }, { 'x-test-as': as, 'user-agent': ua });
    const sent = [await messages('alice', 'run it MOCK:tool=Bash'), await messages('alice', 'and again'), await chat('bob', UA.codex), await chat('admin', UA.sdk)];
    for (const r of sent) assert.equal(r.status, 200, r.text);
    claudeRequest = sent[0]!.headers.get('x-keyway-request-id')!;
    for (let i = 0; i < 50; i++) {
      if ((await stack.api('admin', '/api/adoption')).json?.totals?.requests === 4) break;
      await new Promise((res) => setTimeout(res, 100));
    }
  });
  afterEach(() => assert.deepEqual(stack.errors.splice(0), []));
  after(() => stack?.close());

  test('Adoption: users, agents and models with CSV downloads; a chart shows its numbers as a table', async () => {
    const page = await stack.page('admin');
    await page.goto('/ui/adoption');
    const users = page.getByTestId('table-users');
    await users.getByRole('link', { name: 'alice@example.com' }).waitFor();
    assert.match(await users.getByRole('row', { name: /alice@example\.com/ }).innerText(), /Claude Code\s+1\s+2\b/);
    assert.match(await users.getByRole('row', { name: /bob@example\.com/ }).innerText(), /Codex/);
    const agents = page.getByTestId('table-agents');
    assert.match(await agents.getByRole('row', { name: /Claude Code/ }).innerText(), /Claude Code\s+1\s+2\b/);
    assert.match(await agents.getByRole('row', { name: /OpenAI SDK/ }).innerText(), /OpenAI SDK\s+1\s+1\b/);
    assert.match(await page.getByTestId('table-models').innerText(), /anthropic\/claude-opus-4-8\s+1\s+2\b/);

    // Each CSV link downloads its table (parsed: a header, then one row per user).
    const href = await page.getByTestId('csv-users').getAttribute('href');
    assert.match(href!, /format=csv/);
    assert.match(href!, /table=users/);
    const csv = await (await page.request.get(href!)).text();
    const [header, ...rows] = csv.trim().split('\n');
    assert.equal(header, 'login,requests,inputTokens,outputTokens,costUsd,activeDays,agents,lastSeen');
    assert.deepEqual(rows.map((r) => r.split(',')[0]).sort(), ['admin@example.com', 'alice@example.com', 'bob@example.com']);

    // The active-users chart, as a table: today has three users.
    const card = page.locator('.card', { has: page.getByRole('heading', { name: 'Active users per day' }) });
    await card.getByRole('img').waitFor();
    await card.getByRole('button', { name: 'Table' }).click();
    const today = new Date().toISOString().slice(0, 10);
    const table = card.getByTestId('chart-table');
    assert.equal(await table.getByRole('row', { name: new RegExp(today) }).locator('td').nth(1).innerText(), '3');
    assert.equal(await card.getByRole('img').count(), 0, 'the table replaces the bars');
    await shot(page, 'adoption-table');
    await card.getByRole('button', { name: 'Chart' }).click();
    await card.getByRole('img').waitFor();

    // Weekly: one row per Monday-first week.
    await page.getByLabel('Group by').selectOption('week');
    await page.getByRole('heading', { name: 'Active users per week' }).waitFor();
    await shot(page, 'adoption');

    // A user's name opens their dashboard: their agents and models over time.
    await page.getByTestId('table-users').getByRole('link', { name: 'alice@example.com' }).click();
    await page.getByRole('heading', { name: 'Usage of alice@example.com' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/ui/dashboard/alice%40example.com');
    const agentChart = page.locator('.card', { has: page.getByRole('heading', { name: 'Requests by agent per day' }) });
    await agentChart.locator('.legend').getByText('Claude Code').waitFor();
    assert.deepEqual(await page.getByTestId('table-agents').locator('tbody tr td:first-child').allInnerTexts(), ['Claude Code']);
    assert.deepEqual(await page.getByTestId('table-models').locator('tbody tr td:first-child').allInnerTexts(), ['anthropic/claude-opus-4-8']);
    // The overview's charts have the toggle too.
    const tokens = page.locator('.card', { has: page.getByRole('heading', { name: 'Tokens by model' }) });
    await tokens.getByRole('button', { name: 'Table' }).click();
    await tokens.getByTestId('chart-table').getByRole('columnheader', { name: 'anthropic/claude-opus-4-8' }).waitFor();
    await shot(page, 'adoption-user');
  });

  test('Adoption is for admins; on a phone it fits the window', async () => {
    const alice = await stack.page('alice');
    await alice.goto('/ui/adoption');
    await alice.getByRole('heading', { name: 'Admins only' }).waitFor();
    assert.equal(await alice.getByRole('link', { name: 'Adoption' }).count(), 0, 'no Adoption link for users');
    const phone = await stack.page('admin', 'phone');
    await phone.goto('/ui/adoption');
    await phone.getByTestId('table-users').waitFor();
    assert.ok(((await phone.evaluate('document.scrollingElement.scrollWidth')) as number) <= PHONE.width, 'no sideways scrolling');
    await shot(phone, 'phone-adoption');
  });

  test('Tool Use shows the tool calls models made, by tool and agent; Logs filters by agent', async () => {
    const page = await stack.page('admin');
    await page.goto('/ui/tools');
    const byTool = page.getByTestId('model-tools-by-tool');
    await byTool.waitFor();
    assert.match(await byTool.innerText(), /Bash\s+1\s+1/);
    assert.match(await page.getByTestId('model-tools-by-agent').innerText(), /Claude Code\s+1/);
    assert.match(await page.getByTestId('model-tools-by-user').innerText(), /alice@example\.com\s+1/);
    const chart = page.locator('.card', { has: page.getByRole('heading', { name: /Model tool calls per/ }) });
    await chart.getByRole('button', { name: 'Table' }).click();
    await chart.getByTestId('chart-table').getByRole('columnheader', { name: 'Bash' }).waitFor();
    await shot(page, 'tool-use-models');

    await page.goto('/ui/logs');
    await page.getByLabel('Agent').selectOption('codex');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('tab', { name: 'All requests' }).click();
    await page.getByRole('cell', { name: 'bob@example.com' }).waitFor();
    const rows = await page.locator('table tbody tr').allInnerTexts();
    assert.equal(rows.length, 1, rows.join('\n'));
    assert.match(rows[0]!, /Codex/);
    assert.match(page.url(), /agent=codex/);
  });

  test('Ctrl+K finds users, models and request ids', async () => {
    const page = await stack.page('admin');
    await page.goto('/ui/');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.keyboard.press('Control+K');
    const box = page.getByRole('combobox', { name: /Search screens/ });
    await box.waitFor();
    await box.fill('bob');
    await page.getByRole('option', { name: /bob@example\.com/ }).waitFor();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Usage of bob@example.com' }).waitFor();

    await page.keyboard.press('Control+K');
    await box.fill('gpt-4o');
    await page.getByRole('option', { name: /mock\/gpt-4o/ }).waitFor();
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/ui\/logs\?model=mock%2Fgpt-4o/);

    await page.keyboard.press('Control+K');
    await box.fill(claudeRequest);
    await page.getByRole('option', { name: new RegExp(claudeRequest) }).waitFor();
    await page.keyboard.press('Enter');
    await page.waitForURL(new RegExp(`/ui/logs/${claudeRequest}`));
    await page.getByText('claude-cli/2.1.197').first().waitFor();
    await shot(page, 'command-palette-request');

    // Arrow keys move through the results; Escape closes.
    await page.keyboard.press('Control+K');
    await box.fill('o');
    const results = page.getByRole('listbox', { name: 'Results' });
    await results.getByRole('option').nth(1).waitFor();
    await page.keyboard.press('ArrowDown');
    assert.equal(await results.getByRole('option', { selected: true }).count(), 1);
    assert.equal(await results.getByRole('option').nth(1).getAttribute('aria-selected'), 'true');
    await shot(page, 'command-palette');
    await page.keyboard.press('Escape');
    await box.waitFor({ state: 'detached' });

    // A user's palette has no users in it (only admins may see other users).
    const alice = await stack.page('alice');
    await alice.goto('/ui/');
    await alice.getByRole('heading', { name: 'Overview' }).waitFor();
    await alice.keyboard.press('Control+K');
    await alice.getByRole('combobox', { name: /Search screens/ }).fill('example.com');
    await alice.getByText('Nothing matches.').waitFor();
    assert.equal(await alice.getByRole('listbox', { name: 'Results' }).getByRole('option').count(), 0);
  });
});
