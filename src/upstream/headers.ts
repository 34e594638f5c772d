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
import type { AuthorizationStyle } from '../config/types.js';

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

/**
 * The parts of a client's AWS SigV4 signature besides its `Authorization` header: they
 * travel only with the client's own credential (passthrough), exactly as sent, and are
 * dropped whenever keyway supplies the credential (and may sign the request itself).
 */
const SIGV4_HEADERS: ReadonlySet<string> = new Set(['x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256']);

export type HeaderList = string[]; // flat [name, value, name, value, …], as undici accepts

export interface UpstreamHeaders {
  headers: HeaderList;
  /** Where the credential that went upstream came from. */
  credentialSource: 'client' | 'fallback' | 'provider' | 'none';
  /** The client's own credential (passthrough only), for a one-way fingerprint; never stored. */
  clientCredential: string | undefined;
  /**
   * The provider's credential goes upstream but is made per request (a keyfile's access
   * token, a SigV4 signature over the final request): the caller adds it with UpstreamCredentials.headersFor (upstream/credentials).
   */
  mint: boolean;
}

/**
 * buildUpstreamHeaders filters the client's raw headers and applies the provider's
 * auth_mode. `clientQueryCredential` is the key a client put in the URL (Gemini
 * `?key=`), which counts as bringing a credential.
 *
 * - passthrough: the client's credential headers (and the rest of its SigV4 signature)
 *   go through unchanged and the provider key is never added beside them; with no client
 *   credential the fallback key (if any) is sent in the provider's authorization style.
 * - override: every client credential is removed, then the provider key is injected.
 * - none: every credential is removed.
 */
export function buildUpstreamHeaders(
  rawHeaders: readonly string[],
  provider: CompiledProvider,
  extraHeaders: ReadonlyArray<readonly [string, string]>,
  clientQueryCredential: string | undefined,
  /**
   * Translation: the client spoke another API, so its credential (any header, or `?key=`)
   * is re-sent once, in the provider's `authorization` style, instead of unchanged.
   */
  restyleCredential = false,
): UpstreamHeaders {
  const passthrough = provider.spec.authMode === 'passthrough';
  const connectionNamed = connectionTokens(rawHeaders);
  const out: HeaderList = [];
  let clientCredential = clientQueryCredential !== undefined;
  let credentialValue = clientQueryCredential;
  let sigv4: HeaderList | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    // HTTP/2 pseudo-headers (`:path`, `:authority`) describe the client's own request.
    if (name.charCodeAt(0) === 0x3a || REQUEST_DROP.has(name) || name.startsWith('x-forwarded-') || name.startsWith('tailscale-')) continue;
    if (connectionNamed !== undefined && connectionNamed.has(name)) continue;
    if (SIGV4_HEADERS.has(name)) {
      if (passthrough) (sigv4 ??= []).push(name, rawHeaders[i + 1]!);
      continue;
    }
    if (CREDENTIAL_HEADERS.has(name)) {
      if (!passthrough) continue;
      clientCredential = true;
      credentialValue ??= rawHeaders[i + 1]!;
      if (restyleCredential) continue;
    }
    out.push(name, rawHeaders[i + 1]!);
  }
  if (restyleCredential && passthrough && credentialValue !== undefined) {
    const [name, value] = credentialHeader(provider.spec.authorization, bearerToken(credentialValue));
    out.push(name, value);
  }

  let credentialSource: UpstreamHeaders['credentialSource'] = 'none';
  const ownCredential = provider.keyHeader !== undefined || provider.minted !== undefined;
  if (passthrough) {
    if (clientCredential) {
      credentialSource = 'client';
      if (sigv4) out.push(...sigv4);
    } else if (ownCredential) credentialSource = 'fallback';
  } else if (provider.spec.authMode === 'override' && ownCredential) {
    credentialSource = 'provider';
  }
  const own = credentialSource === 'fallback' || credentialSource === 'provider';
  if (own && provider.keyHeader) out.push(provider.keyHeader[0], provider.keyHeader[1]);

  // Provider, then grant, add_headers replace any same-named header already present.
  for (const list of [provider.spec.addHeaders, extraHeaders]) {
    for (const [name, value] of list) setHeader(out, name.toLowerCase(), value);
  }
  return { headers: out, credentialSource, clientCredential: passthrough && clientCredential ? credentialValue : undefined, mint: own && provider.minted !== undefined };
}

/** carriesCredential reports whether an upstream header list (names lower case) holds any credential header. */
export function carriesCredential(headers: HeaderList): boolean {
  for (let i = 0; i < headers.length; i += 2) if (CREDENTIAL_HEADERS.has(headers[i]!)) return true;
  return false;
}

/** credentialHeader is a credential as a provider with this `authorization` style expects it. */
export function credentialHeader(style: AuthorizationStyle, token: string): [string, string] {
  if (style === 'x-api-key' || style === 'x-goog-api-key') return [style, token];
  return ['authorization', `Bearer ${token}`];
}

/** bearerToken is the token of an `Authorization: Bearer …` value, or the value itself. */
function bearerToken(value: string): string {
  return value.length > 7 && value.slice(0, 7).toLowerCase() === 'bearer ' ? value.slice(7).trim() : value;
}

/** setHeader replaces every header `name` (lower case) in the list with one `value`. */
export function setHeader(list: HeaderList, name: string, value: string): void {
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
    // keyway alone decides which web origins may read its answers (server/browser-guard.ts),
    // and its own headers (the request id) are its own.
    if (name.startsWith('access-control-') || name.startsWith('x-keyway-')) continue;
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
