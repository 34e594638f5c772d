/**
 * `keyfile::<base64 service-account JSON>` provider keys (Google Cloud service accounts,
 * for Vertex AI). This module only reads the key's text: it has no Node imports, because
 * the configuration validator that calls it also runs in the dashboard's browser bundle.
 * Signing and the token exchange live in service-account.ts.
 */

/** KEYFILE_PREFIX marks an `apikey` that holds a service-account keyfile rather than a key. */
export const KEYFILE_PREFIX = 'keyfile::';

/** Where Google's keyfiles send their token requests when the file names no token_uri. */
export const GOOGLE_TOKEN_URI = 'https://oauth2.googleapis.com/token';

/** ServiceAccountKeyfile is the part of a service-account JSON key keyway uses. */
export interface ServiceAccountKeyfile {
  /** `project_id`: fills the `_aperture_auto_vertex_project_id_` path placeholder. */
  projectId: string | undefined;
  /** `client_email`: the JWT issuer. */
  clientEmail: string;
  /** `private_key`: PKCS#8 PEM, the RS256 signing key. */
  privateKey: string;
  /** `private_key_id`: sent as the JWT `kid`, when present. */
  privateKeyId: string | undefined;
  /** `token_uri`: where the signed assertion is exchanged for an access token. */
  tokenUri: string;
}

/** isKeyfileKey reports whether a provider `apikey` is a `keyfile::` key. */
export function isKeyfileKey(apikey: string): boolean {
  return apikey.startsWith(KEYFILE_PREFIX);
}

/**
 * parseKeyfile reads a `keyfile::` apikey. It returns the keyfile, or an error that says
 * what is wrong without quoting any of the key (the message goes into validation output).
 */
export function parseKeyfile(apikey: string): { keyfile: ServiceAccountKeyfile } | { error: string } {
  const text = decodeBase64(apikey.slice(KEYFILE_PREFIX.length));
  if (text === undefined) return { error: 'the text after keyfile:: is not base64' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: 'the decoded keyfile is not JSON' };
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return { error: 'the decoded keyfile is not a JSON object' };
  const o = json as Record<string, unknown>;
  if (o.type !== undefined && o.type !== 'service_account') {
    return { error: `the keyfile has type ${JSON.stringify(String(o.type)).slice(0, 40)}, not "service_account" (only service-account keys can be exchanged for tokens)` };
  }
  const clientEmail = o.client_email;
  if (typeof clientEmail !== 'string' || clientEmail.trim() === '') return { error: 'the keyfile has no client_email' };
  const privateKey = o.private_key;
  if (typeof privateKey !== 'string' || !/-----BEGIN (?:RSA )?PRIVATE KEY-----[\s\S]+-----END (?:RSA )?PRIVATE KEY-----/.test(privateKey)) {
    return { error: 'the keyfile has no private_key (a PEM "-----BEGIN PRIVATE KEY-----" block)' };
  }
  const tokenUri = o.token_uri === undefined ? GOOGLE_TOKEN_URI : o.token_uri;
  if (typeof tokenUri !== 'string' || !isHttpUrl(tokenUri)) return { error: 'the keyfile token_uri is not an http:// or https:// URL' };
  const projectId = typeof o.project_id === 'string' && o.project_id !== '' ? o.project_id : undefined;
  const privateKeyId = typeof o.private_key_id === 'string' && o.private_key_id !== '' ? o.private_key_id : undefined;
  return { keyfile: { projectId, clientEmail, privateKey, privateKeyId, tokenUri } };
}

/** decodeBase64 decodes standard or URL-safe base64 (whitespace ignored) to UTF-8; undefined if it is not base64. */
function decodeBase64(s: string): string | undefined {
  const compact = s.replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/');
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 === 1) return undefined;
  try {
    const binary = atob(compact.padEnd(Math.ceil(compact.length / 4) * 4, '='));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '' && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}
