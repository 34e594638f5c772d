/**
 * The `serve-headers` identity source, for keyway behind `tailscale serve` on loopback.
 * tailscale serve deletes any incoming `Tailscale-*` identity headers and sets its own,
 * so they are trusted only from a local peer (serve itself): loopback, or keyway's unix
 * socket. From any other peer they are ignored, and they are never forwarded upstream
 * (see upstream/headers.ts). On loopback TCP every local process could send them too;
 * a unix socket only tailscale serve can reach closes that (docs/identity.md).
 *
 * A loopback request without `Tailscale-User-Login` either came through serve from a
 * caller serve does not name (a tagged device, a funnel request: it then carries
 * `X-Forwarded-For` or `Tailscale-Funnel-Request`) and is refused, or came from this
 * machine directly and is the local owner.
 */
import type { IncomingMessage } from 'node:http';
import { APERTURE_CAP } from '../config/validate-sections.js';
import { LOCAL_OWNER, isLocalPeer, type Identity, type IdentitySource } from './identity.js';
import { decodeRfc2047 } from './rfc2047.js';

export const serveHeadersIdentity: IdentitySource = {
  name: 'serve-headers',
  identify(req: IncomingMessage): Identity | undefined {
    if (!isLocalPeer(req)) return undefined;
    const h = req.headers;
    if (h['tailscale-funnel-request'] !== undefined) return undefined;
    const rawLogin = h['tailscale-user-login'];
    if (typeof rawLogin !== 'string' || rawLogin === '') {
      return h['x-forwarded-for'] === undefined ? LOCAL_OWNER : undefined;
    }
    const rawName = h['tailscale-user-name'];
    const rawCaps = h['tailscale-app-capabilities'];
    // The same headers always make the same identity, so it is built once and reused: a
    // snapshot evaluates grants once per identity object (Snapshot.accessFor), and serve
    // sends the headers with every request.
    const key = `${rawLogin}\n${typeof rawName === 'string' ? rawName : ''}\n${typeof rawCaps === 'string' ? rawCaps : ''}`;
    const known = identities.get(key);
    if (known !== undefined) return known ?? undefined;
    const identity = fromHeaders(rawLogin, rawName, rawCaps);
    if (identities.size >= MAX_IDENTITIES) identities.clear();
    identities.set(key, identity ?? null);
    return identity;
  },
};

/** Identities by their raw headers; null for headers that name nobody. Bounded: cleared when full. */
const identities = new Map<string, Identity | null>();
const MAX_IDENTITIES = 10_000;

function fromHeaders(rawLogin: string, rawName: string | string[] | undefined, rawCaps: string | string[] | undefined): Identity | undefined {
  const login = decodeRfc2047(rawLogin);
  if (login === '') return undefined;
  const name = typeof rawName === 'string' ? decodeRfc2047(rawName) : '';
  return Object.freeze({
    login,
    displayName: name || login,
    nodeId: '',
    tags: [],
    groups: [],
    loopback: false,
    capMap: parseAppCapabilities(rawCaps),
  });
}

/** parseAppCapabilities reads `Tailscale-App-Capabilities: {"<cap>": [...]}`; anything malformed grants nothing. */
function parseAppCapabilities(header: string | string[] | undefined): Record<string, readonly unknown[]> {
  if (typeof header !== 'string' || header === '') return {};
  try {
    const value = JSON.parse(decodeRfc2047(header)) as Record<string, unknown>;
    const aperture = value?.[APERTURE_CAP];
    return Array.isArray(aperture) ? { [APERTURE_CAP]: aperture } : {};
  } catch {
    return {};
  }
}
