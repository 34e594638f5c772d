/**
 * A real MCP server on loopback, built on the official SDK, for tests, the benchmark and
 * the client end-to-end suite: tools, resources and templates given as plain data (JSON
 * Schemas as written), Streamable HTTP (or the legacy HTTP+SSE transport), an optional
 * required credential, and every HTTP request it receives recorded (headers included) so
 * a test can see exactly what keyway sent. It can be stopped and started again on the
 * same port (a server that goes down and comes back) and change its tools at run time.
 *
 * Tool behaviours: a tool's `run` returns the result; `echo`-style tools can be built from
 * `echoTool`. Progress is sent when the caller asked for it and the tool says `progress`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';

export interface MockTool {
  name: string;
  description?: string;
  inputSchema?: Record<string, unknown>;
  /** Extra fields of the definition (annotations, outputSchema, _meta…), sent as written. */
  extra?: Record<string, unknown>;
  /** Sends this many progress notifications first (when the caller gave a progress token). */
  progress?: number;
  /** Waits this long before answering (for cancellation). */
  delayMs?: number;
  run?(args: Record<string, unknown>, context: { headers: Record<string, string | string[] | undefined> }): Record<string, unknown> | Promise<Record<string, unknown>>;
}

export interface MockResource {
  uri: string;
  name: string;
  text: string;
  mimeType?: string;
}

export interface MockMcpServerOptions {
  name?: string;
  tools?: MockTool[];
  resources?: MockResource[];
  /** URI templates; reading a URI one matches answers `template <uri>`. */
  templates?: Array<{ uriTemplate: string; name: string }>;
  /** Every request must carry this header with this value, else 401. */
  requireHeader?: [string, string];
  /** Every request must pass this check, else 401 (a credential that changes over time). */
  authorize?: (headers: Record<string, string | string[] | undefined>) => boolean;
  /** Serve only the legacy HTTP+SSE transport (GET /sse, POST /messages). */
  legacySse?: boolean;
  /** Answer every request with one JSON body instead of an SSE stream (the SDK's enableJsonResponse). */
  jsonResponse?: boolean;
  /** Port to listen on (default 0: any). */
  port?: number;
  /** Path of the MCP endpoint (default `/mcp`). */
  path?: string;
}

export interface RecordedMcpRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The JSON-RPC method(s) of a POST. */
  rpc: string[];
  body: string;
}

