/**
 * Credentials keyway makes per request instead of holding ready as a header: a Vertex
 * keyfile's OAuth access token today (and, behind the same interface, signatures such as
 * AWS SigV4). A provider whose `apikey` is such a credential has `minted` set in its
 * compiled form and no `keyHeader`; `buildUpstreamHeaders` decides by auth_mode whether
 * the provider's own credential goes upstream (`mint`), and the caller then asks
 * `headersFor(provider, request)` for the headers that carry it.
 *
 * Minted values are secrets like keys: they are only ever put on the upstream request,
 * never logged, recorded or returned.
 */
import { Agent } from 'undici';
import type { CompiledProvider } from '../../config/snapshot.js';
import { GatewayError } from '../../errors.js';
import type { HeaderList } from '../headers.js';
import type { ServiceAccountKeyfile } from './keyfile.js';
import { ServiceAccountTokens, TokenExchangeError } from './service-account.js';

/** MintedCredential is a provider credential that is made per request, by kind. */
export type MintedCredential = {
  kind: 'google-service-account';
  keyfile: ServiceAccountKeyfile;
  /** Identifies the keyfile across reloads, so a reload keeps its cached token. */
  cacheKey: string;
};

/** OutgoingRequest is the upstream request a credential is for (signatures cover it). */
export interface OutgoingRequest {
  method: string;
  /** Path and query on the provider's origin. */
  path: string;
  headers: HeaderList;
  body: Buffer | null;
}

export interface UpstreamCredentialsOptions {
  /** Clock in milliseconds, for token lifetimes; tests move it. */
  now?: () => number;
  /** Bound on one token exchange. */
  timeoutMs?: number;
}

/** Most service accounts whose tokens are kept; beyond it the oldest is dropped. */
const MAX_SOURCES = 256;

/**
 * UpstreamCredentials mints provider credentials. One per keyway process, shared by
 * every configuration snapshot, so a reload keeps tokens that are still valid.
 */
export class UpstreamCredentials {
  private readonly tokens = new Map<string, ServiceAccountTokens>();
  private readonly agent = new Agent({ connect: { timeout: 10_000 }, keepAliveTimeout: 30_000 });

  constructor(private readonly options: UpstreamCredentialsOptions = {}) {}

  /**
   * headersFor returns the headers that carry `provider`'s minted credential for this
   * request: `Authorization: Bearer <access token>` for a service-account keyfile. It
   * fails with UPSTREAM_AUTH_FAILED (502) when no credential can be had, with the token
   * server's explanation and nothing secret.
   */
  async headersFor(provider: CompiledProvider, _request: OutgoingRequest): Promise<Array<[string, string]>> {
    const minted = provider.minted;
    if (!minted) return [];
    const source = this.source(minted);
    try {
      const token = await source.token();
      return [['authorization', `Bearer ${token}`]];
    } catch (err) {
      const why = err instanceof TokenExchangeError ? err.message : 'the token exchange failed';
      throw new GatewayError('UPSTREAM_AUTH_FAILED', `keyway could not get an access token for provider ${provider.id}: ${why}`, { cause: err });
    }
  }

  /** exchangesFor reports how many token exchanges a keyfile has made (tests, diagnostics). */
  exchangesFor(provider: CompiledProvider): number {
    return provider.minted ? (this.tokens.get(provider.minted.cacheKey)?.exchanges ?? 0) : 0;
  }

  async close(): Promise<void> {
    this.tokens.clear();
    await this.agent.close();
  }

  private source(minted: MintedCredential): ServiceAccountTokens {
    let source = this.tokens.get(minted.cacheKey);
    if (!source) {
      if (this.tokens.size >= MAX_SOURCES) this.tokens.delete(this.tokens.keys().next().value!);
      source = new ServiceAccountTokens(minted.keyfile, { dispatcher: this.agent, now: this.options.now, timeoutMs: this.options.timeoutMs });
      this.tokens.set(minted.cacheKey, source);
    }
    return source;
  }
}

/**
 * addMintedHeaders puts minted credential headers on an upstream header list. A header
 * the operator set with `add_headers` is kept: configuration wins over keyway's default.
 */
export function addMintedHeaders(headers: HeaderList, minted: ReadonlyArray<readonly [string, string]>): void {
  for (const [name, value] of minted) {
    let present = false;
    for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) present = true;
    if (!present) headers.push(name, value);
  }
}
