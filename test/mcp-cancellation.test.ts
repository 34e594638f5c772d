/**
 * The cancellation a tools/call on the fast path carries (src/mcp/cancellation.ts): no
 * AbortSignal until a consumer asks for one, and the same abort whichever way it is read.
 * End to end: a client that goes away in the middle of a call cancels it upstream, on
 * Streamable HTTP (keyway's own exchange) and on the legacy transport (the SDK's client,
 * which needs a real AbortSignal).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { abortSignalOf, LazyCancellation } from '../src/mcp/cancellation.js';
import { echoTool, startMockMcpServer, type MockMcpServer } from '../src/mock-upstream/mcp-server.js';
import { startStack, type Stack } from './helpers.js';
import { asHeader, CAP, mcpClient, sessionOf, until } from './mcp-helpers.js';

describe('LazyCancellation', () => {
  test('listeners hear the abort once, with its reason; a removed one does not', () => {
    const c = new LazyCancellation();
    const heard: string[] = [];
    const a = () => heard.push('a');
    const b = () => heard.push('b');
    c.addEventListener('abort', a);
    c.addEventListener('abort', b);
    c.removeEventListener('abort', b);
    assert.equal(c.aborted, false);
    const reason = new Error('the client went away');
    c.abort(reason);
    c.abort(new Error('again'));
    assert.deepEqual(heard, ['a']);
    assert.equal(c.aborted, true);
    assert.equal(c.reason, reason);
    c.addEventListener('abort', b); // after the abort: never called, like a signal's
    assert.deepEqual(heard, ['a']);
  });

  test('the AbortSignal is made on first use and follows an abort before or after it', () => {
    const before = new LazyCancellation();
    before.abort(new Error('early'));
    assert.equal(before.signal.aborted, true);
    assert.equal((before.signal.reason as Error).message, 'early');

    const afterwards = new LazyCancellation();
    const signal = afterwards.signal;
    assert.equal(afterwards.signal, signal, 'one signal per cancellation');
    let fired = 0;
    signal.addEventListener('abort', () => fired++);
    afterwards.abort();
    assert.equal(signal.aborted, true);
    assert.equal((signal.reason as Error).name, 'AbortError');
    assert.equal(fired, 1);
  });

  test('abortSignalOf gives a real AbortSignal for either kind', () => {
    const lazy = new LazyCancellation();
    assert.ok(abortSignalOf(lazy) instanceof AbortSignal);
    const controller = new AbortController();
    assert.equal(abortSignalOf(controller.signal), controller.signal);
    assert.equal(abortSignalOf(undefined), undefined);
  });
});

describe('a client that goes away in the middle of a tools/call', () => {
  let streamable: MockMcpServer;
  let legacy: MockMcpServer;
  let stack: Stack;

  before(async () => {
    streamable = await startMockMcpServer({ name: 'streamable', tools: [echoTool('echo'), { name: 'hang', delayMs: 30_000 }] });
    legacy = await startMockMcpServer({ name: 'legacy', legacySse: true, tools: [echoTool('echo'), { name: 'hang', delayMs: 30_000 }] });
    stack = await startStack(
      () =>
        JSON.stringify({
          grants: [{ src: ['admin@example.com'], app: { [CAP]: [{ role: 'admin' }, { mcp_tools: '**' }] } }],
          mcp: { servers: { modern: { url: streamable.url }, old: { url: legacy.url } } },
        }),
      { identity: asHeader },
    );
    await stack.keyway.mcp.ready();
  });
  after(async () => {
    await stack.close();
    await Promise.all([streamable.close(), legacy.close()]);
  });

  for (const [server, upstream] of [['modern', () => streamable], ['old', () => legacy]] as const) {
    test(`${server}: the upstream is told, and the next call on the session works`, async () => {
      const client = await mcpClient(stack.url, 'admin');
      try {
        const session = sessionOf(client);
        const body = JSON.stringify({ jsonrpc: '2.0', id: 'gone-1', method: 'tools/call', params: { name: `${server}_hang`, arguments: {} } });
        // A raw POST answered on the fast path, cut while the upstream still works on it.
        const req = request(`${stack.url}/v1/mcp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': session, 'x-test-as': 'admin', 'content-length': Buffer.byteLength(body) },
        });
        req.on('error', () => {});
        req.end(body);
        await until(() => upstream().calls.some((c) => c.name === 'hang'), 5_000, 'the call to reach the upstream');
        req.destroy();
        await until(() => upstream().cancelled.length > 0, 5_000, 'the upstream to see the cancellation');
        const result = await client.callTool({ name: `${server}_echo`, arguments: { text: 'still here' } });
        assert.deepEqual(result.content, [{ type: 'text', text: 'echo: still here' }]);
      } finally {
        await client.close();
      }
    });
  }
});
