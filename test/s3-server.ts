/**
 * A real S3-compatible server on loopback for the export tests: s3rver (an npm
 * devDependency, so `npm ci` installs it) behind a small gate. s3rver stores and lists
 * objects but does not check SigV4 signatures, so the gate does, exactly as S3 does
 * (canonical request, scope with the region, HMAC chain), and refuses what does not
 * match. The gate also records every request and can fail on demand: an outage (503),
 * or an upload that is stored but answered with an error (the crash between upload and
 * commit, as the exporter sees it).
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { decodeMultiple } from 'cbor-x';
import S3rver from 's3rver';
import { decompress } from 'zstd-napi';

// The SDK warns once per process that its releases from 2027 need Node 22; keyway pins a
// version that runs on Node 20, and the warning would only clutter the test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** 'hold' keeps an upload waiting, unanswered, until the prefix's mode changes (then it is answered 503). */
export type GateMode = 'pass' | 'outage' | 'store-then-fail' | 'hold';

export interface GateRequest {
  method: string;
  path: string;
  host: string;
  /** What the gate answered: 'ok' when forwarded, or why it refused. */
  verdict: string;
}

export interface TestS3 {
  /** The endpoint keyway is configured with (the gate). */
  endpoint: string;
  bucket: string;
  region: string;
  /** setMode makes the gate answer uploads under `prefix` as `mode` (each test has its own prefix). */
  setMode(prefix: string, mode: GateMode): void;
  /** Uploads under `prefix` waiting in the 'hold' mode. */
  held(prefix: string): number;
  requests: GateRequest[];
  /** Keys in the bucket, sorted. */
  keys(): Promise<string[]>;
  /** An object's records, decompressed and decoded. */
  records(key: string): Promise<Array<Record<string, any>>>;
  close(): Promise<void>;
}

