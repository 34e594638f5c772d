// AWS Signature Version 4 verification, the way an AWS endpoint checks a request
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html),
// written from the specification with node:crypto so that it checks keyway's signer (the
// AWS SDKs' @smithy/signature-v4) instead of repeating it. Header signatures only; the
// clock is not checked (tests run with any clock), the scope's date against x-amz-date is.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Fake IAM credentials the mock knows out of the box (tests may add their own). */
export const MOCK_AWS_CREDENTIALS = Object.freeze({
  accessKeyId: 'FAKETESTKEYWAYMOCK01',
  secretAccessKey: 'test-secret-access-key-keyway-mock-0001',
});

export type SigV4Result =
  | { status: 'valid'; accessKeyId: string; region: string; service: string; signedHeaders: string[] }
  | { status: 'unknown-key'; accessKeyId: string }
  | { status: 'invalid'; reason: string };

export interface SignedRequest {
  method: string;
  /** The path exactly as received (still percent-encoded). */
  path: string;
  /** Raw query including the leading '?', or ''. */
  query: string;
  rawHeaders: string[];
  body: Buffer;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';

/** isSigV4 reports whether an Authorization header is a SigV4 signature. */
export function isSigV4(authorization: string | undefined): boolean {
  return authorization !== undefined && authorization.startsWith(`${ALGORITHM} `);
}

/** verifySigV4 checks a request's SigV4 Authorization header against the secrets it knows. */
export function verifySigV4(req: SignedRequest, secrets: ReadonlyMap<string, string>): SigV4Result {
  const headers = canonicalHeaderValues(req.rawHeaders);
  const auth = headers.get('authorization') ?? '';
  const fields = new Map<string, string>();
  for (const part of auth.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential')?.split('/');
  const signedHeaders = fields.get('SignedHeaders')?.split(';');
  const signature = fields.get('Signature');
  if (!credential || credential.length !== 5 || !signedHeaders || !signature) return { status: 'invalid', reason: 'Authorization header is malformed' };
  const [accessKeyId, date, region, service, terminator] = credential as [string, string, string, string, string];
  if (terminator !== 'aws4_request') return { status: 'invalid', reason: 'credential scope does not end in aws4_request' };
  const secret = secrets.get(accessKeyId);
  if (secret === undefined) return { status: 'unknown-key', accessKeyId };
  const amzDate = headers.get('x-amz-date');
  if (amzDate === undefined || !amzDate.startsWith(date)) return { status: 'invalid', reason: 'x-amz-date is missing or does not match the credential scope' };
  for (const required of ['host', 'x-amz-date']) {
    if (!signedHeaders.includes(required)) return { status: 'invalid', reason: `${required} is not signed` };
  }
  const canonicalRequest = [
    req.method,
    canonicalPath(req.path),
    canonicalQuery(req.query),
    signedHeaders.map((h) => `${h}:${headers.get(h) ?? ''}\n`).join(''),
    signedHeaders.join(';'),
    headers.get('x-amz-content-sha256') ?? sha256Hex(req.body),
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(Buffer.from(canonicalRequest))].join('\n');
  let key = hmac(`AWS4${secret}`, date);
  key = hmac(key, region);
  key = hmac(key, service);
  key = hmac(key, 'aws4_request');
  const expected = Buffer.from(createHmac('sha256', key).update(stringToSign).digest('hex'));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { status: 'invalid', reason: 'The request signature we calculated does not match the signature you provided.' };
  }
  // The payload hash the client declared must be the payload's.
  const declared = headers.get('x-amz-content-sha256');
  if (declared !== undefined && declared !== 'UNSIGNED-PAYLOAD' && declared !== sha256Hex(req.body)) {
    return { status: 'invalid', reason: 'x-amz-content-sha256 does not match the body' };
  }
  return { status: 'valid', accessKeyId, region, service, signedHeaders };
}

/** Lower-cased names; values trimmed, inner runs of spaces collapsed, repeats joined by ','. */
function canonicalHeaderValues(raw: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!.trim().replace(/\s+/g, ' ');
    const seen = out.get(name);
    out.set(name, seen === undefined ? value : `${seen},${value}`);
  }
  return out;
}

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX. */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Each segment of the path as received, encoded once more (every service but S3). */
function canonicalPath(path: string): string {
  if (path === '') return '/';
  return path.split('/').map(uriEncode).join('/');
}

function canonicalQuery(query: string): string {
  if (query.length <= 1) return '';
  const pairs: Array<[string, string]> = [];
  for (const [k, v] of new URLSearchParams(query.slice(1))) pairs.push([uriEncode(k), uriEncode(v)]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
