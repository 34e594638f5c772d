/**
 * Identity is who a caller is, as the network says: keyway hands out no API keys of its
 * own. Every request gets exactly one Identity (or none, and is refused) before anything
 * else happens to it.
 */
export interface Identity {
  /** Login name (`alice@example.com`), or for tagged devices their tags sorted and comma-joined. */
  login: string;
  displayName: string;
  /** Stable node ID of the caller's device, when known. */
  nodeId: string;
  tags: readonly string[];
  /** Tailscale or SCIM groups the caller belongs to (`group:eng`, `eng@example.com`). */
  groups: readonly string[];
  /** True when the caller connected from this machine's loopback address. */
  loopback: boolean;
  /** Peer capabilities from the tailnet policy, by capability name. */
  capMap: Readonly<Record<string, readonly unknown[]>>;
}

/** isLoopbackAddress reports whether a socket's remote address is a loopback address. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

/** LOCAL_OWNER is the identity of a loopback caller in the embedded (loopback) mode. */
export const LOCAL_OWNER: Identity = Object.freeze({
  login: 'local-owner',
  displayName: 'Local owner',
  nodeId: '',
  tags: [],
  groups: [],
  loopback: true,
  capMap: {},
});

/** An IdentitySource resolves the caller of a connection; undefined means "nobody": refuse. */
export interface IdentitySource {
  readonly name: string;
  identify(remoteAddress: string | undefined, remotePort: number | undefined): Identity | undefined | Promise<Identity | undefined>;
}

/** loopbackIdentity accepts only callers on this machine, as the local owner. */
export const loopbackIdentity: IdentitySource = {
  name: 'loopback',
  identify(remoteAddress) {
    return isLoopbackAddress(remoteAddress) ? LOCAL_OWNER : undefined;
  },
};
