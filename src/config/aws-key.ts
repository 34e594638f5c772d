/**
 * IAM access keys for Amazon Bedrock, written in a provider's `apikey` as
 * `aws::ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]`. This goes beyond the reference
 * (Aperture sends a Bedrock API key as a bearer token and never signs): keyway signs each
 * request with SigV4 (upstream/credentials/aws-sigv4.ts) for organisations that have no
 * Bedrock API keys. Pure: the validator, which the dashboard also runs, uses it.
 */

export const AWS_KEY_PREFIX = 'aws::';

export interface AwsKey {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string | undefined;
}

// AWS documents access key IDs as 16-128 word characters (AKIA… for long-term keys, ASIA… for
// temporary ones). Secrets and session tokens are base64-like: none of them holds a `:`.
const ACCESS_KEY_ID = /^\w{16,128}$/;
const SECRET_PART = /^[A-Za-z0-9+/=_-]+$/;

/** isAwsKey reports whether an apikey is written as IAM access keys. */
export function isAwsKey(apikey: string): boolean {
  return apikey.startsWith(AWS_KEY_PREFIX);
}

/**
 * parseAwsKey reads an `aws::` apikey. It returns the key, or a description of what is
 * wrong with it that never repeats the secret parts.
 */
export function parseAwsKey(apikey: string): AwsKey | { problem: string } {
  const parts = apikey.slice(AWS_KEY_PREFIX.length).split(':');
  if (parts.length < 2 || parts.length > 3) {
    return { problem: 'must be "aws::ACCESS_KEY_ID:SECRET_ACCESS_KEY" or "aws::ACCESS_KEY_ID:SECRET_ACCESS_KEY:SESSION_TOKEN"' };
  }
  const [accessKeyId, secretAccessKey, sessionToken] = parts as [string, string, string | undefined];
  if (!ACCESS_KEY_ID.test(accessKeyId)) return { problem: 'has an access key ID that is not 16-128 letters and digits' };
  if (!SECRET_PART.test(secretAccessKey)) return { problem: 'has an empty or malformed secret access key' };
  if (sessionToken !== undefined && !SECRET_PART.test(sessionToken)) return { problem: 'has an empty or malformed session token' };
  return { accessKeyId, secretAccessKey, sessionToken };
}

// bedrock-runtime.us-east-1.amazonaws.com, bedrock-runtime-fips.us-gov-west-1.amazonaws.com,
// vpce-0abc-xyz.bedrock-runtime.eu-west-1.vpce.amazonaws.com, bedrock-runtime.cn-north-1.amazonaws.com.cn
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;

/** DEFAULT_AWS_REGION is the signing region for a baseurl whose host does not name one. */
export const DEFAULT_AWS_REGION = 'us-east-1';

/**
 * bedrockRegion returns the AWS region a Bedrock endpoint's host name carries (the label
 * after `bedrock-runtime`), or undefined for any other host (a proxy, a test double).
 */
export function bedrockRegion(hostname: string): string | undefined {
  const labels = hostname.toLowerCase().split('.');
  const at = labels.findIndex((l) => l === 'bedrock-runtime' || l === 'bedrock-runtime-fips' || l === 'bedrock');
  const region = at >= 0 ? labels[at + 1] : undefined;
  return region !== undefined && REGION.test(region) ? region : undefined;
}
