/**
 * The MCP measuring client (its own process): the official SDK's client calls one tool
 * alternately on an upstream directly and on the same tool through keyway, at
 * concurrency 1, and then times `tools/list` on keyway as raw HTTP (the time to the whole
 * answer; no client-side parsing, which would measure the client). With a bare proxy's URL
 * (reference/bare-mcp-proxy.ts), it then calls the same tool alternately directly and through
 * that proxy, in a loop of its own after keyway's (so keyway's pair is measured as
 * before): the floor for any Node proxy on this machine. Prints one JSON line.
 *
 * Before measuring, `warm-rounds` rounds of calls rotate over direct, keyway and the bare
 * proxy, each round on clients of its own (see the note on listeners below): the
 * servers' JIT reaches its steady state, which a few hundred calls do not. Without it the
 * added time fell from repeat to repeat of one run (+1.35, +0.82, +0.66, +0.47, +0.44 ms
 * over five repeats of 1,200 calls), and the median measured a gateway still warming up.
 *
 *   node build/bench/clients/mcp.js <direct-url> <keyway-url> <calls> <expected-tools> <warm-rounds> [<bare-url>]
 */
import { request } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { summarize } from '../lib/stats.js';

const [directUrl, keywayUrl, callsArg, expectedArg, warmArg, bareUrl] = process.argv.slice(2) as [string, string, string, string, string, string | undefined];
const calls = Number(callsArg);
const expected = Number(expectedArg);
const warmRounds = Number(warmArg);
/** Calls per side and warm-up round: under the SDK client's listener limit (below). */
const WARM_CALLS = 1000;

async function connect(url: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: 'bench', version: '1' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  return { client, transport };
}

const direct = await connect(directUrl);
const keyway = await connect(`${keywayUrl}/v1/mcp`);

// keyway lists its servers in the background after start: wait until all tools are there.
const deadline = Date.now() + 30_000;
let listed = 0;
while (Date.now() < deadline) {
  listed = (await keyway.client.listTools()).tools.length;
  if (listed >= expected) break;
  await new Promise((r) => setTimeout(r, 200));
}

const call = async (c: Client, name: string) => {
  const t0 = performance.now();
  await c.callTool({ name, arguments: { text: 'bench' } });
  return performance.now() - t0;
};
for (let round = 0; round < warmRounds; round++) {
  const sides = [{ ...(await connect(directUrl)), tool: 'echo' }, { ...(await connect(`${keywayUrl}/v1/mcp`)), tool: 's0_echo' }];
  if (bareUrl) sides.push({ ...(await connect(bareUrl)), tool: 'echo' });
  for (let i = 0; i < WARM_CALLS; i++) for (const side of sides) await call(side.client, side.tool);
  await Promise.all(sides.map((side) => side.client.close()));
}
const d: number[] = [];
const k: number[] = [];
for (let i = 0; i < 200; i++) {
  await call(direct.client, 'echo');
  await call(keyway.client, 's0_echo');
}
for (let i = 0; i < calls; i++) {
  // Alternating: both sides see the same machine state.
  d.push(await call(direct.client, 'echo'));
  k.push(await call(keyway.client, 's0_echo'));
}

// The bare proxy, against direct, after keyway's measurement (never interleaved with it).
const bd: number[] = [];
const b: number[] = [];
if (bareUrl) {
  const bare = await connect(bareUrl);
  for (let i = 0; i < 200; i++) {
    await call(direct.client, 'echo');
    await call(bare.client, 'echo');
  }
  for (let i = 0; i < calls; i++) {
    bd.push(await call(direct.client, 'echo'));
    b.push(await call(bare.client, 'echo'));
  }
  await bare.client.close();
}

/** One raw tools/list on keyway's session: milliseconds to the last byte, and the size. */
function rawList(): Promise<{ ms: number; bytes: number }> {
  const url = new URL(`${keywayUrl}/v1/mcp`);
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': keyway.transport.sessionId!, 'mcp-protocol-version': '2025-06-18', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => (res.statusCode === 200 ? resolve({ ms: performance.now() - t0, bytes }) : reject(new Error(`tools/list: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const lists: number[] = [];
let bytes = 0;
for (let i = 0; i < 20; i++) await rawList();
for (let i = 0; i < 200; i++) {
  const r = await rawList();
  lists.push(r.ms);
  bytes = r.bytes;
}
await Promise.all([direct.client.close(), keyway.client.close()]);
const bareResult = bareUrl ? { bareDirect: summarize(bd), bare: summarize(b) } : {};
process.stdout.write(`${JSON.stringify({ listed, direct: summarize(d), keyway: summarize(k), ...bareResult, list: summarize(lists), listBytes: bytes })}\n`);
process.exit(0);
