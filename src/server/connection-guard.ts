/**
 * Slow and greedy clients. Node's own `headersTimeout` bounds a request whose headers
 * trickle in, but not a connection that sends nothing at all, and nothing bounds how
 * many connections one peer holds open. guardConnections adds both: a connection that
 * has not sent its first byte within the header timeout is closed, and a peer over its
 * connection cap gets 503 and a closed connection (logged once a minute per peer).
 * Response streams are never cut: none of this runs once a request has arrived.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ClientLimits } from './context.js';

const OVER_CAP_BODY = JSON.stringify({ error: 'too many open connections from this address', code: 'TOO_MANY_CONNECTIONS' });
const OVER_CAP_RESPONSE = `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: ${Buffer.byteLength(OVER_CAP_BODY)}\r\n\r\n${OVER_CAP_BODY}`;
const LOG_EVERY_MS = 60_000;

export function guardConnections(server: Server, limits: ClientLimits, log: Logger): void {
  const open = new Map<string, number>();
  const lastLogged = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => socket.destroy(), limits.headerTimeoutMs);
    timer.unref();
    socket.once('data', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));

    if (limits.maxConnectionsPerPeer <= 0) return;
    const peer = socket.remoteAddress ?? 'local';
    const count = (open.get(peer) ?? 0) + 1;
    if (count > limits.maxConnectionsPerPeer) {
      const now = Date.now();
      if ((lastLogged.get(peer) ?? 0) + LOG_EVERY_MS <= now) {
        if (lastLogged.size > 1000) lastLogged.clear();
        lastLogged.set(peer, now);
        log.warn({ peer, limit: limits.maxConnectionsPerPeer }, 'connection refused: this peer has too many open connections (--max-connections-per-peer)');
      }
      socket.on('error', () => {});
      socket.end(OVER_CAP_RESPONSE, () => socket.destroy());
      return;
    }
    open.set(peer, count);
    socket.once('close', () => {
      const left = (open.get(peer) ?? 1) - 1;
      if (left <= 0) open.delete(peer);
      else open.set(peer, left);
    });
  });
}
