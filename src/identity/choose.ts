/**
 * chooseIdentitySource turns the `--identity` setting into a source, and for `auto`
 * decides between `tailscale` and `loopback` by asking whether tailscaled answers.
 * The reason is returned so the startup log can say why.
 */
import type { Logger } from 'pino';
import { loopbackIdentity, type IdentitySource } from './identity.js';
import { localApiGet } from './localapi.js';
import { serveHeadersIdentity } from './serve-headers.js';
import { tailscaleIdentity } from './tailscale.js';

export const IDENTITY_MODES = ['loopback', 'tailscale', 'serve-headers', 'auto'] as const;
export type IdentityMode = (typeof IDENTITY_MODES)[number];

export interface ChosenIdentity {
  source: IdentitySource;
  reason: string;
}

export async function chooseIdentitySource(mode: IdentityMode, socketPath: string, log?: Logger): Promise<ChosenIdentity> {
  switch (mode) {
    case 'loopback':
      return { source: loopbackIdentity, reason: 'configured: only callers on this machine, as the local owner' };
    case 'serve-headers':
      return { source: serveHeadersIdentity, reason: 'configured: identity headers from tailscale serve on loopback' };
    case 'tailscale':
      return { source: tailscaleIdentity({ socketPath, log }), reason: `configured: whois through ${socketPath}` };
    case 'auto':
      try {
        await localApiGet(socketPath, '/localapi/v0/status?peers=false', 2000);
        return { source: tailscaleIdentity({ socketPath, log }), reason: `auto: tailscaled answers on ${socketPath}` };
      } catch (err) {
        return { source: loopbackIdentity, reason: `auto: tailscaled does not answer on ${socketPath} (${(err as Error).message}); serving loopback callers only` };
      }
  }
}
