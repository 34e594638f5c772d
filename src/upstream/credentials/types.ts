/**
 * Credentials keyway makes per request rather than copies from the configuration: a SigV4
 * signature over the request (Bedrock with IAM access keys), and later minted tokens.
 * The snapshot compiles one per provider (credentials/index.ts), so a request only signs
 * or stamps, never parses configuration.
 */
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
