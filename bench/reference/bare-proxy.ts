/**
 * The bare Node reference: the least a Node gateway must do per request, and nothing
 * else: node:http server, read the body, JSON.parse it once, check `model`, forward the
 * original bytes with an undici Pool and stream the answer back. Its figures are the
 * floor for keyway on this machine and this Node version ("what Node costs"), next to
 * nginx ("what a proxy costs").
 *
 * usage: node build/bench/reference/bare-proxy.js PORT UPSTREAM_URL
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool } from 'undici';

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'content-length']);

const port = Number(process.argv[2]);
const upstream = process.argv[3] ?? '';
const pool = new Pool(upstream, { keepAliveTimeout: 30_000 });

function forward(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  const headers: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!HOP.has(name)) headers.push(name, raw[i + 1]!);
  }
  headers.push('content-length', String(body.length));
  pool
    .stream({ method: 'POST', path: req.url ?? '/', headers, body }, ({ statusCode, headers: h }) => {
      const out: Record<string, string | string[]> = {};
      for (const name in h) if (!HOP.has(name) || name === 'content-length') out[name] = h[name]!;
      res.writeHead(statusCode, out);
      return res;
    })
    .catch(() => res.destroy());
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    let model: unknown;
    try {
      model = (JSON.parse(body.toString('utf8')) as { model?: unknown }).model;
    } catch {
      model = undefined;
    }
    if (req.method !== 'POST' || typeof model !== 'string') {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad request"}');
      return;
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
