/**
 * The one entry point for credentials keyway makes per request: `credentialFor` compiles a
 * provider's key into a MintedCredential (at snapshot time), `headersFor` makes the
 * headers for one request. Static keys (`Authorization: Bearer …`, `x-api-key`) are not
 * minted: the snapshot prepares them once (config/snapshot.ts keyHeader).
 */
import { isAwsKey, parseAwsKey } from '../../config/aws-key.js';
import type { CompiledProvider } from '../../config/snapshot.js';
import type { ProviderSpec } from '../../config/types.js';
import { GatewayError } from '../../errors.js';
import type { HeaderList } from '../headers.js';
import { AwsSigV4Credential } from './aws-sigv4.js';
import type { MintedCredential, OutgoingRequest } from './types.js';

export type { MintedCredential, OutgoingRequest } from './types.js';

/** credentialFor returns the minted credential a provider's apikey asks for, or undefined for a static key. */
export function credentialFor(spec: ProviderSpec): MintedCredential | undefined {
  if (!isAwsKey(spec.apikey)) return undefined;
  const key = parseAwsKey(spec.apikey);
  // The validator left providers with a malformed key out of routing; never sign with one.
  return 'problem' in key ? undefined : new AwsSigV4Credential(key, spec.baseurl);
}

/**
 * headersFor returns the credential headers of `provider`'s minted credential for one
 * request. A failure is a 502 that names the provider, never the secret.
 */
export async function headersFor(provider: CompiledProvider, request: OutgoingRequest): Promise<HeaderList> {
  const credential = provider.credential;
  if (!credential) return [];
  try {
    return await credential.headersFor(provider, request);
  } catch (err) {
    throw new GatewayError('UPSTREAM_FAILED', `could not make the ${credential.kind} credential for provider ${provider.id}`, { cause: err });
  }
}
