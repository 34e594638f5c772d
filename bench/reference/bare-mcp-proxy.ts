/**
 * The bare Node reference for MCP: the least a Node gateway does to pass one MCP server
 * through, and nothing else. node:http server, read the body, JSON.parse it once, forward
 * the original bytes (any method, to the server's MCP path) with an undici Pool and
 * stream the answer back as the server wrote it (its SSE stays SSE). No identity, grants,
 * name prefixes, telemetry or JSON-RPC rewriting: its added time is the floor for keyway's
 * tool call on this machine (two extra HTTP exchanges through Node), next to the target.
 *
 * usage: node build/bench/reference/bare-mcp-proxy.js PORT MCP_SERVER_URL
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool } from 'undici';

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'content-length']);

const port = Number(process.argv[2]);
const upstream = new URL(process.argv[3] ?? '');
const pool = new Pool(upstream.origin, { keepAliveTimeout: 30_000 });

function forward(req: IncomingMessage, res: ServerResponse, body: Buffer | undefined): void {
  const headers: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!HOP.has(name)) headers.push(name, raw[i + 1]!);
  }
  if (body) headers.push('content-length', String(body.length));
  pool
    .stream({ method: (req.method ?? 'GET') as 'GET', path: upstream.pathname, headers, body }, ({ statusCode, headers: h }) => {
      const out: Record<string, string | string[]> = {};
      for (const name in h) if (!HOP.has(name) || name === 'content-length') out[name] = h[name]!;
      res.writeHead(statusCode, out);
      // A stream without a length (the GET notification stream) starts at once.
      if (h['content-length'] === undefined) res.flushHeaders();
      return res;
    })
    .catch(() => res.destroy());
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = chunks.length === 0 ? undefined : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    if (body) {
      try {
        JSON.parse(body.toString('utf8'));
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}');
        return;
      }
    }
    forward(req, res, body);
  });
});

server.listen(port, '127.0.0.1');
const stop = () => {
  server.close();
  server.closeAllConnections();
  void pool.close();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
