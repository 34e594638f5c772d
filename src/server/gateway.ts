/**
 * The HTTP front door. Every request is identified first (no identity, no service),
 * then dispatched: provider API paths to the inference pipeline, keyway's own paths
 * (`/api/…`, `/aperture/…`, `/v1/models`) to their handlers. Provider paths are checked
 * first with one Map lookup, since they carry nearly all the traffic.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { GatewayError } from '../errors.js';
import { formatForPath, isResponsesPath, matchRoute } from '../formats/registry.js';
import type { ApiFormat } from '../formats/types.js';
import type { Identity } from '../identity/identity.js';
import { explain, explainDraft, whoami } from './access-api.js';
import { guardBrowserRequest } from './browser-guard.js';
import { guardConnections } from './connection-guard.js';
import { handleAdmin } from './admin-api.js';
import { listInferenceProfiles } from './bedrock-profiles.js';
import { acceptCleartextHttp2 } from './h2c.js';
import { handleExportApi } from './export-api.js';
import { listingBody, retrieveGeminiModel, retrieveModel } from './catalog-endpoints.js';
import type { GatewayContext } from './context.js';
import { handleChatApi } from './chat-api.js';
import { DIRECT_PREFIX, handleDirect } from './direct.js';
import { handleInference } from './inference.js';
import { testModel } from './models-test.js';
import { handleQuotasApi } from './quotas-api.js';
import { handleTelemetryApi } from './telemetry-api.js';
import { sendError, sendJson, sendJsonBody, toGatewayError } from './respond.js';
import { serveUi } from './static.js';
import { hostOf } from './host-allowlist.js';
import { isMcpPath, MCP_ERRORS } from '../mcp/json-rpc.js';

export interface Gateway {
  server: Server;
  /** close stops accepting connections and waits up to `graceMs` for requests in flight. */
  close(graceMs?: number): Promise<void>;
}

export function createGateway(ctx: GatewayContext): Gateway {
  const { headerTimeoutMs } = ctx.clientLimits;
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(ctx, req, res).catch((err) => failRequest(ctx, req, res, err));
  };
  const server = createServer(
    {
      keepAliveTimeout: KEEP_ALIVE_MS,
      // No bound on a whole request: an upload may be large and a response stream long.
      // Headers have their own bound, and a body may not pause for longer than bodyTimeoutMs.
      requestTimeout: 0,
      headersTimeout: headerTimeoutMs,
      // Node checks header deadlines on this interval (30 s by default, too coarse for a 30 s bound).
      connectionsCheckingInterval: Math.max(250, Math.min(5_000, Math.floor(headerTimeoutMs / 4))),
    },
    onRequest,
  );
  // The AWS SDK's Bedrock Runtime client speaks only HTTP/2 by default (docs/clients.md).
  const http2 = acceptCleartextHttp2(server, onRequest, { idleMs: KEEP_ALIVE_MS, firstBytesMs: headerTimeoutMs });
  guardConnections(server, ctx.clientLimits, ctx.log);
  // Codex first tries a WebSocket on GET /v1/responses; 426 makes it fall back to HTTP at once.
  server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    const body = JSON.stringify({ error: { message: 'WebSocket transport is not supported; use HTTP', type: 'invalid_request_error', code: 'upgrade_required' } });
    socket.end(
      `HTTP/1.1 426 Upgrade Required\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    socket.on('error', () => {});
  });
  return {
    server,
    close: (graceMs = 10_000) => {
      http2.close(graceMs);
      return closeServer(server, graceMs);
    },
  };
}

const KEEP_ALIVE_MS = 65_000;

async function handle(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const pathname = q < 0 ? url : url.slice(0, q);
  const query = q < 0 ? '' : url.slice(q);

  // Liveness and readiness probes reveal nothing, and load balancers send them under any name.
  if (pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
  if (pathname === '/readyz') return readiness(ctx, res);
  // Before identity: a name keyway does not know may be a DNS-rebinding page.
  const host = req.headers.host;
  if (!ctx.hosts.allows(host)) {
    const shown = JSON.stringify(String(host).slice(0, 255));
    throw new GatewayError('UNKNOWN_HOST', `this gateway does not answer for host ${shown}; if that is one of its names, start keyway with --host-name ${hostOf(String(host)).slice(0, 255)} (or add it to KEYWAY_HOSTNAMES)`);
  }
  armBodyTimeout(req, res, ctx.clientLimits.bodyTimeoutMs);

  const found = ctx.identity.identify(req);
  const identity = found instanceof Promise ? await found : found;
  if (!identity) throw new GatewayError('PEER_REFUSED', 'access denied: this gateway only serves identified callers (loopback in the embedded mode)');
  if (guardBrowserRequest(req, res, pathname, ctx.config.current.accessFor(identity))) return;

  if (pathname.startsWith(DIRECT_PREFIX)) return handleDirect(ctx, req, res, pathname, query, identity);
  const method = req.method ?? 'GET';
  const route = matchRoute(pathname);
  if (route) {
    if (method === 'GET' && isResponsesPath(pathname)) throw new GatewayError('UPGRADE_REQUIRED');
    if (method !== 'POST') throw new GatewayError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${pathname}; use POST`, { headers: { allow: 'POST' } });
    return handleInference(ctx, req, res, route, query, identity);
  }
  return handleOwnRoutes(ctx, req, res, pathname, query, identity);
}

