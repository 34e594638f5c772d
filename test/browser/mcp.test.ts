/**
 * The MCP screens in real Chromium: the server list with each server's status and tool
 * count (a server that goes down says so), and Tool Use with the calls by tool, user and
 * outcome, each recent call opening in the log with its arguments.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { echoTool, startMockMcpServer, type MockMcpServer } from '../../src/mock-upstream/mcp-server.js';
import { mcpClient } from '../mcp-helpers.js';
import { browserSkip, CAP, shot, startBrowserStack, type BrowserStack } from './harness.js';

const skip = browserSkip();

describe('MCP screens', { skip }, () => {
  let stack: BrowserStack;
  let docs: MockMcpServer;
  let gone: MockMcpServer;
  before(async () => {
    docs = await startMockMcpServer({ tools: [echoTool('search'), echoTool('fetch_page')] });
    gone = await startMockMcpServer({ tools: [echoTool('ping')] });
    stack = await startBrowserStack(() =>
      JSON.stringify({
        grants: [
          { src: ['admin@example.com'], app: { [CAP]: [{ role: 'admin' }, { mcp_tools: '**' }] } },
          { src: ['alice@example.com'], app: { [CAP]: [{ role: 'user' }, { mcp_tools: 'docs/search' }] } },
        ],
        mcp: { servers: { docs: { url: docs.url }, gone: { url: gone.url } } },
      }),
    );
    await stack.keyway.mcp.ready();
    const admin = await mcpClient(stack.url, 'admin');
    const alice = await mcpClient(stack.url, 'alice');
    try {
      await admin.callTool({ name: 'docs_search', arguments: { text: 'quarterly report' } });
      await admin.callTool({ name: 'docs_fetch_page', arguments: { text: 'p1' } });
      await alice.callTool({ name: 'docs_search', arguments: { text: 'mine' } });
      await assert.rejects(alice.callTool({ name: 'docs_fetch_page', arguments: { text: 'no' } }));
    } finally {
      await Promise.all([admin.close(), alice.close()]);
    }
    await gone.stop();
    await stack.keyway.mcp.ready();
    await stack.keyway.telemetry!.recorder.flush();
  });
  after(async () => {
    await stack?.close();
    await Promise.all([docs?.close(), gone?.close()]);
  });
  afterEach(() => assert.deepEqual(stack.errors.splice(0), []));

  test('the server list shows status and tool counts, per viewer', async () => {
    const page = await stack.page('admin');
    await page.goto('/ui/mcp');
    const row = (id: string) => page.locator(`tr[data-server="${id}"]`);
    await row('docs').getByText('up').waitFor();
    assert.match(await row('docs').innerText(), /docs[\s\S]*up[\s\S]*MCP[\s\S]*\b2\b/);
    await row('gone').getByText('down').waitFor();
    assert.match(await row('gone').innerText(), /\b0\b/);
    assert.match(await row('docs').innerText(), new RegExp(docs.url.replace(/[/.]/g, '\\$&')), 'admins see the URL');
    await shot(page, 'mcp-servers');

    const user = await stack.page('alice');
    await user.goto('/ui/mcp');
    await user.locator('tr[data-server="docs"]').getByText('up').waitFor();
    const cells = await user.locator('tr[data-server="docs"] td.num').allInnerTexts();
    assert.equal(cells[0], '1', 'alice may use one of its tools');
    assert.ok(!(await user.locator('table').innerText()).includes(docs.url), 'no URLs for users');
  });

  test('Tool Use: calls by tool, user and outcome; a recent call opens in the log', async () => {
    const page = await stack.page('admin');
    await page.goto('/ui/tools');
    await page.getByRole('heading', { name: 'By tool', exact: true }).waitFor();
    const byTool = page.locator('.card', { has: page.getByRole('heading', { name: 'By tool', exact: true }) });
    assert.match(await byTool.innerText(), /docs_search\s+2/);
    assert.match(await byTool.innerText(), /docs_fetch_page\s+2/);
    const byUser = page.locator('.card', { has: page.getByRole('heading', { name: 'By user', exact: true }) });
    assert.match(await byUser.innerText(), /admin@example\.com\s+2/);
    assert.match(await byUser.innerText(), /alice@example\.com\s+2/);
    const byOutcome = page.locator('.card', { has: page.getByRole('heading', { name: 'By outcome', exact: true }) });
    assert.match(await byOutcome.innerText(), /refused\s+1/);
    await page.getByRole('img', { name: /MCP tool calls per day by outcome/ }).waitFor();
    await shot(page, 'tool-use');
    const recent = page.locator('.card', { has: page.getByRole('heading', { name: 'Recent calls' }) });
    await recent.getByRole('row', { name: /admin@example\.com.*docs_search/ }).getByRole('link').click();
    await page.getByText('quarterly report').first().waitFor();

    const user = await stack.page('alice');
    await user.goto('/ui/tools');
    await user.getByRole('heading', { name: 'By tool', exact: true }).waitFor();
    assert.ok(!(await user.locator('main').innerText()).includes('admin@example.com'), 'a user sees only their own calls');
  });
});
