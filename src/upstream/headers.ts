/**
 * Which request headers travel upstream, and how credentials are attached.
 *
 * Policy: forward what the client sent except a short, explicit deny list. A deny list
 * rather than an allow list because clients keep adding headers their provider needs
 * (`anthropic-beta` values, `chatgpt-account-id`, `x-stainless-*`, `x-goog-api-client`);
 * what must never cross (connection headers, cookies, forwarding and identity headers,
 * credentials outside passthrough) is a small, known set, checked here and pinned by tests.
 */
import type { CompiledProvider } from '../config/snapshot.js';

/** Hop-by-hop (RFC 9110 §7.6.1) and framing headers: never forwarded in either direction. */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authenticate', 'proxy-authorization',
]);

/** Request headers that describe the client's connection to keyway, not the API call. */
const REQUEST_DROP = new Set([
  ...HOP_BY_HOP,
  'host', 'content-length', 'expect', 'cookie', 'forwarded', 'x-real-ip', 'origin', 'referer',
]);

/** Headers that carry an API credential, in any of the providers' styles. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'x-api-key', 'x-goog-api-key', 'api-key']);

export type HeaderList = string[]; // flat [name, value, name, value, …], as undici accepts

export interface UpstreamHeaders {
  headers: HeaderList;
  /** Where the credential that went upstream came from. */
  credentialSource: 'client' | 'fallback' | 'provider' | 'none';
  /** The client's own credential (passthrough only), for a one-way fingerprint; never stored. */
  clientCredential: string | undefined;
}

/**
 * buildUpstreamHeaders filters the client's raw headers and applies the provider's
 * auth_mode. `clientQueryCredential` is the key a client put in the URL (Gemini
 * `?key=`), which counts as bringing a credential.
 *
 * - passthrough: the client's credential headers go through unchanged and the provider
 *   key is never added beside them; with no client credential the fallback key (if any)
 *   is sent in the provider's authorization style.
 * - override: every client credential is removed, then the provider key is injected.
 * - none: every credential is removed.
 */
export function buildUpstreamHeaders(
  rawHeaders: readonly string[],
  provider: CompiledProvider,
  extraHeaders: ReadonlyArray<readonly [string, string]>,
  clientQueryCredential: string | undefined,
): UpstreamHeaders {
  const passthrough = provider.spec.authMode === 'passthrough';
  const connectionNamed = connectionTokens(rawHeaders);
  const out: HeaderList = [];
  let clientCredential = clientQueryCredential !== undefined;
  let credentialValue = clientQueryCredential;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (REQUEST_DROP.has(name) || name.startsWith('x-forwarded-') || name.startsWith('tailscale-')) continue;
    if (connectionNamed !== undefined && connectionNamed.has(name)) continue;
    if (CREDENTIAL_HEADERS.has(name)) {
      if (!passthrough) continue;
      clientCredential = true;
      credentialValue ??= rawHeaders[i + 1]!;
    }
    out.push(name, rawHeaders[i + 1]!);
  }

  let credentialSource: UpstreamHeaders['credentialSource'] = 'none';
  if (passthrough) {
    if (clientCredential) credentialSource = 'client';
    else if (provider.keyHeader) {
      out.push(provider.keyHeader[0], provider.keyHeader[1]);
      credentialSource = 'fallback';
    }
  } else if (provider.spec.authMode === 'override' && provider.keyHeader) {
    out.push(provider.keyHeader[0], provider.keyHeader[1]);
    credentialSource = 'provider';
  }

  // Provider, then grant, add_headers replace any same-named header already present.
  for (const list of [provider.spec.addHeaders, extraHeaders]) {
    for (const [name, value] of list) setHeader(out, name.toLowerCase(), value);
  }
  return { headers: out, credentialSource, clientCredential: passthrough && clientCredential ? credentialValue : undefined };
}

function setHeader(list: HeaderList, name: string, value: string): void {
  for (let i = list.length - 2; i >= 0; i -= 2) {
    if (list[i] === name) list.splice(i, 2);
  }
  list.push(name, value);
}

/** connectionTokens returns the header names listed in Connection (RFC 9110 §7.6.1). */
function connectionTokens(rawHeaders: readonly string[]): Set<string> | undefined {
  let out: Set<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.length === 10 && rawHeaders[i]!.toLowerCase() === 'connection') {
      for (const token of rawHeaders[i + 1]!.split(',')) {
        const t = token.trim().toLowerCase();
        if (t !== '' && t !== 'close' && t !== 'keep-alive') (out ??= new Set()).add(t);
      }
    }
  }
  return out;
}

/** RESPONSE_DROP: upstream response headers that are not relayed to the client. */
const RESPONSE_DROP = new Set([
  ...HOP_BY_HOP,
  // A provider's cookies belong to its own domain, not to keyway's (which serves the dashboard).
  'set-cookie',
]);

/** filterResponseHeaders drops hop-by-hop headers (and those named in Connection) from an upstream response. */
export function filterResponseHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const named = typeof headers.connection === 'string' ? headers.connection.toLowerCase().split(',').map((s) => s.trim()) : [];
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || RESPONSE_DROP.has(name) || named.includes(name)) continue;
    // keyway alone decides which web origins may read its answers (server/browser-guard.ts).
    if (name.startsWith('access-control-')) continue;
    out[name] = value;
  }
  return out;
}

/**
 * forwardableHeaders is the client's request headers as they may travel to a connector
 * (an HTTP API keyway calls with its own credential): the same deny list as for
 * providers, and every credential header removed, since the connector's credential is
 * keyway's to add and the client's must never reach a third party.
 */
export function forwardableHeaders(rawHeaders: readonly string[]): HeaderList {
  const connectionNamed = connectionTokens(rawHeaders);
  const out: HeaderList = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (REQUEST_DROP.has(name) || name.startsWith('x-forwarded-') || name.startsWith('tailscale-') || CREDENTIAL_HEADERS.has(name)) continue;
    if (connectionNamed !== undefined && connectionNamed.has(name)) continue;
    out.push(name, rawHeaders[i + 1]!);
  }
  return out;
}
