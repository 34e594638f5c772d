/**
 * The credential keyway sends to one MCP server or connector, from its `auth` spec. Static
 * kinds are a ready header; `oauth2_client_credentials` fetches a token from the token
 * endpoint (RFC 6749 §4.4), keeps it until shortly before it expires, and fetches a new
 * one when asked for a fresh one (after a 401). Secrets never leave this module except in
 * the header itself: errors name the status, never the body or the secret.
 */
import type { Dispatcher } from 'undici';
import { fetch as undiciFetch } from 'undici';
import type { McpAuthSpec } from '../config/types.js';

export interface UpstreamAuth {
  /** header returns the credential header, or undefined for none; `fresh` skips a cached token. */
  header(fresh?: boolean): Promise<readonly [string, string] | undefined>;
  /** Whether a 401 is worth one retry with a fresh credential. */
  readonly refreshable: boolean;
}

/** Refresh this long before a token's stated expiry, so a request never carries a dying one. */
const EXPIRY_MARGIN_MS = 30_000;
/** A token without `expires_in` is used for this long. */
const DEFAULT_TOKEN_LIFETIME_MS = 3_600_000;

export class AuthError extends Error {
  readonly code = 'MCP_AUTH_FAILED';
}

/** createAuth builds the credential source for a spec; oauth tokens are fetched through `dispatcher`. */
export function createAuth(spec: McpAuthSpec, dispatcher: Dispatcher, now: () => number = Date.now): UpstreamAuth {
  switch (spec.type) {
    case 'bearer_token':
      return fixed(['authorization', `Bearer ${spec.token}`]);
    case 'api_key':
      return fixed([spec.header.toLowerCase(), spec.apiKey]);
    case 'basic':
      return fixed(['authorization', `Basic ${Buffer.from(`${spec.username}:${spec.password}`).toString('base64')}`]);
    case 'oauth2_client_credentials':
      return new ClientCredentials(spec, dispatcher, now);
    default:
      return fixed(undefined);
  }
}

function fixed(header: readonly [string, string] | undefined): UpstreamAuth {
  const ready = Promise.resolve(header);
  return { header: () => ready, refreshable: false };
}

type ClientCredentialsSpec = Extract<McpAuthSpec, { type: 'oauth2_client_credentials' }>;

class ClientCredentials implements UpstreamAuth {
  readonly refreshable = true;
  private token: { value: string; expiresAt: number } | undefined;
  private inFlight: Promise<string> | undefined;

  constructor(
    private readonly spec: ClientCredentialsSpec,
    private readonly dispatcher: Dispatcher,
    private readonly now: () => number,
  ) {}

  async header(fresh = false): Promise<readonly [string, string]> {
    if (fresh) this.token = undefined;
    const t = this.token;
    const value = t && t.expiresAt > this.now() ? t.value : await this.fetchToken();
    return ['authorization', `Bearer ${value}`];
  }

  /** fetchToken asks the token endpoint once for all callers waiting at the same time. */
  private fetchToken(): Promise<string> {
    this.inFlight ??= this.request().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async request(): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.spec.scopes.length > 0) form.set('scope', this.spec.scopes.join(' '));
    if (this.spec.audience) form.set('audience', this.spec.audience);
    // RFC 6749 §2.3.1: client_id and secret form-encoded, then as HTTP Basic credentials.
    const basic = Buffer.from(`${encodeURIComponent(this.spec.clientId)}:${encodeURIComponent(this.spec.clientSecret)}`).toString('base64');
    let res;
    try {
      res = await undiciFetch(this.spec.tokenUrl, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        dispatcher: this.dispatcher,
        signal: AbortSignal.timeout(15_000),
      });
    } catch (err) {
      throw new AuthError(`token request failed: ${(err as Error).message}`);
    }
    const body = (await res.json().catch(() => undefined)) as { access_token?: unknown; expires_in?: unknown } | undefined;
    if (!res.ok || typeof body?.access_token !== 'string' || body.access_token === '') {
      throw new AuthError(`token request failed: the token endpoint answered HTTP ${res.status}${res.ok ? ' without an access_token' : ''}`);
    }
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : DEFAULT_TOKEN_LIFETIME_MS;
    this.token = { value: body.access_token, expiresAt: this.now() + Math.max(lifetime - EXPIRY_MARGIN_MS, lifetime / 2) };
    return body.access_token;
  }
}
