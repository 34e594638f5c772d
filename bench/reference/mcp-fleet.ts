/**
 * The MCP scenario's upstreams, in a process of their own: `count` mock MCP servers
 * (src/mock-upstream/mcp-server.ts) of `tools` tools each, every tool with a small
 * realistic input schema, tool 0 of each an echo. It answers GET / on `port` with the
 * servers' URLs once they all listen.
 *
 *   node build/bench/reference/mcp-fleet.js <port> <count> <tools>
 */
import { createServer } from 'node:http';
import { echoTool, startMockMcpServer, type MockTool } from '../../src/mock-upstream/mcp-server.js';

const [port, count, tools] = process.argv.slice(2).map(Number) as [number, number, number];

function toolsFor(server: number): MockTool[] {
  const out: MockTool[] = [echoTool('echo')];
  for (let t = 1; t < tools; t++) {
    out.push({
      name: `tool_${t}`,
      description: `Tool ${t} of server ${server}: looks something up and returns a short answer`,
      inputSchema: { type: 'object', properties: { query: { type: 'string', description: 'what to look up' }, limit: { type: 'integer', minimum: 1, maximum: 100 } }, required: ['query'] },
    });
  }
  return out;
}

const servers = await Promise.all(Array.from({ length: count }, (_, i) => startMockMcpServer({ name: `s${i}`, tools: toolsFor(i) })));
// The mock records every request; a benchmark run would grow that without bound.
setInterval(() => {
  for (const s of servers) {
    s.requests.length = 0;
    s.calls.length = 0;
  }
}, 1000).unref();
const urls = JSON.stringify(servers.map((s) => s.url));
createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(urls)).listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
