/**
 * The MCP SDK is loaded on first need (src/mcp/runtime.ts): a gateway that serves no MCP
 * never loads it (its schemas, built with zod, cost about 13 MB of heap at start), and the
 * first MCP request does. The check runs in a process of its own that watches every module
 * it resolves, so a static import of the SDK anywhere on keyway's start path fails it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { RPC } from '../src/mcp/json-rpc.js';
import { echoTool, startMockMcpServer } from '../src/mock-upstream/mcp-server.js';
import { startStack } from './helpers.js';
import { asHeader, CAP, mcpClient } from './mcp-helpers.js';

const START = new URL('../src/start.js', import.meta.url).href;

/** The child: keyway on a starter configuration (no MCP servers), then one MCP initialize. */
const CHILD = `
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const resolved = [];
port1.on('message', (url) => resolved.push(url));
port1.unref();
const hooks = 'let port; export function initialize(data) { port = data.port; } export async function resolve(specifier, context, next) { const r = await next(specifier, context); port.postMessage(r.url); return r; }';
register('data:text/javascript,' + encodeURIComponent(hooks), { data: { port: port2 }, transferList: [port2] });
const sdkLoaded = async () => {
  await new Promise((r) => setTimeout(r, 100)); // the hooks thread's last messages
  return resolved.some((u) => u.includes('/@modelcontextprotocol/') || u.includes('/node_modules/zod/'));
};
const { DEFAULT_SETTINGS, startKeyway } = await import(process.argv[2]);
const keyway = await startKeyway({ ...DEFAULT_SETTINGS, port: 0, dataDir: process.argv[3], logLevel: 'silent' });
const inference = await fetch(keyway.url + '/v1/models');
const atRest = await sdkLoaded();
const res = await fetch(keyway.url + '/v1/mcp', {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
  body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
});
const answer = await res.text();
console.log(JSON.stringify({ modules: resolved.length, models: inference.status, atRest, mcpStatus: res.status, answer: answer.slice(0, 300), afterMcp: await sdkLoaded() }));
await keyway.close();
process.exit(0);
`;

test('a gateway that serves no MCP never loads the SDK; its first MCP request does', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-mcp-runtime-'));
  try {
    await writeFile(join(dir, 'child.mjs'), CHILD);
    const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'child.mjs'), START, join(dir, 'data')], { cwd: process.cwd() });
    const seen = JSON.parse(stdout.trim().split('\n').pop()!) as { modules: number; models: number; atRest: boolean; mcpStatus: number; answer: string; afterMcp: boolean };
    assert.ok(seen.modules > 100, `the hook saw keyway's modules (${seen.modules})`);
    assert.equal(seen.models, 200);
    assert.equal(seen.atRest, false, 'started and served a request without the MCP SDK');
    assert.equal(seen.mcpStatus, 200, seen.answer);
    assert.match(seen.answer, /"protocolVersion":"2025-06-18"/, 'the SDK answered initialize');
    assert.equal(seen.afterMcp, true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the JSON-RPC codes keyway sends for a timeout and a closed connection are the SDK's", () => {
  assert.equal(RPC.REQUEST_TIMEOUT, ErrorCode.RequestTimeout);
  assert.equal(RPC.CONNECTION_CLOSED, ErrorCode.ConnectionClosed);
  assert.equal(RPC.INVALID_PARAMS, ErrorCode.InvalidParams);
});

test('a reload that names the first MCP server loads the SDK and connects the server', async () => {
  const local = await startMockMcpServer({ name: 'local', tools: [echoTool('echo')] });
  const grants = [{ src: ['admin@example.com'], app: { [CAP]: [{ role: 'admin' }, { mcp_tools: '**' }] } }];
  const stack = await startStack(() => JSON.stringify({ grants }), { identity: asHeader });
  try {
    await stack.keyway.mcp.ready();
    assert.deepEqual(stack.keyway.mcp.catalog.all(), [], 'no servers before the reload');
    const saved = await stack.keyway.runtime.save(JSON.stringify({ grants, mcp: { servers: { local: { url: local.url } } } }), stack.keyway.runtime.current.hash);
    assert.equal(saved.ok, true);
    await stack.keyway.mcp.ready();
    assert.deepEqual(stack.keyway.mcp.catalog.all().map((s) => [s.id, s.status]), [['local', 'up']]);
    const admin = await mcpClient(stack.url, 'admin');
    try {
      assert.ok((await admin.listTools()).tools.some((t) => t.name === 'local_echo'));
    } finally {
      await admin.close();
    }
  } finally {
    await stack.close();
    await local.close();
  }
});