export interface MockMcpServer {
  url: string;
  port: number;
  requests: RecordedMcpRequest[];
  /** Tool calls received: name and arguments. */
  calls: Array<{ name: string; arguments: Record<string, unknown> }>;
  /** Cancellation notifications received. */
  cancelled: Array<string | number>;
  setTools(tools: MockTool[]): void;
  /** stop closes the listener and every connection (the server is down). */
  stop(): Promise<void>;
  /** start listens again on the same port, with fresh sessions (the server restarted). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** echoTool answers with its arguments as text. */
export function echoTool(name = 'echo', extra: Partial<MockTool> = {}): MockTool {
  return {
    name,
    description: `Echoes its arguments (${name})`,
    inputSchema: { type: 'object', properties: { text: { type: 'string', description: 'what to echo' } }, required: ['text'], additionalProperties: false },
    run: (args) => ({ content: [{ type: 'text', text: `echo: ${String(args.text ?? JSON.stringify(args))}` }] }),
    ...extra,
  };
}

export async function startMockMcpServer(options: MockMcpServerOptions = {}): Promise<MockMcpServer> {
  let tools = options.tools ?? [echoTool()];
  const resources = options.resources ?? [];
  const templates = options.templates ?? [];
  const path = options.path ?? '/mcp';
  const requests: RecordedMcpRequest[] = [];
  const calls: MockMcpServer['calls'] = [];
  const cancelled: Array<string | number> = [];
  let sessions = new Map<string, { server: Server; transport: StreamableHTTPServerTransport | SSEServerTransport }>();

  const newServer = (headersOf: () => Record<string, string | string[] | undefined>): Server => {
    const server = new Server({ name: options.name ?? 'mock-mcp', version: '1.0.0' }, { capabilities: { tools: { listChanged: true }, ...(resources.length || templates.length ? { resources: {} } : {}) } });
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema ?? { type: 'object' }, ...t.extra })) }) as never);
    server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
      const tool = tools.find((t) => t.name === req.params.name);
      if (!tool) throw new McpError(ErrorCode.InvalidParams, `Tool ${req.params.name} not found`);
      const args = (req.params.arguments ?? {}) as Record<string, unknown>;
      calls.push({ name: tool.name, arguments: args });
      const token = req.params._meta?.progressToken;
      if (token !== undefined) {
        for (let i = 1; i <= (tool.progress ?? 0); i++) {
          await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: tool.progress, message: `step ${i}` } });
        }
      }
      if (tool.delayMs) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, tool.delayMs);
          extra.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            cancelled.push(extra.requestId);
            resolve();
          });
        });
      }
      return (tool.run ? await tool.run(args, { headers: headersOf() }) : { content: [{ type: 'text', text: `${tool.name} ok` }] }) as never;
    });
    if (resources.length || templates.length) {
      server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: resources.map(({ text: _t, ...r }) => r) }) as never);
      server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates: templates }) as never);
      server.setRequestHandler(ReadResourceRequestSchema, (req) => {
        const r = resources.find((x) => x.uri === req.params.uri);
        if (r) return { contents: [{ uri: r.uri, mimeType: r.mimeType ?? 'text/plain', text: r.text }] } as never;
        return { contents: [{ uri: req.params.uri, mimeType: 'text/plain', text: `template ${req.params.uri}` }] } as never;
      });
    }
    return server;
  };

  let lastHeaders: Record<string, string | string[] | undefined> = {};
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown;
    try {
      parsed = body ? JSON.parse(body) : undefined;
    } catch {
      parsed = undefined;
    }
    const rpc = (Array.isArray(parsed) ? parsed : parsed ? [parsed] : []).map((m) => String((m as { method?: unknown }).method ?? 'response'));
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: { ...req.headers }, rpc, body });
    lastHeaders = req.headers;
    if (options.requireHeader || options.authorize) {
      const [name, value] = options.requireHeader ?? ['', ''];
      if ((options.requireHeader && req.headers[name.toLowerCase()] !== value) || (options.authorize && !options.authorize(req.headers))) {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' });
        // Like some real servers, it says what it got: a gateway must not log that.
        res.end(JSON.stringify({ error: 'unauthorized', got: req.headers[name.toLowerCase() || 'authorization'] ?? null }));
        return;
      }
    }
    if (options.legacySse) return handleLegacy(req, res, parsed);
    if (!(req.url ?? '').startsWith(path)) {
      res.writeHead(404).end();
      return;
    }
    const sid = req.headers['mcp-session-id'];
    let entry = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (!entry) {
      if (typeof sid === 'string' || req.method !== 'POST' || (parsed as { method?: unknown })?.method !== 'initialize') {
        res.writeHead(typeof sid === 'string' ? 404 : 400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }));
        return;
      }
      const server = newServer(() => lastHeaders);
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        enableJsonResponse: options.jsonResponse === true,
        onsessioninitialized: (id) => {
          sessions.set(id, { server, transport });
        },
      });
      await server.connect(transport);
      entry = { server, transport };
    }
    await (entry.transport as StreamableHTTPServerTransport).handleRequest(req, res, parsed);
  };

  const handleLegacy = async (req: IncomingMessage, res: ServerResponse, parsed: unknown) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'POST' && req.url === path) {
      // Streamable HTTP is not spoken here: the client falls back to HTTP+SSE.
      res.writeHead(405).end();
      return;
    }
    if (req.method === 'GET' && url.pathname === path) {
      const transport = new SSEServerTransport('/messages', res);
      const server = newServer(() => lastHeaders);
      sessions.set(transport.sessionId, { server, transport });
      res.on('close', () => sessions.delete(transport.sessionId));
      await server.connect(transport);
      return;
    }
    if (req.method === 'POST' && url.pathname === '/messages') {
      const entry = sessions.get(url.searchParams.get('sessionId') ?? '');
      if (!entry) {
        res.writeHead(404).end();
        return;
      }
      await (entry.transport as SSEServerTransport).handlePostMessage(req, res, parsed);
      return;
    }
    res.writeHead(404).end();
  };

  let http: HttpServer;
  let port = options.port ?? 0;
  const listen = async () => {
    http = createServer((req, res) => {
      handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, '127.0.0.1', () => resolve());
    });
    port = (http.address() as AddressInfo).port;
  };
  await listen();

  const stop = async () => {
    const old = sessions;
    sessions = new Map();
    for (const s of old.values()) await s.server.close().catch(() => {});
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };

  return {
    get url() {
      return `http://127.0.0.1:${port}${path}`;
    },
    get port() {
      return port;
    },
    requests,
    calls,
    cancelled,
    setTools(next) {
      tools = next;
      for (const s of sessions.values()) void s.server.sendToolListChanged().catch(() => {});
    },
    stop,
    start: listen,
    close: async () => {
      if (http.listening) await stop();
    },
  };
}
