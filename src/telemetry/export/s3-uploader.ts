/**
 * Uploads export objects with the AWS SDK's S3 client: SigV4-signed for the configured
 * region, path-style addressing for a custom endpoint (MinIO, GCS, B2 and the like have no
 * per-bucket host names). Credentials come from the configuration, else from the standard
 * AWS environment variables, else from the SDK's usual chain (shared files, SSO, web
 * identity, container and instance roles). The SDK is loaded only when an export is
 * configured, so a keyway without one does not pay for it at start.
 */
import type { Env } from '../../config/macros.js';
import type { S3ExportSpec } from '../../config/types.js';

export interface ObjectUploader {
  /** put writes one object; it rejects when the object was not stored. */
  put(key: string, body: Uint8Array, signal: AbortSignal): Promise<void>;
  /** Secret values that must never appear in a message keyway shows (logs, API). */
  readonly secrets: readonly string[];
  close(): void;
}

/** The time one upload may take, connection included, before it counts as failed. */
const UPLOAD_TIMEOUT_MS = 120_000;
const CONNECT_TIMEOUT_MS = 10_000;

export async function createS3Uploader(spec: S3ExportSpec, env: Env): Promise<ObjectUploader> {
  const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
  const credentials = staticCredentials(spec, env);
  const client = new S3Client({
    region: spec.region,
    ...(spec.endpoint ? { endpoint: spec.endpoint, forcePathStyle: true } : {}),
    ...(credentials ? { credentials } : {}),
    // The exporter retries with its own backoff and counts every failure; the SDK's own
    // retries would hide an outage for a while and then report it late.
    maxAttempts: 1,
    // Checksums only where S3 demands them: several S3-compatible stores refuse the
    // SDK's newer default (CRC32 trailers, since January 2025).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { requestTimeout: UPLOAD_TIMEOUT_MS, connectionTimeout: CONNECT_TIMEOUT_MS },
  });
  const secrets = [credentials?.secretAccessKey, credentials?.sessionToken].filter((s): s is string => typeof s === 'string' && s !== '');
  return {
    secrets,
    async put(key, body, signal) {
      await client.send(new PutObjectCommand({ Bucket: spec.bucket, Key: key, Body: body, ContentType: 'application/zstd' }), { abortSignal: signal });
    },
    close() {
      client.destroy();
    },
  };
}

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * staticCredentials: the configuration's key pair, or the standard AWS variables of
 * keyway's environment; undefined leaves the choice to the SDK's provider chain.
 */
function staticCredentials(spec: S3ExportSpec, env: Env): Credentials | undefined {
  if (spec.accessKeyId && spec.accessSecret) return { accessKeyId: spec.accessKeyId, secretAccessKey: spec.accessSecret };
  const id = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  if (!id || !secret) return undefined;
  return env.AWS_SESSION_TOKEN ? { accessKeyId: id, secretAccessKey: secret, sessionToken: env.AWS_SESSION_TOKEN } : { accessKeyId: id, secretAccessKey: secret };
}
