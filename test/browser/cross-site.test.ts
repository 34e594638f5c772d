/**
 * The two browser attacks of the security review, played in real Chromium:
 * - DNS rebinding: the browser resolves an attacker's name to keyway's address (Chromium's
 *   host resolver rules stand in for the attacker's DNS), and keyway refuses the name;
 * - a foreign page making the signed-in browser spend the organisation's key: refused, and
 *   nothing reaches the provider, until a CORS grant names that page's origin.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { FAKE, configText, startStack, type Stack } from '../helpers.js';
import { CAP, CHROMIUM, browserSkip } from './harness.js';

const skip = browserSkip();

describe('cross-site attacks in Chromium', { skip }, () => {
  let stack: Stack;
  let page: Server;
  let pageOrigin: string;
  let browser: Browser;

  const grants = (corsOrigin?: string) => [
    { src: ['(loopback)'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }, ...(corsOrigin ? [{ set_cors: true, 'Access-Control-Allow-Origin': corsOrigin }] : [])] } },
  ];
  const config = (corsOrigin?: string) => (u: string) => configText({ openai: { baseurl: u, apikey: FAKE.providerKey, models: ['gpt-test'] } }, grants(corsOrigin));

  before(async () => {
    // The attacker's page: another origin (localhost vs 127.0.0.1 and another port).
    page = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title>'));
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    pageOrigin = `http://localhost:${(page.address() as AddressInfo).port}`;
    stack = await startStack(config());
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
        // The attacker's DNS answer: their name resolves to this machine.
        '--host-resolver-rules=MAP rebind.attacker.example 127.0.0.1',
      ],
    });
  });
  after(async () => {
    await browser?.close();
    await stack?.close();
    page?.close();
  });

  test('a rebinding name gets 421: the page cannot read whoami or the configuration', async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    const port = stack.keyway.port;
    const whoami = await tab.goto(`http://rebind.attacker.example:${port}/api/whoami`);
    assert.equal(whoami?.status(), 421);
    assert.doesNotMatch(await tab.content(), /csrf_token/);
    const reveal = await tab.goto(`http://rebind.attacker.example:${port}/api/config?reveal=1`);
    assert.equal(reveal?.status(), 421);
    // The real name still works in the same browser.
    const real = await tab.goto(`${stack.url}/api/whoami`);
    assert.equal(real?.status(), 200);
    await context.close();
  });

  test("a foreign page's fetch to an inference route is refused and never forwarded; a CORS grant opens it", async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    await tab.goto(pageOrigin);
    const target = `${stack.url}/v1/chat/completions`;
    const body = JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'spend it' }] });
    const before = stack.upstream.requests.length;
    // text/plain is a "simple" request: the browser sends it without asking first.
    const simple = await tab.evaluate(
      async ([url, b]) => {
        try {
          const r = await fetch(url!, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: b });
          return `read ${r.status}`;
        } catch (err) {
          return `failed: ${(err as Error).name}`;
        }
      },
      [target, body],
    );
    assert.equal(simple, 'failed: TypeError', 'the page cannot read the answer');
    assert.equal(stack.upstream.requests.length, before, 'and the provider never saw the request');

    // With a grant for this page's origin, the same call (now with a preflight) works.
    const { hash } = (await (await fetch(`${stack.url}/api/config`)).json()) as { hash: string };
    const put = await fetch(`${stack.url}/api/config`, { method: 'PUT', body: JSON.stringify({ config: config(pageOrigin)(stack.upstream.url), hash }) });
    assert.equal(put.status, 200, await put.text());
    const allowed = await tab.evaluate(
      async ([url, b]) => {
        const r = await fetch(url!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: b });
        return { status: r.status, id: r.headers.get("x-keyway-request-id"), json: (await r.json()) as { choices?: unknown[] } };
      },
      [target, body],
    );
    assert.equal(allowed.status, 200);
    assert.match(String(allowed.id), /^req_/, 'exposed headers are readable');
    assert.ok((allowed.json.choices?.length ?? 0) > 0);
    assert.equal(stack.upstream.requests.length, before + 1);
    await context.close();
  });
});
