/**
 * The `tailscale` identity source: every caller is named by tailscaled's whois for the
 * connection's peer address. The answer is cached on the connection (keep-alive
 * connections pay one lookup, not one per request) for a short time, and concurrent
 * lookups of one address share a request. A failed, slow or empty lookup means no
 * identity: the request is refused, never served with fewer checks.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { APERTURE_CAP } from '../config/validate-sections.js';
import { taggedLogin, type Identity, type IdentitySource } from './identity.js';
import { whois, type WhoIsResponse } from './localapi.js';

export interface TailscaleIdentityOptions {
  socketPath: string;
  /** How long a connection keeps its identity before it is looked up again. */
  ttlMs?: number;
  /** Longest wait for tailscaled's answer. */
  timeoutMs?: number;
  log?: Logger;
}

interface Cached {
  identity: Identity | undefined;
  expires: number;
}

export function tailscaleIdentity(options: TailscaleIdentityOptions): IdentitySource {
  const ttl = options.ttlMs ?? 60_000; // 1 min: grants in the tailnet policy change rarely
  const timeout = options.timeoutMs ?? 2_000;
  const byConnection = new WeakMap<Socket, Cached>();
  const inFlight = new Map<string, Promise<Identity | undefined>>();

  const lookup = (addr: string): Promise<Identity | undefined> => {
    let pending = inFlight.get(addr);
    if (!pending) {
      pending = whois(options.socketPath, addr, timeout)
        .then(identityFromWhois)
        .catch((err: Error) => {
          options.log?.warn({ addr, err: err.message }, 'whois failed; caller refused');
          return undefined;
        })
        .finally(() => inFlight.delete(addr));
      inFlight.set(addr, pending);
    }
    return pending;
  };

  return {
    name: 'tailscale',
    identify(req: IncomingMessage) {
      const socket = req.socket;
      const now = Date.now();
      const cached = byConnection.get(socket);
      if (cached && cached.expires > now) return cached.identity;
      const ip = socket.remoteAddress;
      if (!ip) return undefined;
      const addr = ip.includes(':') ? `[${ip}]:${socket.remotePort}` : `${ip}:${socket.remotePort}`;
      return lookup(addr).then((identity) => {
        // Only successes are kept: a failure is retried on the next request.
        if (identity) byConnection.set(socket, { identity, expires: Date.now() + ttl });
        return identity;
      });
    },
  };
}

/**
 * identityFromWhois turns a whois answer into an Identity. A tagged device has no user;
 * its login is its tags sorted and comma-joined (`tag:api,tag:prod`), as in Aperture.
 * An answer with neither a login nor tags names nobody.
 */
export function identityFromWhois(w: WhoIsResponse): Identity | undefined {
  const tags = (w.Node?.Tags ?? []).filter((t): t is string => typeof t === 'string');
  const userLogin = w.UserProfile?.LoginName ?? '';
  const login = tags.length > 0 ? taggedLogin(tags) : userLogin;
  if (login === '' || login === 'tagged-devices') return undefined;
  const capMap: Record<string, readonly unknown[]> = {};
  const aperture = w.CapMap?.[APERTURE_CAP];
  if (Array.isArray(aperture)) capMap[APERTURE_CAP] = aperture;
  return Object.freeze({
    login,
    displayName: tags.length > 0 ? (w.Node?.ComputedName ?? login) : (w.UserProfile?.DisplayName ?? login),
    nodeId: w.Node?.StableID ?? '',
    tags: Object.freeze(tags),
    groups: Object.freeze((w.UserProfile?.Groups ?? []).filter((g): g is string => typeof g === 'string')),
    loopback: false,
    capMap: Object.freeze(capMap),
  });
}
