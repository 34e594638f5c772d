/**
 * One client session of the aggregated MCP server: the SDK's `Server` (initialize and
 * version negotiation, ping, cancellation) over its Streamable HTTP transport, with
 * handlers that ask the gateway. Every handler reads the caller from the HTTP request
 * that carried the message (`authInfo`, set per request by handler.ts), never from the
 * session: a session ID grants nothing by itself.
 */
import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { ErrorCode, McpError, type ServerNotification, type ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { Access } from '../access/grants.js';
import type { LazyCancellation } from './cancellation.js';
import type { Snapshot } from '../config/snapshot.js';
import type { Identity } from '../identity/identity.js';

/** Who sent one HTTP request to /v1/mcp, with the snapshot it is judged against. */
export interface Caller {
  identity: Identity;
  access: Access;
  snapshot: Snapshot;
  /** The client's request headers (for captures, redacted there). */
  headers: Record<string, string | string[] | undefined>;
}

export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What a session asks the gateway; each answer is decided for `caller`. */
export interface SessionOps {
  listTools(caller: Caller): Record<string, unknown>[];
  listResources(caller: Caller): Record<string, unknown>[];
  listTemplates(caller: Caller): Record<string, unknown>[];
  callTool(caller: Caller, params: Record<string, unknown>, extra: Extra): Promise<Record<string, unknown>>;
  readResource(caller: Caller, params: Record<string, unknown>, extra: Extra): Promise<Record<string, unknown>>;
}

export interface Session {
  readonly transport: StreamableHTTPServerTransport;
  readonly server: Server;
  /** The login that opened it; another caller presenting its ID gets "session not found". */
  readonly owner: string;
  lastSeen: number;
  /** tools/call requests answered by fast-path.ts, by JSON-RPC id, for cancellation. */
  readonly inflight: Map<string, LazyCancellation>;
}

export const SERVER_INFO = { name: 'keyway', title: 'keyway MCP gateway', version: '0.1.0' };

/** authInfoFor wraps a caller the way the SDK hands it to handlers (`extra.authInfo`). */
export function authInfoFor(caller: Caller): AuthInfo {
  return { token: '', clientId: caller.identity.login, scopes: [], extra: { caller } };
}

function callerOf(extra: Extra): Caller {
  const caller = extra.authInfo?.extra?.caller as Caller | undefined;
  // Unreachable through handler.ts; if it ever happens, nothing is granted.
  if (!caller) throw new McpError(ErrorCode.InvalidRequest, 'access denied: caller has no identity');
  return caller;
}

/**
 * request matches a method and takes its params as they come: the SDK would answer params
 * that fail its own schema with a bare "internal error" (-32603); the handlers check what
 * they use and answer "invalid params" (-32602) instead.
 */
function request<M extends string>(method: M) {
  return z.looseObject({ method: z.literal(method), params: z.unknown().optional() });
}

function paramsOf(req: { params?: unknown }): Record<string, unknown> {
  const p = req.params;
  if (p === undefined || p === null) return {};
  if (typeof p !== 'object' || Array.isArray(p)) throw new McpError(ErrorCode.InvalidParams, 'params must be an object');
  return p as Record<string, unknown>;
}

/** One page holds every item; a cursor keyway never handed out is refused. */
function noCursor(req: { params?: unknown }): void {
  if (paramsOf(req).cursor !== undefined) throw new McpError(ErrorCode.InvalidParams, 'Invalid cursor: keyway answers every listing in one page');
}

/**
 * createSession builds a session's server and transport. `onInitialized` is called with
 * the new session ID once the client's initialize request is accepted; `onClosed` when
 * the session ends (DELETE, expiry, shutdown).
 */
export function createSession(ops: SessionOps, owner: string, onInitialized: (id: string, session: Session) => void, onClosed: (id: string) => void): Session {
  // The SDK answers initialize: it echoes a protocol version it supports
  // (2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25) and answers others with the latest.
  const server = new Server(SERVER_INFO, {
    capabilities: { tools: { listChanged: true }, resources: { listChanged: true } },
    instructions: 'Tools and resources of the MCP servers this keyway gateway connects to, as your grants allow. Tool names are <server>_<tool>; resource URIs are <server>-<uri>.',
  });
  server.setRequestHandler(request('tools/list'), (req, extra) => {
    noCursor(req);
    return { tools: ops.listTools(callerOf(extra)) } as never;
  });
  server.setRequestHandler(request('tools/call'), (req, extra) => ops.callTool(callerOf(extra), paramsOf(req), extra) as never);
  server.setRequestHandler(request('resources/list'), (req, extra) => {
    noCursor(req);
    return { resources: ops.listResources(callerOf(extra)) } as never;
  });
  server.setRequestHandler(request('resources/templates/list'), (req, extra) => {
    noCursor(req);
    return { resourceTemplates: ops.listTemplates(callerOf(extra)) } as never;
  });
  server.setRequestHandler(request('resources/read'), (req, extra) => ops.readResource(callerOf(extra), paramsOf(req), extra) as never);

  let session: Session;
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: randomUUID,
    onsessioninitialized: (id) => onInitialized(id, session),
    onsessionclosed: (id) => onClosed(id),
  });
  transport.onclose = () => {
    if (transport.sessionId) onClosed(transport.sessionId);
  };
  session = { transport, server, owner, lastSeen: Date.now(), inflight: new Map() };
  return session;
}
