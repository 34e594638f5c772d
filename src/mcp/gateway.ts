/**
 * McpGateway is keyway's MCP side: the aggregated server at `/v1/mcp` (one SDK session
 * per client), the upstream servers of the configuration (catalog.ts) and their health
 * poll, registrations (`/v1/mcp/register`) and HTTP connectors (`/v1/connectors/<id>/…`).
 * server/gateway.ts identifies the caller and hands the request here; identity and
 * grants are checked again for every message, against the snapshot of its request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { Agent } from 'undici';
import type { Access } from '../access/grants.js';
import type { ConfigRuntime } from '../config/runtime.js';
import type { Snapshot } from '../config/snapshot.js';
import { GatewayError } from '../errors.js';
import type { Identity } from '../identity/identity.js';
import { readBody } from '../server/body.js';
import { BUILTIN_BY_NAME } from './builtin.js';
import type { Cancellation } from './cancellation.js';
import { McpCatalog, speaksMcp } from './catalog.js';
import { ConnectorProxy } from './connector-proxy.js';
import { DirectTimeout, UpstreamRpcError } from './direct-call.js';
import { tryFastPath, type FastOps, type ListKind } from './fast-path.js';
import { listConnectors, type ConnectorInfo } from './connectors-api.js';
import { createMcpAgent } from './http-client.js';
import { jsonRpcError, RPC } from './json-rpc.js';
import { Registrations } from './registration.js';
import { loadMcpRuntime, mcpRuntime, requireMcpRuntime } from './runtime.js';
import type { Caller, Extra, Session, SessionOps } from './session.js';
import { splitTool } from './names.js';
import type { ServerStatus, UpstreamServer } from './upstream.js';

/** One finished (or refused) tools/call, for telemetry and metrics. */
export interface ToolCallEvent {
  caller: Caller;
  startedAt: number;
  durationMs: number;
  /** The name the client called (`server_tool`). */
  name: string;
  /** The server and upstream tool name when the name resolved to one the caller may use. */
  server: string | null;
  tool: string | null;
  outcome: ToolCallOutcome;
  /** The JSON-RPC error code when the call ended in one. */
  rpcCode: number | null;
  /** Sizes of the arguments and of the result (or error), as JSON. */
  requestBytes: number;
  responseBytes: number;
  /** The JSON texts, for captures. */
  argumentsText: string;
  resultText: string;
}

/**
 * ok: a result; tool_error: a result with isError; refused: a tool that exists but the
 * caller may not use (the caller saw "not found"); unknown: no such tool; invalid: a
 * malformed call; upstream_error: the server answered with a JSON-RPC error; unavailable:
 * the server could not be reached; timeout; cancelled: the client cancelled or went away.
 */
export type ToolCallOutcome = 'ok' | 'tool_error' | 'refused' | 'unknown' | 'invalid' | 'upstream_error' | 'unavailable' | 'timeout' | 'cancelled';

/** What callTool leaves for fast-path.ts: the result's JSON text, and the telemetry to run after the answer. */
export interface CallOut {
  text?: string;
  record?: () => void;
}

export interface McpObserver {
  onToolCall(event: ToolCallEvent): void;
  onTransition(server: string, from: ServerStatus, to: ServerStatus): void;
}

export interface McpGatewayOptions {
  config: ConfigRuntime;
  log: Logger;
  bodyLimit: number;
  /** How often servers are listed again (health check); the reference polls every 5 s. */
  pollIntervalMs?: number;
  /** Sessions without a request for this long are closed. */
  sessionIdleMs?: number;
  observer?: McpObserver;
}

export const DEFAULT_POLL_INTERVAL_MS = 5_000;
const DEFAULT_SESSION_IDLE_MS = 3_600_000;
const MAX_SESSIONS = 10_000;

