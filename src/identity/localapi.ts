/**
 * A minimal client for tailscaled's LocalAPI over its unix socket: just what keyway needs
 * (whois and a liveness probe). tailscaled refuses LocalAPI requests that carry Origin or
 * Referer, or a Host other than `local-tailscaled.sock`, so requests are built by hand.
 */
import { request } from 'node:http';

export const DEFAULT_TAILSCALE_SOCKET = '/var/run/tailscale/tailscaled.sock';

/** The parts of tailscaled's `apitype.WhoIsResponse` keyway reads. */
export interface WhoIsResponse {
  Node?: { StableID?: string; Name?: string; ComputedName?: string; Tags?: string[] };
  UserProfile?: { LoginName?: string; DisplayName?: string; Groups?: string[] };
  CapMap?: Record<string, unknown[]>;
}

export class LocalApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'LocalApiError';
  }
}

/** localApiGet fetches a LocalAPI path and parses its JSON; it fails on non-200 answers and after `timeoutMs`. */
export function localApiGet<T>(socketPath: string, path: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET', headers: { Host: 'local-tailscaled.sock' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new LocalApiError(`LocalAPI ${path.split('?')[0]}: ${res.statusCode} ${text.trim().slice(0, 200)}`, res.statusCode ?? 0));
        try {
          resolve(JSON.parse(text) as T);
        } catch {
          reject(new LocalApiError(`LocalAPI ${path.split('?')[0]}: answer is not JSON`, 200));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new LocalApiError(`LocalAPI ${path.split('?')[0]}: no answer in ${timeoutMs} ms`, 0)));
    req.on('error', reject);
    req.end();
  });
}

/** whois asks tailscaled who is behind a peer address (`IP:port`, IPv6 in brackets). */
export function whois(socketPath: string, addr: string, timeoutMs: number): Promise<WhoIsResponse> {
  return localApiGet<WhoIsResponse>(socketPath, `/localapi/v0/whois?addr=${encodeURIComponent(addr)}`, timeoutMs);
}
