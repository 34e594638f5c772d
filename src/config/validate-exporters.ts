/**
 * Validation of `exporters.s3` (reference §8.5) and of the one retention key that depends
 * on it, `database.retention.require_export` (§8.4). The exporter is in force, so what it
 * cannot use (a half pair of credentials, an `every` it cannot read, a prefix that would
 * write outside itself) is an error naming the field; the reference's silent cap on
 * `limit` is kept, and said as a note.
 */
import { parseDurationMs } from '../duration.js';
import { isHttpUrl, isObject, type Checker, type Obj } from './checker.js';
import type { PathSegment } from './hujson.js';
import type { S3ExportSpec } from './types.js';

const S3_KEYS = new Set(['endpoint', 'bucket_name', 'region', 'prefix', 'access_key_id', 'access_secret', 'every', 'limit']);

/** The reference's defaults: an export an hour, a thousand records an object, at most ten thousand. */
export const S3_EXPORT_DEFAULTS = { region: 'us-east-1', everyMs: 3_600_000, limit: 1000, maxLimit: 10_000 } as const;

// A bucket name is one path segment in path-style URLs and a DNS label in virtual-hosted
// ones: S3's, GCS's and B2's rules all fit inside this (dots and underscores included).
const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{1,221}[A-Za-z0-9]$/;
// Regions are host-name parts (`us-east-1`, `auto` for R2 and GCS, MinIO's own names).
const REGION = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
// Control characters (and DEL) would make an unusable object key.
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * validateS3Export checks `exporters.s3` and returns what the exporter runs with, or
 * undefined when no bucket is named (the reference: a non-empty `bucket_name` enables it).
 */
export function validateS3Export(c: Checker, doc: Obj): S3ExportSpec | undefined {
  const exporters = c.object(doc, 'exporters', []);
  if (!exporters) return undefined;
  c.unknownKeys(exporters, new Set(['s3']), ['exporters']);
  const s3 = c.object(exporters, 's3', ['exporters']);
  if (!s3) return undefined;
  const path: PathSegment[] = ['exporters', 's3'];
  c.unknownKeys(s3, S3_KEYS, path);
  const at = (key: string): PathSegment[] => [...path, key];

  const endpoint = c.string(s3, 'endpoint', path).trim();
  if (endpoint !== '' && !isHttpUrl(endpoint)) c.error(at('endpoint'), `exporters.s3.endpoint must be an http:// or https:// URL without credentials: ${endpoint}`);

  const bucket = c.string(s3, 'bucket_name', path).trim();
  if (bucket !== '' && !BUCKET_NAME.test(bucket)) {
    c.error(at('bucket_name'), `exporters.s3.bucket_name "${bucket}" is not a bucket name (3 to 223 letters, digits, ".", "_" or "-", no "/")`);
  }

  const region = c.string(s3, 'region', path, S3_EXPORT_DEFAULTS.region).trim() || S3_EXPORT_DEFAULTS.region;
  if (!REGION.test(region)) c.error(at('region'), `exporters.s3.region "${region}" is not a region name like "us-east-1"`);

  const prefix = c.string(s3, 'prefix', path);
  // Objects are `<prefix>/ts-aperture-export-…`: a slash at either end would write outside
  // the prefix the operator named (`a//ts-…`, `/a/ts-…`).
  if (prefix.endsWith('/')) c.error(at('prefix'), 'exporters.s3.prefix must not end with a slash');
  else if (prefix.startsWith('/')) c.error(at('prefix'), 'exporters.s3.prefix must not start with a slash');
  else if (CONTROL.test(prefix)) c.error(at('prefix'), 'exporters.s3.prefix must not contain control characters');

  const accessKeyId = c.string(s3, 'access_key_id', path).trim();
  const accessSecret = c.string(s3, 'access_secret', path);
  if (accessKeyId !== '' && accessSecret === '') c.error(at('access_secret'), 'exporters.s3.access_secret is required when access_key_id is set');
  if (accessKeyId === '' && accessSecret !== '') c.error(at('access_key_id'), 'exporters.s3.access_key_id is required when access_secret is set');

  const everyMs = readEvery(c, s3, at('every'));
  const limit = readLimit(c, s3, at('limit'));

  if (bucket === '') {
    if (Object.keys(s3).some((k) => k !== 'bucket_name' && S3_KEYS.has(k))) c.info(at('bucket_name'), 'exporters.s3 has no bucket_name, so nothing is exported');
    return undefined;
  }
  return { endpoint, bucket, region, prefix, accessKeyId, accessSecret, everyMs, limit };
}

/** `every`: seconds as a number (the reference's 3600), or a Go duration ("1h", "90s"). */
function readEvery(c: Checker, s3: Obj, path: PathSegment[]): number {
  const v = s3.every;
  if (v === undefined || v === null) return S3_EXPORT_DEFAULTS.everyMs;
  const ms = typeof v === 'number' && Number.isFinite(v) ? v * 1000 : typeof v === 'string' ? parseDurationMs(v.trim()) : undefined;
  if (ms === undefined) {
    c.error(path, `exporters.s3.every must be a duration like "1h" or "15m", or a number of seconds, not ${JSON.stringify(v)}`);
    return S3_EXPORT_DEFAULTS.everyMs;
  }
  if (ms < 1000) {
    c.error(path, `exporters.s3.every must be at least one second, not ${JSON.stringify(v)}`);
    return S3_EXPORT_DEFAULTS.everyMs;
  }
  return ms;
}

function readLimit(c: Checker, s3: Obj, path: PathSegment[]): number {
  if (s3.limit === undefined || s3.limit === null) return S3_EXPORT_DEFAULTS.limit;
  const limit = c.integer(s3, 'limit', path.slice(0, -1), S3_EXPORT_DEFAULTS.limit);
  if (limit < 1) {
    c.error(path, `exporters.s3.limit must be at least 1, not ${limit}`);
    return S3_EXPORT_DEFAULTS.limit;
  }
  if (limit > S3_EXPORT_DEFAULTS.maxLimit) {
    c.info(path, `exporters.s3.limit ${limit} is more than ${S3_EXPORT_DEFAULTS.maxLimit}: each object holds at most ${S3_EXPORT_DEFAULTS.maxLimit} records`);
    return S3_EXPORT_DEFAULTS.maxLimit;
  }
  return limit;
}

/**
 * reportRequireExport warns when `require_export` holds captures back for an export that
 * is not configured: they are then kept for ever, whatever the duration says.
 */
export function reportRequireExport(c: Checker, doc: Obj, s3: S3ExportSpec | undefined): void {
  const retention = isObject(doc.database) && isObject(doc.database.retention) ? doc.database.retention : undefined;
  if (retention?.require_export !== true || s3) return;
  c.warn(
    ['database', 'retention', 'require_export'],
    'database.retention.require_export keeps every capture until it is exported, and exporters.s3 has no bucket_name: captures are never purged',
  );
}
