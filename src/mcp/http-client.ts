/**
 * The HTTP client keyway uses for MCP servers, connectors and token endpoints: one undici
 * Agent whose DNS lookup refuses addresses keyway must never call (url-safety.ts), so a
 * name that resolves to a metadata service or a link-local address is refused at
 * connection time, whatever validation saw. IP literals are checked at validation and
 * registration, since connecting to one resolves nothing.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { Agent, fetch as undiciFetch, type Dispatcher } from 'undici';
import { unsafeAddressReason } from '../upstream/url-safety.js';
import type { UpstreamAuth } from './auth.js';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** safeLookup resolves like dns.lookup and fails when any address is one keyway refuses. */
export function safeLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    for (const a of addresses) {
      const reason = unsafeAddressReason(a.address);
      if (reason) {
        const refused = Object.assign(new Error(`keyway refuses to connect to ${hostname}: ${reason}`), { code: 'EUNSAFEADDRESS' });
        return callback(refused, []);
      }
    }
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
    callback(null, first.address, first.family);
  });
}

export interface McpHttpSettings {
  connectTimeoutMs: number;
  /** Time to the response headers; an SSE answer to a long tool call starts at once. */
  headersTimeoutMs: number;
  /** Longest silence inside a response body (an SSE stream has keep-alives). */
  bodyTimeoutMs: number;
}

export const DEFAULT_MCP_HTTP: McpHttpSettings = { connectTimeoutMs: 5_000, headersTimeoutMs: 300_000, bodyTimeoutMs: 0 };

/** createMcpAgent returns the Agent all MCP traffic goes through. */
export function createMcpAgent(settings: McpHttpSettings = DEFAULT_MCP_HTTP): Agent {
  return new Agent({
    connect: { timeout: settings.connectTimeoutMs, lookup: safeLookup as never },
    headersTimeout: settings.headersTimeoutMs,
    bodyTimeout: settings.bodyTimeoutMs,
    keepAliveTimeout: 30_000,
  });
}

export type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * authenticatedFetch is the fetch the SDK's client transports use for one server: through
 * `dispatcher`, with the server's credential header set on every request (so a refreshed
 * OAuth token is used at once), and one retry with a fresh token when the server answers
 * 401 to a token that may have expired early.
 */
export function authenticatedFetch(dispatcher: Dispatcher, auth: UpstreamAuth): FetchLike {
  const send = async (url: string | URL, init: RequestInit | undefined, fresh: boolean): Promise<Response> => {
    const headers = new Headers(init?.headers);
    const credential = await auth.header(fresh);
    if (credential) headers.set(credential[0], credential[1]);
    // The SDK's transport passes one long-lived signal to every request, and fetch leaves an
    // abort listener on it per request (2026-12, SDK 1.32: a MaxListenersExceededWarning
    // after ~1,500 requests, and memory held for as long as the session lives). A signal of
    // its own per request, following the SDK's through AbortSignal.any (weak references,
    // no listener), keeps aborting working without the leak.
    const signal = init?.signal ? AbortSignal.any([init.signal]) : undefined;
    return (await undiciFetch(url, { ...(init as object), headers, dispatcher, signal } as never)) as unknown as Response;
  };
  return async (url, init) => {
    const res = await send(url, init, false);
    if (res.status !== 401 || !auth.refreshable || (init?.body !== undefined && typeof init.body !== 'string')) return res;
    await res.body?.cancel().catch(() => {});
    return send(url, init, true);
  };
}
