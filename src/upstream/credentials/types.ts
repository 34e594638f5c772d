/**
 * Credentials keyway makes per request rather than copies from the configuration: a SigV4
 * signature over the request (Bedrock with IAM access keys), and later minted tokens.
 * Each kind implements MintedCredential; the snapshot compiles one per provider, so a
 * request only signs or stamps, never parses configuration.
 */
import type { CompiledProvider } from '../../config/snapshot.js';
import type { HeaderList } from '../headers.js';

/** OutgoingRequest is an upstream request exactly as it will be sent. */
export interface OutgoingRequest {
  method: string;
  /** Path and query on the provider's origin. */
  path: string;
  /** Every header that will be sent (keyway's undici pool adds only `host` and `connection`). */
  headers: HeaderList;
  body: Buffer | string | null;
}

/** MintedCredential makes the credential headers of one upstream request. */
export interface MintedCredential {
  /** A name for logs and docs (`aws-sigv4`); never the secret. */
  readonly kind: string;
  headersFor(provider: CompiledProvider, request: OutgoingRequest): Promise<HeaderList>;
}
