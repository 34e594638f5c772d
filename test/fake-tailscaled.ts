/**
 * A LocalAPI-protocol test server on a unix socket that answers `whois` the way
 * tailscaled does (including its refusals of requests with Origin, Referer or a foreign
 * Host). Peers are keyed by IP; tests connect from different 127.0.0.x source addresses.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WhoIsResponse } from '../src/identity/localapi.js';

export type Peer = WhoIsResponse | { status: number; body: string } | { delayMs: number; then: WhoIsResponse };

export interface FakeTailscaled {
  socketPath: string;
  /** Every whois `addr` asked for, in order. */
  lookups: string[];
  peers: Map<string, Peer>;
  close(): Promise<void>;
}

/** `self` is what `/localapi/v0/status` says about this node (its MagicDNS name and tailnet IPs). */
export async function startFakeTailscaled(peers: Record<string, Peer>, self?: { DNSName: string; TailscaleIPs: string[] }): Promise<FakeTailscaled> {
  const dir = await mkdtemp(join(tmpdir(), 'fake-tailscaled-'));
  const socketPath = join(dir, 'tailscaled.sock');
  const lookups: string[] = [];
  const table = new Map(Object.entries(peers));
  const server: Server = createServer((req, res) => {
    if (req.headers.host !== 'local-tailscaled.sock' || req.headers.origin || req.headers.referer) {
      res.writeHead(403).end('invalid localapi request');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://local-tailscaled.sock');
    if (url.pathname === '/localapi/v0/status') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ BackendState: 'Running', ...(self ? { Self: self } : {}) }));
      return;
    }
    if (url.pathname !== '/localapi/v0/whois') {
      res.writeHead(404).end('not found');
      return;
    }
    const addr = url.searchParams.get('addr');
    if (!addr) {
      res.writeHead(400).end("missing 'addr' parameter");
      return;
    }
    lookups.push(addr);
    const ip = addr.startsWith('[') ? addr.slice(1, addr.indexOf(']')) : addr.slice(0, addr.lastIndexOf(':'));
    const peer = table.get(ip);
    const send = (p: WhoIsResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(p));
    if (!peer) res.writeHead(404).end(`no match for IP:port ${addr}`);
    else if ('status' in peer) res.writeHead(peer.status).end(peer.body);
    else if ('delayMs' in peer) setTimeout(() => send(peer.then), peer.delayMs);
    else send(peer);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    lookups,
    peers: table,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
