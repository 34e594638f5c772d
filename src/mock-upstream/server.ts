// HTTP lifecycle of the mock: read the body, record it, pick the scenario, build the reply and
// deliver it; track client aborts; close() tears down every socket (hung requests included).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildReply, headerRecord, type HandlerConfig } from './handler.js';
import { Recorder } from './recorder.js';
import { OAuthEndpoint } from './oauth.js';
import { matchRoute } from './routes.js';
import { parseScenario } from './scenario.js';
import { isSigV4, MOCK_AWS_CREDENTIALS, verifySigV4, type SigV4Result } from './sigv4.js';
import { deliver, JSON_TYPE } from './sse.js';
import { gemini } from './gemini.js';
import { isVertexPath } from './vertex.js';
import type { MockUpstream, MockUpstreamOptions, RecordedRequest } from './types.js';

function nonNegative(v: number | undefined, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : dflt;
}

function urlHost(host: string): string {
  // A wildcard bind is reachable on loopback; IPv6 literals need brackets in a URL.
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** Last line of defence: a bug in the mock must cost one request, never the process. */
function internalError(res: ServerResponse, err: unknown): void {
  if (res.destroyed) return;
  if (res.headersSent) return void res.destroy();
  const body = JSON.stringify({ type: 'error', error: { type: 'api_error', message: `mock upstream bug: ${String(err)}` } });
  res.writeHead(500, { 'content-type': 'application/json' });
  res.end(body);
}

/** Per-request mutable state shared by the body reader and the close listener. */
interface Ctx {
  rec: RecordedRequest | undefined;
  bodyDone: boolean;
  /** The mock destroyed the socket itself (die-midstream): not a client abort. */
  killed: boolean;
}

export async function startMockUpstream(opts: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const host = opts.host ?? '127.0.0.1';
  const latencyMs = nonNegative(opts.latencyMs, 0);
  const intervalMs = nonNegative(opts.chunkIntervalMs, 0);
  const cfg: HandlerConfig = {
    chunks: Math.max(1, Math.floor(nonNegative(opts.chunks, 3))),
    responseBytes: opts.responseBytes !== undefined && opts.responseBytes > 0 ? opts.responseBytes : undefined,
    checkKeyPrefix: opts.acceptAnyKey !== true,
  };
  // A Vertex path's bearer is an access token this mock minted (checked above), not an API key.
  const vertexCfg: HandlerConfig = { ...cfg, checkKeyPrefix: false };
  const log = opts.log;
  const recorder = new Recorder(opts.record !== false);
  // The URL is known once listening; keyfiles are issued after that.
  let baseUrl = '';
  const oauth = new OAuthEndpoint(() => baseUrl);
  const awsSecrets = new Map([MOCK_AWS_CREDENTIALS, ...(opts.awsCredentials ?? [])].map((c) => [c.accessKeyId, c.secretAccessKey]));
  let seq = 0;
  let closing = false;

  function makeRecord(req: IncomingMessage, path: string, query: string, body: string, json: unknown, at: number): RecordedRequest {
    return {
      method: req.method ?? 'GET',
      path,
      query,
      headers: headerRecord(req.rawHeaders),
      body,
      json,
      receivedAt: at,
      aborted: false,
    };
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const receivedAt = Date.now();
    const url = req.url ?? '/';
    const qi = url.indexOf('?');
    const path = qi < 0 ? url : url.slice(0, qi);
    const query = qi < 0 ? '' : url.slice(qi);
    // Service-account token requests go to their own endpoint and log (oauth.ts).
    if (OAuthEndpoint.isTokenPath(req.method ?? 'GET', path)) return oauth.handle(req, res);
    const ctx: Ctx = { rec: undefined, bodyDone: false, killed: false };
    const chunks: Buffer[] = [];
    let size = 0;

    res.on('close', () => {
      if (log) log(`${req.method} ${url} -> ${res.statusCode}${res.writableFinished ? '' : ' (closed early)'} ${Date.now() - receivedAt}ms`);
      if (res.writableFinished || ctx.killed || closing) return;
      // The client went away first. A request cut off mid-upload has no record yet.
      if (ctx.rec === undefined && !ctx.bodyDone && recorder.enabled) {
        ctx.rec = makeRecord(req, path, query, Buffer.concat(chunks).toString('utf8'), undefined, receivedAt);
        recorder.add(ctx.rec);
      }
      if (ctx.rec !== undefined) recorder.markAborted(ctx.rec);
      else if (recorder.hasAbortWaiters()) recorder.markAborted(makeRecord(req, path, query, '', undefined, receivedAt));
    });
    // An aborted upload emits 'error' on req; without a listener that would crash the process.
    req.on('error', () => {});
    req.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
    });
    req.on('end', () => {
      try {
        onBody();
      } catch (err) {
        internalError(res, err);
      }
    });

    function onBody(): void {
      ctx.bodyDone = true;
      const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      chunks.length = 0;
      const body = size > 0 ? buf.toString('utf8') : '';
      let json: unknown;
      if (size > 0) {
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined; // answered with a 400 in the route's envelope by buildReply
        }
      }
      const authorization = req.headers.authorization;
      let sigv4: SigV4Result | undefined;
      if (isSigV4(authorization)) sigv4 = verifySigV4({ method: req.method ?? 'GET', path, query, rawHeaders: req.rawHeaders, body: buf.subarray(0, size) }, awsSecrets);
      if (recorder.enabled) {
        ctx.rec = makeRecord(req, path, query, body, json, receivedAt);
        if (sigv4) ctx.rec.sigv4 = sigv4.status;
        recorder.add(ctx.rec);
      }
      if (res.destroyed) return;
      const sc = parseScenario(req.headers['x-mock-scenario'], body);
      if (sc.hang) return; // never answer; close() or the client ends it
      const method = req.method ?? 'GET';
      const info = { method, path, query, headers: req.headers, rawHeaders: req.rawHeaders, body, bodyBytes: size, json, sigv4 };
      // Vertex takes only live tokens this mock issued (other credentials: the usual checks).
      const unauthenticated = isVertexPath(path) ? oauth.bearerProblem(req.headers.authorization) : undefined;
      const reply = unauthenticated
        ? { status: 401, headers: { 'content-type': JSON_TYPE }, body: gemini.errorBody(401, unauthenticated) }
        : buildReply(info, matchRoute(path), sc, isVertexPath(path) ? vertexCfg : cfg, ++seq);
      deliver(res, reply, {
        delayMs: sc.slowMs ?? latencyMs,
        intervalMs: sc.intervalMs ?? intervalMs,
        die: sc.die,
        gzip: sc.gzip,
        onKill: () => {
          ctx.killed = true;
        },
      });
    }
  }

  const server = createServer({ noDelay: true }, (req, res) => {
    try {
      onRequest(req, res);
    } catch (err) {
      internalError(res, err);
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(nonNegative(opts.port, 0), host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After startup, socket-level errors must not crash the test process.
  server.on('error', () => {});

  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  baseUrl = `http://${urlHost(host)}:${port}`;

  return {
    url: baseUrl,
    port,
    oauth,
    requests: recorder.requests,
    reset: () => recorder.reset(),
    waitForRequests: (n, timeoutMs) => recorder.waitForRequests(n, timeoutMs),
    waitForAbort: (timeoutMs) => recorder.waitForAbort(timeoutMs),
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        recorder.close();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