async function handleOwnRoutes(
  ctx: GatewayContext,
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  query: string,
  identity: Identity,
): Promise<void> {
  const method = req.method ?? 'GET';
  const snapshot = ctx.config.current;
  const access = snapshot.accessFor(identity);

  if (isMcpPath(pathname) || pathname.startsWith('/v1/connectors/')) return ctx.mcp.handle(req, res, pathname, query, identity);
  if ((method === 'GET' || method === 'HEAD') && (await serveUi(req, res, pathname))) return;
  if (pathname === '/' && (method === 'GET' || method === 'HEAD')) {
    // Clients (Claude Code) send HEAD / to warm the connection up; answer cheaply.
    return sendJson(res, 200, { name: 'keyway', models: '/v1/models', providers: '/api/providers' });
  }

  if (pathname === '/api/whoami' && method === 'GET') return sendJson(res, 200, whoami(ctx, identity, access), { 'cache-control': 'no-store' });
  if (pathname === '/metrics' && method === 'GET') {
    await handleTelemetryApi({ telemetry: ctx.telemetry, res, pathname, query: new URLSearchParams(query), identity, access });
    return;
  }
  if (pathname.startsWith('/api/') || pathname.startsWith('/aperture/') || pathname === '/v1/models' || pathname === '/v1beta/models' || isModelPath(pathname) || pathname === BEDROCK_PROFILES) {
    if (access.role === undefined) throw new GatewayError('NO_ROLE');
    // Every state-changing call below is checked against cross-site requests first.
    if (method !== 'GET' && method !== 'HEAD') ctx.csrf.check(req, identity.login);
    if (method === 'GET' && (await handleTelemetryApi({ telemetry: ctx.telemetry, res, pathname, query: new URLSearchParams(query), identity, access }))) return;
    if (pathname === '/api/explain' && method === 'GET') return explain(ctx, res, snapshot, identity, access, new URLSearchParams(query));
    if (pathname === '/api/explain' && method === 'POST') return explainDraft(ctx, req, res, access);
    if (pathname === '/api/models/test' && method === 'POST') return testModel(ctx, req, res, identity, access);
    if (await handleChatApi({ ctx, req, res, pathname, identity, access })) return;
    if (await handleQuotasApi({ ctx, req, res, pathname, query: new URLSearchParams(query), identity, access })) return;
    if (await handleExportApi({ telemetry: ctx.telemetry, snapshot, res, method, pathname, access })) return;
    // Serialized once per snapshot and set of granted models, then served as is.
    if (pathname === '/v1/models' && method === 'GET') return sendJsonBody(res, 200, listingBody('models', snapshot, access, ctx.modelDates, ctx.translation));
    if (pathname === '/v1beta/models' && method === 'GET') return sendJsonBody(res, 200, listingBody('gemini', snapshot, access, ctx.modelDates, ctx.translation));
    if (pathname === '/api/providers' && method === 'GET') return sendJsonBody(res, 200, listingBody('providers', snapshot, access, ctx.modelDates, ctx.translation));
    if (method === 'GET' && pathname.startsWith(MODEL_PATH)) {
      const id = modelId(pathname, MODEL_PATH);
      return sendJson(res, 200, found(retrieveModel(snapshot, access, ctx.modelDates, id, ctx.translation), id));
    }
    if (method === 'GET' && pathname.startsWith(GEMINI_MODEL_PATH)) {
      const id = modelId(pathname, GEMINI_MODEL_PATH);
      return sendJson(res, 200, found(retrieveGeminiModel(snapshot, access, id, ctx.translation), id));
    }
    // Claude Code in Bedrock mode asks this first; errors here are in Bedrock's shape (formatForPath).
    if (pathname === BEDROCK_PROFILES && method === 'GET') return sendJson(res, 200, listInferenceProfiles(snapshot, access, new URLSearchParams(query)));
    if (pathname === '/api/connectors' && method === 'GET') return sendJson(res, 200, ctx.mcp.connectorList(access), { 'cache-control': 'no-store' });
    if (pathname === '/api/health' && method === 'GET') return sendJson(res, 200, { status: 'ok', config_hash: snapshot.hash });
    const handled = await handleAdmin({ ctx, req, res, pathname, query: new URLSearchParams(query), identity, access });
    if (handled) return;
  }
  throw new GatewayError('UNKNOWN_ROUTE', `no such endpoint: ${method} ${pathname}`);
}

