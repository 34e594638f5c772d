/**
 * Upstream URLs: the provider's baseurl path + the request path + the query.
 *
 * keyway appends the path the client called (`/v1/messages`) to the baseurl, as
 * Aperture does, so a baseurl normally has no `/v1`. When it does end in the same
 * version segment the path starts with (`https://host/api/v1` + `/v1/chat/completions`),
 * the doubled segment is collapsed instead of producing `/v1/v1/...` and a 405.
 */
import type { CompiledProvider } from '../config/snapshot.js';
import { takeParams } from './query.js';

export interface UpstreamTarget {
  /** Path and query on the provider's origin. */
  path: string;
  /** The credential the client put in the query (Gemini `?key=`, `?access_token=`), if any. */
  clientQueryCredential: string | undefined;
}

export function upstreamTarget(
  provider: CompiledProvider,
  requestPath: string,
  query: string,
  credentialParams: readonly string[],
): UpstreamTarget {
  let base = provider.basePath;
  const v = provider.versionSegment;
  if (v !== undefined && requestPath.startsWith(`/${v}/`)) base = base.slice(0, -(v.length + 1));

  let clientQueryCredential: string | undefined;
  if (query.length > 1 && credentialParams.length > 0) {
    // Found by decoded, case-folded name (query.ts): `?%6Bey=` is `?key=` to Google.
    const taken = takeParams(query, credentialParams);
    clientQueryCredential = taken.value;
    // Outside passthrough a client's key must not travel upstream, in the URL either.
    if (taken.value !== undefined && provider.spec.authMode !== 'passthrough') query = taken.rest;
  }
  return { path: base + requestPath + query, clientQueryCredential };
}