/** startS3 starts s3rver with one bucket and the signature-checking gate before it. */
export async function startS3(opts: { bucket: string; region: string; keys: Record<string, string> }): Promise<TestS3> {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-s3-'));
  const s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: opts.bucket }] });
  const { port: s3Port } = (await s3rver.run()) as { port: number };
  const requests: GateRequest[] = [];
  const modes = new Map<string, GateMode>();
  const holding = new Map<string, Array<{ res: ServerResponse; entry: GateRequest }>>();
  /** The test prefix a path is under, and its mode. */
  const modeOf = (path: string): { prefix?: string; mode: GateMode } => {
    for (const [prefix, mode] of modes) if (path.startsWith(`/${opts.bucket}/${prefix}/`)) return { prefix, mode };
    return { mode: 'pass' };
  };

  const gate: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const entry: GateRequest = { method: req.method ?? '', path: req.url ?? '', host: req.headers.host ?? '', verdict: 'ok' };
      requests.push(entry);
      const refused = checkSignature(req, body, opts.region, opts.keys);
      if (refused) return answer(res, entry, 403, 'SignatureDoesNotMatch', refused);
      if (!(req.url ?? '').startsWith(`/${opts.bucket}/`)) return answer(res, entry, 400, 'InvalidRequest', 'expected path-style addressing');
      const { prefix, mode } = modeOf(req.url ?? '');
      if (mode === 'outage') return answer(res, entry, 503, 'ServiceUnavailable', 'outage simulated by the test');
      if (mode === 'hold') {
        const list = holding.get(prefix!) ?? [];
        list.push({ res, entry });
        holding.set(prefix!, list);
        return;
      }
      forward(req, body, s3Port, (status, headers, answerBody) => {
        if (mode === 'store-then-fail') return answer(res, entry, 500, 'InternalError', 'stored, but answered with an error by the test');
        res.writeHead(status, headers);
        res.end(answerBody);
      });
    });
  });
  gate.listen(0, '127.0.0.1');
  await new Promise((r) => gate.once('listening', r));
  const endpoint = `http://127.0.0.1:${(gate.address() as AddressInfo).port}`;

  // The tests read the bucket straight from s3rver (its default key pair), not through the gate.
  const reader = new S3Client({ endpoint: `http://127.0.0.1:${s3Port}`, region: opts.region, forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, maxAttempts: 1 });
  return {
    endpoint,
    bucket: opts.bucket,
    region: opts.region,
    setMode(prefix, mode) {
      modes.set(prefix, mode);
      for (const { res, entry } of holding.get(prefix) ?? []) answer(res, entry, 503, 'ServiceUnavailable', 'held by the test, then released');
      holding.delete(prefix);
    },
    held: (prefix) => holding.get(prefix)?.length ?? 0,
    requests,
    keys: () => retried(async () => {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await reader.send(new ListObjectsV2Command({ Bucket: opts.bucket, ContinuationToken: token }));
        for (const o of page.Contents ?? []) out.push(o.Key!);
        token = page.NextContinuationToken;
      } while (token);
      return out.sort();
    }),
    records: (key: string) => retried(async () => {
      const got = await reader.send(new GetObjectCommand({ Bucket: opts.bucket, Key: key }));
      const bytes = await got.Body!.transformToByteArray();
      return decodeMultiple(decompress(bytes)) as Array<Record<string, any>>;
    }),
    async close() {
      reader.destroy();
      gate.closeAllConnections();
      await new Promise((r) => gate.close(r));
      await s3rver.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * retried runs a read against s3rver again when it answers 500: s3rver keeps objects as
 * plain files, and a listing or read that meets a file another upload is writing fails.
 */
async function retried<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if (attempt >= 5 || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 500) throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

function answer(res: ServerResponse, entry: GateRequest, status: number, code: string, message: string): void {
  entry.verdict = code;
  const xml = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
}

function forward(req: IncomingMessage, body: Buffer, port: number, done: (status: number, headers: Record<string, string | string[]>, body: Buffer) => void): void {
  // The gate has checked the signature; s3rver knows only its own key pair, so it gets the request unsigned.
  const { authorization: _signed, ...headers } = { ...req.headers, host: `127.0.0.1:${port}` };
  const out = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers }, (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => done(res.statusCode ?? 500, res.headers as Record<string, string | string[]>, Buffer.concat(chunks)));
  });
  out.end(body);
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * checkSignature verifies an AWS Signature Version 4 `Authorization` header for service
 * s3 in `region`: it returns why the request is refused, or undefined when it is signed
 * correctly with one of `keys` (access key ID → secret) and its payload hash is true.
 */
export function checkSignature(req: IncomingMessage, body: Buffer, region: string, keys: Record<string, string>): string | undefined {
  const auth = req.headers.authorization ?? '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return 'no SigV4 Authorization header';
  const [, keyId, date, scopeRegion, signedHeaders, signature] = m as unknown as [string, string, string, string, string, string];
  const secret = keys[keyId];
  if (secret === undefined) return `unknown access key ${keyId}`;
  if (scopeRegion !== region) return `signed for region ${scopeRegion}, not ${region}`;
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  if (!amzDate.startsWith(date)) return 'x-amz-date does not match the credential scope';
  const payloadHash = String(req.headers['x-amz-content-sha256'] ?? '');
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256(body)) return 'x-amz-content-sha256 is not the hash of the body';
  const url = new URL(req.url ?? '/', 'http://gate');
  const query = [...url.searchParams]
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const names = signedHeaders.split(';');
  if (!names.includes('host')) return 'host is not signed';
  const headerLines = names.map((n) => `${n}:${String(req.headers[n] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [req.method, url.pathname, query, headerLines, signedHeaders, payloadHash].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', amzDate, `${date}/${region}/s3/aws4_request`, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), 's3'), 'aws4_request');
  const expected = createHmac('sha256', key).update(toSign).digest('hex');
  return expected === signature ? undefined : 'signature does not match';
}
