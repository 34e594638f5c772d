/**
 * SigV4 signing for Bedrock providers configured with IAM access keys
 * (`apikey: "aws::ACCESS_KEY_ID:SECRET_ACCESS_KEY[:SESSION_TOKEN]"`), with the signer the
 * AWS SDKs use (`@smithy/signature-v4`). The region comes from the baseurl's host name
 * (`bedrock-runtime.{region}.amazonaws.com`), else us-east-1; the service is `bedrock`.
 *
 * What is signed: `host`, `content-type`, `content-length` and every `x-amz-*` header
 * (the signer adds `x-amz-date`, `x-amz-content-sha256` and, with a session token,
 * `x-amz-security-token`), plus the payload's hash. Other headers (`user-agent`,
 * `anthropic-beta`, …) travel unsigned, as AWS allows, so nothing a client adds can
 * break a signature.
 */
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { bedrockRegion, DEFAULT_AWS_REGION, type AwsKey } from '../../config/aws-key.js';
import type { CompiledProvider } from '../../config/snapshot.js';
import type { HeaderList } from '../headers.js';
import type { OutgoingRequest } from './types.js';

const SIGNED = new Set(['content-type', 'content-length']);

export class AwsSigV4Credential {
  readonly kind = 'aws-sigv4' as const;
  readonly region: string;
  private readonly signer: SignatureV4;
  private readonly url: URL;

  constructor(key: AwsKey, baseurl: string) {
    this.url = new URL(baseurl);
    this.region = bedrockRegion(this.url.hostname) ?? DEFAULT_AWS_REGION;
    // One signer per provider: it caches the derived signing key for the day.
    this.signer = new SignatureV4({
      credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey, sessionToken: key.sessionToken },
      region: this.region,
      service: 'bedrock',
      sha256: Hash.bind(null, 'sha256'),
      // Every AWS service but S3 signs the path percent-encoded once more (%3A → %253A).
      uriEscapePath: true,
    });
  }

  async headersFor(_provider: CompiledProvider, request: OutgoingRequest): Promise<HeaderList> {
    const toSign: Record<string, string> = { host: this.url.host };
    const { headers } = request;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!;
      if (!SIGNED.has(name) && !name.startsWith('x-amz-')) continue;
      // Repeated headers are signed as one, values joined by commas (SigV4's canonical form).
      toSign[name] = toSign[name] === undefined ? headers[i + 1]! : `${toSign[name]},${headers[i + 1]!}`;
    }
    const q = request.path.indexOf('?');
    const query: Record<string, string | string[]> = {};
    if (q >= 0) {
      for (const [k, v] of new URLSearchParams(request.path.slice(q + 1))) {
        const seen = query[k];
        query[k] = seen === undefined ? v : Array.isArray(seen) ? [...seen, v] : [seen, v];
      }
    }
    const signed = await this.signer.sign({
      method: request.method,
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      port: this.url.port === '' ? undefined : Number(this.url.port),
      path: q >= 0 ? request.path.slice(0, q) : request.path,
      query,
      headers: toSign,
      body: request.body ?? undefined,
    });
    // Send what the signer added: authorization, x-amz-date, x-amz-content-sha256, x-amz-security-token.
    const out: HeaderList = [];
    for (const [name, value] of Object.entries(signed.headers)) {
      if (toSign[name] === undefined) out.push(name, value);
    }
    return out;
  }
}
