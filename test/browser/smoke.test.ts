/** The UI loads in real Chromium for each kind of caller (first browser test). */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { configText } from '../helpers.js';
import { browserSkip, GRANTS, shot, startBrowserStack, type BrowserStack } from './harness.js';

const skip = browserSkip();

describe('UI shell', { skip }, () => {
  let stack: BrowserStack;
  before(async () => {
    stack = await startBrowserStack((u) => configText({ mock: { name: 'Mock AI', baseurl: u, apikey: 'sk-test-p', models: ['mock-1'] } }, GRANTS));
  });
  after(() => stack?.close());
  afterEach(() => assert.deepEqual(stack.errors.splice(0), []));

  test('an admin sees every screen in the navigation', async () => {
    const page = await stack.page('admin');
    const res = await page.goto('/');
    assert.equal(new URL(page.url()).pathname, '/ui/');
    assert.equal(res?.status(), 200);
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const name of ['Overview', 'Models', 'Logs', 'Configuration', 'Providers', 'Grants', 'Chat']) {
      await nav.getByRole('link', { name }).waitFor();
    }
    await nav.getByText('Ada Admin').waitFor();
  });

  test('a caller without a role is told so', async () => {
    const page = await stack.page('stranger');
    await page.goto('/ui/');
    await page.getByRole('heading', { name: 'No access yet' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Configuration' }).count(), 0);
    await shot(page, 'no-role');
  });
});
