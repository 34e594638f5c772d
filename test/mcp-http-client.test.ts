/**
 * The HTTP client under the SDK's client transports: a credential on every request, and no
 * abort listener left behind on the transport's long-lived signal per request.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Agent } from 'undici';
import { createAuth } from '../src/mcp/auth.js';
import { authenticatedFetch } from '../src/mcp/http-client.js';

test('authenticatedFetch adds the credential and leaves no listener on the caller\'s signal', async () => {
  const seen: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    if (req.url === '/slow') return; // never answers: the caller aborts
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const agent = new Agent();
  try {
    const fetch = authenticatedFetch(agent, createAuth({ type: 'bearer_token', token: 'sk-test-http-client' }, agent));
    const shared = new AbortController();
    for (let i = 0; i < 300; i++) {
      const res = await fetch(`${url}/x`, { method: 'POST', body: '{}', signal: shared.signal });
      await res.json();
    }
    assert.ok(seen.every((h) => h === 'Bearer sk-test-http-client'));
    assert.ok(getEventListeners(shared.signal, 'abort').length < 5, `${getEventListeners(shared.signal, 'abort').length} listeners left`);
    // Aborting the shared signal still aborts a request in flight.
    const pending = fetch(`${url}/slow`, { signal: shared.signal });
    setTimeout(() => shared.abort(), 50);
    await assert.rejects(pending);
  } finally {
    server.closeAllConnections();
    server.close();
    await agent.close();
  }
});
