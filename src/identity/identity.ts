/**
 * Identity is who a caller is, as the network says: keyway hands out no API keys of its
 * own. Every request gets exactly one Identity (or none, and is refused) before anything
 * else happens to it. Where the identity comes from is an IdentitySource, chosen once at
 * start (`--identity`): tailscaled's whois, `tailscale serve` headers, or loopback only.
 */
import type { IncomingMessage } from 'node:http';

export interface Identity {
  /** Login name (`alice@example.com`), or for tagged devices their tags sorted and comma-joined. */
  login: string;
  displayName: string;
  /** Stable node ID of the caller's device, when known. */
  nodeId: string;
  tags: readonly string[];
  /** Tailscale or SCIM groups the caller belongs to (`group:eng`, `eng@example.com`). */
  groups: readonly string[];
  /** True for the local owner: a caller on this machine, matched by `(loopback)` grants. */
  loopback: boolean;
  /** Peer capabilities from the tailnet policy, by capability name. */
  capMap: Readonly<Record<string, readonly unknown[]>>;
}

/** An IdentitySource names the caller of a request; undefined means "nobody": refuse. */
export interface IdentitySource {
  readonly name: string;
  identify(req: IncomingMessage): Identity | undefined | Promise<Identity | undefined>;
  close?(): void;
}

/**
 * Connections accepted on keyway's unix socket (`--listen unix:PATH`): local callers,
 * like loopback ones, since only processes on this machine can reach the socket.
 */
const localSockets = new WeakSet<object>();

export function markLocalSocket(socket: object): void {
  localSockets.add(socket);
}

/** isLocalPeer reports whether a request came from this machine: loopback TCP or keyway's unix socket. */
export function isLocalPeer(req: IncomingMessage): boolean {
  return isLoopbackAddress(req.socket.remoteAddress) || localSockets.has(req.socket);
}

/** isLoopbackAddress reports whether a socket's remote address is a loopback address. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

/** LOCAL_OWNER is the identity of a caller on the gateway's own machine. */
export const LOCAL_OWNER: Identity = Object.freeze({
  login: 'local-owner',
  displayName: 'Local owner',
  nodeId: '',
  tags: Object.freeze([]),
  groups: Object.freeze([]),
  loopback: true,
  capMap: Object.freeze({}),
});

/** loopbackIdentity accepts only callers on this machine, as the local owner. */
export const loopbackIdentity: IdentitySource = {
  name: 'loopback',
  identify(req) {
    return isLocalPeer(req) ? LOCAL_OWNER : undefined;
  },
};

/** taggedLogin is the login Aperture gives a tagged device: its tags, sorted, comma-joined. */
export function taggedLogin(tags: readonly string[]): string {
  return [...tags].sort().join(',');
}