/**
 * armBodyTimeout bounds the pause between two pieces of a request body: each byte from
 * the client restarts the timer, and when it runs out readBody answers BODY_TIMEOUT (or,
 * when nothing reads the body, the connection is closed). It is disarmed once the body
 * has arrived or the answer is sent, so it never cuts a long response stream. A timer of
 * its own rather than the socket's timeout, which Node uses for keep-alive.
 */
function armBodyTimeout(req: IncomingMessage, res: ServerResponse, ms: number): void {
  // HTTP/2: the request's own stream, which says whether a body follows the headers.
  // node:http2 starts passing its data to the request only once the request is read, and
  // a listener before that would take the body away, so it is added on `resume`.
  const http2 = req.httpVersionMajor >= 2;
  const stream = http2 ? (req as unknown as { stream: Duplex & { endAfterHeaders: boolean } }).stream : undefined;
  const noBody = stream ? stream.endAfterHeaders : req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined;
  if (ms <= 0 || req.complete || noBody) return;
  const socket: NodeJS.EventEmitter & { destroy(): void } = stream ?? req.socket;
  const timer = setTimeout(() => {
    disarm();
    if (req.listenerCount('timeout') > 0) req.emit('timeout');
    else socket.destroy();
  }, ms);
  const restart = () => timer.refresh();
  const listen = () => socket.on('data', restart);
  const disarm = () => {
    clearTimeout(timer);
    socket.off('data', restart);
    req.off('resume', listen);
    req.off('end', disarm);
    res.off('finish', disarm);
    res.off('close', disarm);
  };
  if (http2) req.once('resume', listen);
  else listen();
  req.once('end', disarm);
  res.once('finish', disarm);
  res.once('close', disarm);
}

// `GET /v1/models/{id}` (OpenAI and Anthropic SDKs) and `GET /v1beta/models/{id}` (Google's).
// POSTs under these prefixes are Gemini calls, matched before this as inference routes.
const MODEL_PATH = '/v1/models/';
const GEMINI_MODEL_PATH = '/v1beta/models/';

function isModelPath(pathname: string): boolean {
  return pathname.startsWith(MODEL_PATH) || pathname.startsWith(GEMINI_MODEL_PATH);
}

/** modelId is the model named after `prefix`; SDKs send `provider/model` as one %2F-escaped segment, curl with a plain slash. */
function modelId(pathname: string, prefix: string): string {
  const raw = pathname.slice(prefix.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new GatewayError('BAD_MODEL_NAME', `model name in the path is not valid percent-encoding: ${raw}`);
  }
}

/** found returns the model, or the 404 that says the same for "no such model" and "not granted". */
function found<T>(model: T | undefined, id: string): T {
  if (model === undefined) throw new GatewayError('UNKNOWN_MODEL', `model "${id}" is not available to you; GET /v1/models lists the models you can use`);
  return model;
}

function failRequest(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse, err: unknown): void {
  const error = toGatewayError(err);
  if (error.code === 'INTERNAL') ctx.log.error({ err: error.cause, path: req.url?.split('?')[0] }, 'request failed');
  const pathname = (req.url ?? '/').split('?')[0]!;
  const format: Pick<ApiFormat, 'renderError'> | undefined = isMcpPath(pathname) ? MCP_ERRORS : isOwnPath(pathname) ? undefined : formatForPath(pathname, req.headers);
  sendError(res, error, format);
}

const BEDROCK_PROFILES = '/bedrock/inference-profiles';

function isOwnPath(pathname: string): boolean {
  return pathname.startsWith('/api/') || pathname.startsWith('/aperture/') || pathname.startsWith('/v1/connectors/') || pathname.startsWith('/ui') || pathname.startsWith('/chat') || pathname === '/healthz' || pathname === '/readyz' || pathname === '/metrics';
}

/**
 * readiness answers a load balancer: 200 once the configuration is loaded (the server only
 * listens after that), 503 with a short reason while the configuration's database does
 * not answer or keyway is shutting down. The reason is a fixed phrase, never an address.
 */
function readiness(ctx: GatewayContext, res: ServerResponse): void {
  const reason = ctx.notReady?.();
  if (reason === undefined) return sendJson(res, 200, { status: 'ready' }, { 'cache-control': 'no-store' });
  sendJson(res, 503, { status: 'not ready', reason }, { 'cache-control': 'no-store' });
}

/**
 * closeServer stops accepting, lets requests in flight finish for up to `graceMs`, then
 * cuts what is left. A keep-alive connection whose last answer ends during the drain is
 * closed as soon as it is idle (checked every 100 ms): server.close closes only the ones
 * idle when it is called, and a client holding one open would keep the drain to its end.
 */
function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    const idle = setInterval(() => server.closeIdleConnections(), 100);
    idle.unref();
    server.close(() => {
      clearTimeout(timer);
      clearInterval(idle);
      resolve();
    });
    server.closeIdleConnections();
  });
}
