/**
 * `keyway demo` in real Chromium, as a newcomer meets it: a browser on the same machine
 * (loopback identity, the demo's own grant), the chat answering from the built-in mock,
 * the Models tab's Test button, and the overview pricing what was just sent.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startDemo, type Demo } from '../../src/demo.js';
import { createLogger } from '../../src/log.js';
import { DEFAULT_SETTINGS } from '../../src/start.js';
import { browserSkip, launchChromium, shot } from './harness.js';

const skip = browserSkip();

describe('keyway demo in the browser', { skip }, () => {
  let demo: Demo;
  let dataDir: string;
  let browser: Browser;
  let context: BrowserContext;
  const errors: string[] = [];

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'keyway-browser-demo-'));
    // The demo as the CLI starts it, but on a free port and quiet.
    demo = await startDemo({ ...DEFAULT_SETTINGS, port: 0, dataDir, watch: false }, { log: createLogger(process.env.KEYWAY_TEST_LOG ?? 'silent') });
    browser = await launchChromium();
    context = await browser.newContext({ baseURL: demo.keyway.url, viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
  });
  after(async () => {
    await context?.close().catch(() => {});
    await browser?.close().catch(() => {});
    await demo?.close(100);
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function open(path: string): Promise<Page> {
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (err) => errors.push(`uncaught error in the page: ${err.stack ?? err.message}`));
    await page.goto(path);
    return page;
  }

  test('the chat answers at once, from a demo model', async () => {
    const page = await open('/chat');
    await page.getByRole('button', { name: /Model: demo-/ }).waitFor();
    await page.getByLabel('Message', { exact: true }).fill('Hello, demo');
    await page.getByLabel('Message', { exact: true }).press('Enter');
    const answer = page.locator('article[aria-label="Answer"]').last();
    await answer.and(page.locator('[data-status="complete"]')).waitFor();
    assert.match(await answer.locator('.message-body').innerText(), /^MOCK_OK \((anthropic|openai-chat|openai-responses|gemini) [\w.-]+\)$/);
    await shot(page, 'demo-chat');
    assert.deepEqual(errors, []);
  });

  test('the Models tab\'s Test button answers for every demo provider', async () => {
    const page = await open('/ui/models');
    for (const id of ['demo-anthropic/claude-sonnet-4-5', 'demo-openai/gpt-5-mini', 'demo-gemini/gemini-2.5-flash']) {
      const row = page.locator(`tr[data-model="${id}"]`);
      await row.getByRole('button', { name: `Test ${id}` }).click();
      const result = row.getByTestId('test-result');
      await result.waitFor();
      assert.match(await result.innerText(), /OK in \d+ ms: .*MOCK_OK/, id);
      // Demo models have list prices, per million tokens.
      assert.match(await row.locator('td.num').first().innerText(), /^\$\d+\.\d\d$/, id);
    }
    await page.mouse.move(0, 0);
    await shot(page, 'demo-models');
    assert.deepEqual(errors, []);
  });

  test('the overview counts and prices that traffic', async () => {
    // The chat message and three tests, written to the telemetry store in batches.
    for (let i = 0; i < 50; i++) {
      const r = (await (await fetch(`${demo.keyway.url}/api/usage`)).json()) as { totals: { requests: number } };
      if (r.totals.requests >= 4) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const page = await open('/ui/');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.locator('.stat', { hasText: 'Requests' }).locator('.stat-value').filter({ hasText: '4' }).waitFor();
    const cost = await page.locator('.stat', { hasText: 'Estimated cost' }).locator('.stat-value').innerText();
    assert.match(cost, /^\$0\.0+[1-9]/, `a small but real cost: ${cost}`);
    await page.locator('.card', { hasText: 'Cost by model' }).locator('svg.chart rect').first().waitFor();
    await shot(page, 'demo-overview');
    assert.deepEqual(errors, []);
  });
});