export class McpGateway implements SessionOps, FastOps {
  readonly catalog: McpCatalog;
  readonly registrations: Registrations;
  readonly connectors: ConnectorProxy;
  private readonly agent: Agent;
  private readonly sessions = new Map<string, Session>();
  private readonly poller: NodeJS.Timeout;
  private readonly sweeper: NodeJS.Timeout;
  private listChangedTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  observer: McpObserver | undefined;
  /** The SDK loading for the configuration's first MCP servers, which connect once it has. */
  private loading: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: McpGatewayOptions) {
    this.log = options.log;
    this.observer = options.observer;
    this.agent = createMcpAgent();
    this.catalog = new McpCatalog(this.agent, this.log, {
      onListChanged: () => this.scheduleListChanged(),
      onTransition: (server, from, to) => this.onTransition(server, from, to),
    });
    this.registrations = new Registrations(this.catalog, this.log);
    this.registrations.self = () => options.config.selfAddress;
    this.connectors = new ConnectorProxy(this.agent, this.log, options.bodyLimit);
    this.apply(options.config.current);
    options.config.on('applied', (snapshot) => this.apply(snapshot));
    this.poller = setInterval(() => void this.catalog.refreshAll(), options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS);
    this.poller.unref();
    const idle = options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;
    this.sweeper = setInterval(() => this.sweep(idle), Math.min(60_000, idle));
    this.sweeper.unref();
  }

  /**
   * apply follows a configuration: servers added, changed and removed; registrations
   * opened or closed. The first configuration that names an MCP server loads the SDK
   * (runtime.ts), and the servers are connected once it is loaded, as the configuration
   * then stands.
   */
  private apply(snapshot: Snapshot): void {
    const mcp = snapshot.config.mcp;
    this.connectors.apply(mcp.servers);
    this.registrations.setAccepting(mcp.acceptRegistrations);
    if (mcpRuntime() || !mcp.servers.some(speaksMcp)) return this.reconcile(snapshot);
    this.loading = loadMcpRuntime().then(
      () => this.reconcile(this.options.config.current),
      (err: unknown) => this.log.error({ err: (err as Error).message }, 'could not load the MCP SDK; MCP servers are not connected'),
    );
  }

  private reconcile(snapshot: Snapshot): void {
    if (this.closed) return;
    for (const server of this.catalog.reconcile(snapshot.config.mcp.servers)) void server.refresh();
  }

  /** ready resolves when every server has been tried once (tests, start-up). */
  async ready(): Promise<void> {
    await this.loading;
    return this.catalog.refreshAll();
  }

  private onTransition(server: UpstreamServer, from: ServerStatus, to: ServerStatus): void {
    if (to === 'up') this.log.info({ server: server.id, tools: server.tools.length, resources: server.resources.length }, 'MCP server available; its tools are listed');
    else if (to === 'down') this.log.warn({ server: server.id, reason: server.lastError, was: from }, 'MCP server unavailable; its tools are hidden until it recovers');
    this.observer?.onTransition(server.id, from, to);
  }

  /** handle serves /v1/mcp, /v1/mcp/register and /v1/connectors/…; the caller is identified already. */
  async handle(req: IncomingMessage, res: ServerResponse, pathname: string, query: string, identity: Identity): Promise<void> {
    const snapshot = this.options.config.current;
    const access = snapshot.accessFor(identity);
    if (access.role === undefined) throw new GatewayError('NO_ROLE');
    const caller: Caller = { identity, access, snapshot, headers: req.headers };
    // The SDK is loaded on the first MCP request (runtime.ts); connectors are plain HTTP.
    if (!mcpRuntime() && (pathname === '/v1/mcp' || pathname === '/v1/mcp/register')) await loadMcpRuntime();
    if (pathname === '/v1/mcp') return this.serveMcp(req, res, caller);
    if (pathname === '/v1/mcp/register') return this.registrations.handle(req, res, caller, this.options.bodyLimit);
    if (pathname.startsWith('/v1/connectors/')) return this.connectors.handle(req, res, pathname, query, caller);
    throw new GatewayError('UNKNOWN_ROUTE', `no such endpoint: ${req.method ?? 'GET'} ${pathname}`);
  }

  private async serveMcp(req: IncomingMessage, res: ServerResponse, caller: Caller): Promise<void> {
    const method = req.method ?? 'GET';
    if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') {
      throw new GatewayError('METHOD_NOT_ALLOWED', `${method} is not allowed on /v1/mcp; use POST, GET or DELETE`, { headers: { allow: 'GET, POST, DELETE' } });
    }
    let body: unknown;
    if (method === 'POST') {
      const text = (await readBody(req, this.options.bodyLimit)).toString('utf8');
      try {
        body = JSON.parse(text);
      } catch {
        return rpcError(res, 400, RPC.PARSE_ERROR, 'Parse error: the body is not valid JSON');
      }
    }
    const sessionId = req.headers['mcp-session-id'];
    let session: Session | undefined;
    if (typeof sessionId === 'string') {
      session = this.sessions.get(sessionId);
      // Another caller's session is no session: its ID grants nothing and reveals nothing.
      if (!session || session.owner !== caller.identity.login) return rpcError(res, 404, RPC.SESSION_NOT_FOUND, 'Session not found');
    } else if (method === 'POST' && isInitialize(body)) {
      session = await this.openSession(caller.identity.login);
    } else {
      return rpcError(res, 400, RPC.SERVER_ERROR, 'Bad Request: Mcp-Session-Id header is required (send initialize first)');
    }
    session.lastSeen = Date.now();
    if (method === 'POST' && tryFastPath(req, res, body, session, caller, this)) return;
    (req as IncomingMessage & { auth?: unknown }).auth = requireMcpRuntime().authInfoFor(caller);
    await session.transport.handleRequest(req, res, body);
  }

  private async openSession(owner: string): Promise<Session> {
    if (this.sessions.size >= MAX_SESSIONS) this.evictOldest();
    const session = requireMcpRuntime().createSession(
      this,
      owner,
      (id, s) => this.sessions.set(id, s),
      (id) => this.sessions.delete(id),
    );
    await session.server.connect(session.transport);
    return session;
  }

  private evictOldest(): void {
    let oldest: [string, Session] | undefined;
    for (const entry of this.sessions) if (!oldest || entry[1].lastSeen < oldest[1].lastSeen) oldest = entry;
    if (oldest) this.closeSession(oldest[0], oldest[1]);
  }

  private sweep(idleMs: number): void {
    const cutoff = Date.now() - idleMs;
    for (const [id, s] of this.sessions) if (s.lastSeen < cutoff) this.closeSession(id, s);
  }

  private closeSession(id: string, session: Session): void {
    this.sessions.delete(id);
    void session.server.close().catch(() => {});
  }

  /** Coalesces a burst of listing changes (a poll round) into one notification per session. */
  private scheduleListChanged(): void {
    if (this.listChangedTimer) return;
    this.listChangedTimer = setTimeout(() => {
      this.listChangedTimer = undefined;
      for (const s of this.sessions.values()) {
        void s.server.sendToolListChanged().catch(() => {});
        void s.server.sendResourceListChanged().catch(() => {});
      }
    }, 50);
    this.listChangedTimer.unref();
  }

  /** connectorList answers GET /api/connectors for a caller. */
  connectorList(access: Access): { connectors: ConnectorInfo[] } {
    return listConnectors(this.options.config.current, this.catalog, this.connectors, access);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  // ---- SessionOps: every answer decided for the caller of the message ----

  listJson(caller: Caller, kind: ListKind): string {
    return this.catalog.visibleJson(caller.access.mcp, kind);
  }

  listTools(caller: Caller): Record<string, unknown>[] {
    return this.catalog.visible(caller.access.mcp).tools;
  }

  listResources(caller: Caller): Record<string, unknown>[] {
    return this.catalog.visible(caller.access.mcp).resources;
  }

  listTemplates(caller: Caller): Record<string, unknown>[] {
    return this.catalog.visible(caller.access.mcp).templates;
  }

  /**
   * callTool answers tools/call for `caller`. With `out` (fast-path.ts), `out.text` receives
   * the result's JSON as the upstream wrote it when direct-call.ts could take it from the
   * answer, and the call's telemetry is left in `out.record` for the caller to run once the
   * answer is written: the client does not wait for the record, the capture or the metrics.
   * `cancel` is the call's cancellation when it is not `extra.signal` (fast-path.ts's lazy one).
   */
  async callTool(caller: Caller, params: Record<string, unknown>, extra: Extra, out?: CallOut, cancel: Cancellation = extra.signal): Promise<Record<string, unknown>> {
    const startedAt = Date.now();
    const started = performance.now();
    const name = typeof params.name === 'string' ? params.name : '';
    const args = params.arguments;
    // `text`: the result's JSON as the upstream wrote it, when direct-call.ts could take it from the answer.
    const finish = (outcome: ToolCallOutcome, server: string | null, tool: string | null, result: unknown, rpcCode: number | null, text?: string) => {
      if (out && text !== undefined) out.text = text;
      const observer = this.observer;
      if (!observer) return;
      const durationMs = performance.now() - started;
      const record = () => {
        const argumentsText = safeJson(args ?? {});
        // A result's JSON is made once: the upstream's text, or the one fast-path.ts answered with.
        const resultText = text ?? (rpcCode === null ? out?.text : undefined) ?? safeJson(result);
        observer.onToolCall({
          caller, startedAt, durationMs, name, server, tool, outcome, rpcCode,
          requestBytes: Buffer.byteLength(argumentsText), responseBytes: Buffer.byteLength(resultText), argumentsText, resultText,
        });
      };
      if (out) out.record = record;
      else record();
    };
    if (name === '' || (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args)))) {
      const message = name === '' ? 'tools/call needs a "name" string' : 'tools/call "arguments" must be an object';
      finish('invalid', null, null, { error: message }, RPC.INVALID_PARAMS);
      throw rpcFailure(RPC.INVALID_PARAMS, message);
    }

    const builtin = BUILTIN_BY_NAME.get(name);
    if (builtin) {
      const result = builtin.run((args ?? {}) as Record<string, unknown>, new Date());
      finish(result.isError ? 'tool_error' : 'ok', 'internal', name.slice('internal_'.length), result, null);
      return result;
    }

    const found = this.catalog.findTool(name, caller.access.mcp);
    if (!found) {
      // Refused and unknown look the same to the caller, and neither reaches an upstream.
      const split = splitTool(name);
      const exists = split ? this.catalog.get(split[0])?.tool(split[1]) !== undefined && this.catalog.get(split[0])?.status === 'up' : false;
      const message = `Tool ${name} not found`;
      finish(exists ? 'refused' : 'unknown', exists ? split![0] : null, exists ? split![1] : null, { error: message }, RPC.INVALID_PARAMS);
      throw rpcFailure(RPC.INVALID_PARAMS, message);
    }

    const { server, tool } = found;
    const forwarded = forwardParams(params, tool.upstream);
    const progressToken = (params._meta as { progressToken?: unknown } | undefined)?.progressToken;
    const onprogress = progressToken === undefined ? undefined : relayProgress(extra, progressToken as string | number);
    const raw: { text?: string } = {};
    try {
      const result = await server.request('tools/call', forwarded, { signal: cancel, onprogress, raw });
      finish(result.isError === true ? 'tool_error' : 'ok', server.id, tool.upstream, result, null, raw.text);
      return result;
    } catch (err) {
      const failure = failureOf(err, server.id, cancel);
      finish(failure.outcome, server.id, tool.upstream, { error: failure.error.message }, failure.error.code);
      throw failure.error;
    }
  }

  async readResource(caller: Caller, params: Record<string, unknown>, extra: Extra): Promise<Record<string, unknown>> {
    const uri = typeof params.uri === 'string' ? params.uri : '';
    const found = uri === '' ? undefined : this.catalog.findResource(uri, caller.access.mcp);
    if (!found) throw rpcFailure(RPC.INVALID_PARAMS, `Resource ${uri} not found`);
    try {
      const result = await found.server.request('resources/read', { ...params, uri: found.uri }, { signal: extra.signal });
      // The contents name the upstream's URIs: give them back in the names the client knows.
      const contents = Array.isArray(result.contents) ? result.contents : [];
      return { ...result, contents: contents.map((c: Record<string, unknown>) => (typeof c.uri === 'string' ? { ...c, uri: `${found.server.id}-${c.uri}` } : c)) };
    } catch (err) {
      throw failureOf(err, found.server.id, extra.signal).error;
    }
  }

  /** close ends every session and upstream connection (shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    await this.loading;
    clearInterval(this.poller);
    clearInterval(this.sweeper);
    clearTimeout(this.listChangedTimer);
    this.registrations.closeAll();
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.allSettled(sessions.map((s) => s.server.close()));
    await this.catalog.close();
    await this.connectors.close();
    await this.agent.close().catch(() => {});
  }
}

function isInitialize(body: unknown): boolean {
  return body !== null && typeof body === 'object' && !Array.isArray(body) && (body as { method?: unknown }).method === 'initialize';
}

function rpcError(res: ServerResponse, status: number, code: number, message: string): void {
  const body = jsonRpcError(code, message);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** forwardParams is the call as the upstream gets it: its own tool name, the client's progress token left to the SDK. */
