/**
 * Credentials keyway makes per request instead of holding ready as a header: a Vertex
 * keyfile's OAuth access token and an AWS SigV4 signature (Bedrock with IAM access keys).
 * A provider whose `apikey` is such a credential has `minted` set in its compiled form
 * (`mintedCredentialFor`, at snapshot time) and no `keyHeader`; `buildUpstreamHeaders`
 * decides by auth_mode whether the provider's own credential goes upstream (`mint`), and
 * the caller then asks `headersFor(provider, request)` for the headers that carry it, once
 * the request is final (a signature covers it).
 *
 * Minted values are secrets like keys: they are only ever put on the upstream request,
 * never logged, recorded or returned.
 */
import { createHash } from 'node:crypto';
import { Agent } from 'undici';
import { isAwsKey, parseAwsKey } from '../../config/aws-key.js';
import type { CompiledProvider } from '../../config/snapshot.js';
import type { ProviderSpec } from '../../config/types.js';
import { GatewayError } from '../../errors.js';
import type { HeaderList } from '../headers.js';
import { AwsSigV4Credential } from './aws-sigv4.js';
import type { ServiceAccountKeyfile } from './keyfile.js';
import { ServiceAccountTokens, TokenExchangeError } from './service-account.js';
import type { OutgoingRequest } from './types.js';

export type { OutgoingRequest } from './types.js';

/** MintedCredential is a provider credential that is made per request, by kind. */
export type MintedCredential =
  | {
      kind: 'google-service-account';
      keyfile: ServiceAccountKeyfile;
      /** Identifies the keyfile across reloads, so a reload keeps its cached token. */
      cacheKey: string;
    }
  | AwsSigV4Credential;

/** mintedCredentialFor compiles a provider's apikey into the credential it asks for, or undefined for a static key. */
export function mintedCredentialFor(spec: ProviderSpec): MintedCredential | undefined {
  if (spec.keyfile) return { kind: 'google-service-account', keyfile: spec.keyfile, cacheKey: createHash('sha256').update(spec.apikey).digest('hex') };
  if (!isAwsKey(spec.apikey)) return undefined;
  const key = parseAwsKey(spec.apikey);
  // The validator left providers with a malformed key out of routing; never sign with one.
  return 'problem' in key ? undefined : new AwsSigV4Credential(key, spec.baseurl);
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
   * request: `Authorization: Bearer <access token>` for a service-account keyfile, the
   * SigV4 signature headers for IAM access keys. It fails with UPSTREAM_AUTH_FAILED (502)
   * when no credential can be had, with the token server's explanation and nothing secret.
   */
  async headersFor(provider: CompiledProvider, request: OutgoingRequest): Promise<HeaderList> {
    const minted = provider.minted;
    if (!minted) return [];
    if (minted.kind === 'aws-sigv4') {
      try {
        return await minted.headersFor(provider, request);
      } catch (err) {
        throw new GatewayError('UPSTREAM_AUTH_FAILED', `keyway could not sign the request for provider ${provider.id}`, { cause: err });
      }
    }
    const source = this.source(minted);
    try {
      const token = await source.token();
      return ['authorization', `Bearer ${token}`];
    } catch (err) {
      const why = err instanceof TokenExchangeError ? err.message : 'the token exchange failed';
      throw new GatewayError('UPSTREAM_AUTH_FAILED', `keyway could not get an access token for provider ${provider.id}: ${why}`, { cause: err });
    }
  }

  /** exchangesFor reports how many token exchanges a keyfile has made (tests, diagnostics). */
  exchangesFor(provider: CompiledProvider): number {
    const minted = provider.minted;
    return minted?.kind === 'google-service-account' ? (this.tokens.get(minted.cacheKey)?.exchanges ?? 0) : 0;
  }

  async close(): Promise<void> {
    this.tokens.clear();
    await this.agent.close();
  }

  private source(minted: Extract<MintedCredential, { kind: 'google-service-account' }>): ServiceAccountTokens {
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
 * addMintedHeaders puts minted credential headers (a flat name/value list) on an upstream
 * header list. A header the operator set with `add_headers` is kept: configuration wins
 * over keyway's default.
 */
export function addMintedHeaders(headers: HeaderList, minted: HeaderList): void {
  for (let m = 0; m < minted.length; m += 2) {
    let present = false;
    for (let i = 0; i < headers.length; i += 2) if (headers[i] === minted[m]) present = true;
    if (!present) headers.push(minted[m]!, minted[m + 1]!);
  }
}
