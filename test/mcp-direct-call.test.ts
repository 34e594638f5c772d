/**
 * The tools/call hot path against upstreams that answer in each way Streamable HTTP
 * allows: one JSON body, or an SSE stream. The result reaches the client as the upstream
 * wrote it (only the JSON-RPC envelope around it is keyway's), in the answer and in the
 * capture, including what a parse and re-serialization would change (`1.50`, a 20-digit
 * integer, a `\u00e9` escape); an answer that names `result` twice is read the way
 * JSON.parse reads it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { echoTool, startMockMcpServer, type MockMcpServer } from '../src/mock-upstream/mcp-server.js';
import { startStack, type Stack } from './helpers.js';
import { asHeader, CAP, mcpClient, rpc, sessionOf } from './mcp-helpers.js';

/** The result text a JSON.parse and JSON.stringify would rewrite. */
const AS_WRITTEN = '{"content":[{"type":"text","text":"caf\\u00e9"}],"structuredContent":{"price":1.50,"big":12345678901234567890}}';

/**
 * A hand-written Streamable HTTP server (no SDK, so its bytes are its own): `fmt` answers
 * in a JSON body, `sse` in an SSE stream after a notification, `dup` names `result` twice.
 */
async function rawUpstream(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.method !== 'POST') return void res.writeHead(405).end();
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const msg = JSON.parse(body) as { id?: unknown; method: string; params?: Record<string, any> };
      if (msg.id === undefined) return void res.writeHead(202).end();
      const id = JSON.stringify(msg.id);
      const json = (text: string, headers: Record<string, string> = {}) => res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(text);
      if (msg.method === 'initialize') {
        return json(`{"jsonrpc":"2.0","id":${id},"result":{"protocolVersion":${JSON.stringify(msg.params!.protocolVersion)},"capabilities":{"tools":{}},"serverInfo":{"name":"raw","version":"1"}}}`, { 'mcp-session-id': 'raw-session-1' });
      }
      if (msg.method === 'tools/list') return json(`{"jsonrpc":"2.0","id":${id},"result":{"tools":[{"name":"fmt","inputSchema":{"type":"object"}},{"name":"sse","inputSchema":{"type":"object"}},{"name":"dup","inputSchema":{"type":"object"}}]}}`);
      if (msg.method !== 'tools/call') return json(`{"jsonrpc":"2.0","id":${id},"error":{"code":-32601,"message":"no"}}`);
      const tool = msg.params!.name as string;
      if (tool === 'fmt') return json(`{"result":${AS_WRITTEN},"jsonrpc":"2.0","id":${id}}`);
      if (tool === 'dup') return json(`{"jsonrpc":"2.0","result":{"content":[]},"id":${id},"result":{"content":[{"type":"text","text":"last"}],"n":1.50}}`);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: message\ndata: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"working"}}\n\n');
      res.end(`event: message\ndata: {"jsonrpc":"2.0","id":${id},"result":${AS_WRITTEN}}\n\n`);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp` };
}

describe('tools/call answered by the upstream in JSON or SSE', () => {
  let raw: { server: Server; url: string };
  let json: MockMcpServer;
  let stack: Stack;

  before(async () => {
    raw = await rawUpstream();
    json = await startMockMcpServer({ jsonResponse: true, tools: [echoTool('echo')] });
    stack = await startStack(
      () => JSON.stringify({ grants: [{ src: ['admin@example.com'], app: { [CAP]: [{ role: 'admin' }, { mcp_tools: '**' }] } }], mcp: { servers: { raw: { url: raw.url }, json: { url: json.url } } } }),
      { identity: asHeader },
    );
    await stack.keyway.mcp.ready();
  });
  after(async () => {
    await stack.close();
    await json.close();
    raw.server.close();
  });

  const call = async (name: string) => {
    const client = await mcpClient(stack.url, 'admin');
    try {
      return await rpc(stack.url, 'admin', { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: {} } }, { 'mcp-session-id': sessionOf(client), 'mcp-protocol-version': '2025-06-18' });
    } finally {
      await client.close();
    }
  };

  test('an SDK server answering application/json: the call goes through', async () => {
    const client = await mcpClient(stack.url, 'admin');
    try {
      assert.deepEqual(await client.callTool({ name: 'json_echo', arguments: { text: 'hi' } }), { content: [{ type: 'text', text: 'echo: hi' }] });
    } finally {
      await client.close();
    }
    assert.ok(json.requests.some((r) => r.rpc.includes('tools/call')));
  });

  for (const [tool, how] of [['fmt', 'a JSON body'], ['sse', 'an SSE stream']] as const) {
    test(`${how}: the result reaches the client and the capture as the upstream wrote it`, async () => {
      const res = await call(`raw_${tool}`);
      assert.equal(res.status, 200);
      assert.equal(res.text, `{"jsonrpc":"2.0","id":7,"result":${AS_WRITTEN}}`);
      await stack.keyway.telemetry!.recorder.flush();
      const list = (await (await fetch(`${stack.url}/api/requests?format=mcp&limit=50`, { headers: { 'x-test-as': 'admin' } })).json()) as { requests: Array<{ id: string; requestedModel: string; responseBytes: number }> };
      const rec = list.requests.find((r) => r.requestedModel === `raw_${tool}`)!;
      assert.equal(rec.responseBytes, Buffer.byteLength(AS_WRITTEN));
      const detail = (await (await fetch(`${stack.url}/api/requests/${rec.id}`, { headers: { 'x-test-as': 'admin' } })).json()) as { capture: { responseBody: string } };
      assert.equal(detail.capture.responseBody, AS_WRITTEN);
    });
  }

  test('an answer that names result twice is read as JSON.parse reads it (the last one)', async () => {
    const res = await call('raw_dup');
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), { jsonrpc: '2.0', id: 7, result: { content: [{ type: 'text', text: 'last' }], n: 1.5 } });
  });
});