function forwardParams(params: Record<string, unknown>, upstreamName: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...params, name: upstreamName };
  const meta = params._meta as Record<string, unknown> | undefined;
  if (meta && typeof meta === 'object' && 'progressToken' in meta) {
    const { progressToken: _dropped, ...rest } = meta;
    if (Object.keys(rest).length > 0) out._meta = rest;
    else delete out._meta;
  }
  return out;
}

/** relayProgress sends the upstream's progress on to the client, under the client's own token. */
function relayProgress(extra: Extra, progressToken: string | number): (p: Progress) => void {
  return (p) => {
    void extra.sendNotification({ method: 'notifications/progress', params: { ...p, progressToken } }).catch(() => {});
  };
}

/** failureOf maps a failed forward to what the client sees and how it is recorded. */
function failureOf(err: unknown, server: string, signal: Cancellation): { outcome: ToolCallOutcome; error: RpcFailure } {
  if (signal.aborted) return { outcome: 'cancelled', error: rpcFailure(RPC.REQUEST_TIMEOUT, 'Request cancelled') };
  if (err instanceof DirectTimeout) return { outcome: 'timeout', error: rpcFailure(RPC.REQUEST_TIMEOUT, `MCP server ${server} did not answer in time`) };
  if (err instanceof UpstreamRpcError) return { outcome: 'upstream_error', error: rpcFailure(err.code, err.message, err.data) };
  // An McpError comes from the SDK's client, so the SDK is loaded when there is one.
  const McpError = mcpRuntime()?.McpError;
  if (McpError && err instanceof McpError) {
    if (err.code === RPC.REQUEST_TIMEOUT) return { outcome: 'timeout', error: rpcFailure(RPC.REQUEST_TIMEOUT, `MCP server ${server} did not answer in time`) };
    if (err.code === RPC.CONNECTION_CLOSED) return { outcome: 'unavailable', error: rpcFailure(RPC.SERVER_ERROR, `MCP server ${server} closed the connection`) };
    // The upstream's own JSON-RPC error, relayed as it wrote it (the SDK prefixed its message).
    const prefix = `MCP error ${err.code}: `;
    return { outcome: 'upstream_error', error: rpcFailure(err.code, err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message, err.data) };
  }
  // A transport failure: its text may hold the server's URL, which the caller need not see.
  return { outcome: 'unavailable', error: rpcFailure(RPC.SERVER_ERROR, `MCP server ${server} could not be reached`) };
}

/** An error the SDK's server sends as `{code, message, data}` as it is (McpError would prefix the message). */
type RpcFailure = Error & { code: number; data?: unknown };

function rpcFailure(code: number, message: string, data?: unknown): RpcFailure {
  return Object.assign(new Error(message), data === undefined ? { code } : { code, data });
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return '';
  }
}
