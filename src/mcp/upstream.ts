/**
 * One upstream MCP server, seen through the official SDK's client: keyway connects over
 * Streamable HTTP (falling back to the legacy HTTP+SSE transport when the server answers
 * the POST with 400, 404 or 405), lists its tools, resources and templates, and forwards
 * calls to it. `refresh` is the health check the poller runs: a listing that succeeds
 * keeps the server up; one that fails marks it down, hides what it offered, and the next
 * refresh connects again.
 *
 * Listings are requested with loose schemas so every field an upstream writes
 * (descriptions, schemas, annotations, `_meta`) is passed on as written.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceListChangedNotificationSchema, ToolListChangedNotificationSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import { UriTemplate } from '@modelcontextprotocol/sdk/shared/uriTemplate.js';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import * as z from 'zod';
import type { McpServerSpec } from '../config/types.js';
import { createAuth, type UpstreamAuth } from './auth.js';
import { abortSignalOf, type Cancellation } from './cancellation.js';
import { directCall, NotDelivered } from './direct-call.js';
import { authenticatedFetch } from './http-client.js';
import { resourceName, toolName } from './names.js';

export type ServerStatus = 'connecting' | 'up' | 'down' | 'unsupported';

/** A listed item: the name clients see, the upstream's own name, and the definition to send. */
export interface Listed {
  /** Prefixed: `server_tool` or `server-uri`. */
  readonly name: string;
  /** The upstream's name or URI. */
  readonly upstream: string;
  /** The definition as the upstream wrote it, with its name or URI prefixed. */
  readonly definition: Record<string, unknown>;
}

export interface ListedTemplate extends Listed {
  readonly template: UriTemplate;
}

const Loose = z.looseObject({});
const ToolsPage = z.looseObject({ tools: z.array(z.looseObject({ name: z.string() })), nextCursor: z.string().optional() });
const ResourcesPage = z.looseObject({ resources: z.array(z.looseObject({ uri: z.string() })), nextCursor: z.string().optional() });
const TemplatesPage = z.looseObject({ resourceTemplates: z.array(z.looseObject({ uriTemplate: z.string() })), nextCursor: z.string().optional() });

/** Listing pages followed per refresh: a server that never stops paging is cut off. */
const MAX_PAGES = 50;
/** Time for one listing request (the health check). */
const LIST_TIMEOUT_MS = 10_000;
/** Longest a forwarded call may run; progress notifications restart the clock. */
export const CALL_TIMEOUT_MS = 300_000;

export interface UpstreamDeps {
  dispatcher: Dispatcher;
  log: Logger;
  /** Called when the server's status or listings change. */
  onChange(server: UpstreamServer): void;
  /** Called on every status transition (up ↔ down), for the log line and the metric. */
  onTransition(server: UpstreamServer, from: ServerStatus, to: ServerStatus): void;
}

export class UpstreamServer {
  status: ServerStatus;
  /** Why the server is down (a status or transport message; never a credential). */
  lastError: string | undefined;
  tools: readonly Listed[] = [];
  resources: readonly Listed[] = [];
  templates: readonly ListedTemplate[] = [];
  private readonly toolsByName = new Map<string, Listed>();
  private readonly resourcesByUri = new Map<string, Listed>();
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private refreshing: Promise<void> | undefined;
  private closed = false;
  private listingKey = '';
  private readonly auth: UpstreamAuth;
  private readonly url: URL;
  private readonly fetch;

  constructor(
    readonly spec: McpServerSpec,
    private readonly deps: UpstreamDeps,
  ) {
    this.status = spec.auth.type === 'oauth2_authorization_code' || spec.auth.type === 'oauth2_dcr' ? 'unsupported' : 'connecting';
    this.auth = createAuth(spec.auth, deps.dispatcher);
    this.url = new URL(spec.url);
    this.fetch = authenticatedFetch(deps.dispatcher, this.auth);
  }

  get id(): string {
    return this.spec.id;
  }

  /**
   * redact removes the server's own secrets from a message: an upstream that echoes the
   * credential it got in an error body must not put it into keyway's log or /api/connectors.
   */
  private redact(message: string): string {
    const a = this.spec.auth;
    const secrets = a.type === 'bearer_token' ? [a.token] : a.type === 'api_key' ? [a.apiKey] : a.type === 'basic' ? [a.password, Buffer.from(`${a.username}:${a.password}`).toString('base64')] : a.type === 'oauth2_client_credentials' ? [a.clientSecret] : [];
    let out = message;
    for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
    // OAuth access tokens are not in the configuration: hide whatever follows "Bearer".
    return out.replace(/(bearer\s+)[^\s"',}]+/gi, '$1[redacted]');
  }

  tool(upstreamName: string): Listed | undefined {
    return this.toolsByName.get(upstreamName);
  }

  resource(uri: string): Listed | undefined {
    return this.resourcesByUri.get(uri);
  }

  /** refresh lists everything again (connecting first if needed); concurrent calls share one run. */
  refresh(): Promise<void> {
    if (this.status === 'unsupported' || this.closed) return Promise.resolve();
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    try {
      const client = await this.connected();
      const caps = client.getServerCapabilities() ?? {};
      const tools = caps.tools ? await this.listAll(client, 'tools/list', ToolsPage, (p) => p.tools) : [];
      const resources = caps.resources ? await this.listAll(client, 'resources/list', ResourcesPage, (p) => p.resources) : [];
      const templates = caps.resources ? await this.listAll(client, 'resources/templates/list', TemplatesPage, (p) => p.resourceTemplates).catch(() => []) : [];
      if (this.closed) return;
      this.setListings(tools, resources, templates);
      this.setStatus('up', undefined);
    } catch (err) {
      if (this.closed) return;
      await this.dropClient();
      this.setListings([], [], []);
      this.setStatus('down', this.redact(describe(err)));
    }
  }

  private async listAll<P, T>(client: Client, method: string, schema: z.ZodType<P>, items: (page: P) => T[]): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < MAX_PAGES; i++) {
      const page = await client.request({ method, params: cursor ? { cursor } : {} } as never, schema as never, { timeout: LIST_TIMEOUT_MS });
      out.push(...items(page as P));
      cursor = (page as { nextCursor?: string }).nextCursor;
      if (!cursor) break;
    }
    return out;
  }

  private setListings(tools: Array<{ name: string }>, resources: Array<{ uri: string }>, templates: Array<{ uriTemplate: string }>): void {
    const key = JSON.stringify([tools, resources, templates]);
    if (key === this.listingKey) return;
    this.listingKey = key;
    const id = this.id;
    this.tools = tools.map((t) => ({ name: toolName(id, t.name), upstream: t.name, definition: { ...t, name: toolName(id, t.name) } }));
    this.resources = resources.map((r) => ({ name: resourceName(id, r.uri), upstream: r.uri, definition: { ...r, uri: resourceName(id, r.uri) } }));
    this.templates = templates.flatMap((t) => {
      try {
        return [{ name: resourceName(id, t.uriTemplate), upstream: t.uriTemplate, definition: { ...t, uriTemplate: resourceName(id, t.uriTemplate) }, template: new UriTemplate(t.uriTemplate) }];
      } catch {
        return []; // a template keyway cannot parse cannot be matched either
      }
    });
    this.toolsByName.clear();
    for (const t of this.tools) this.toolsByName.set(t.upstream, t);
    this.resourcesByUri.clear();
    for (const r of this.resources) this.resourcesByUri.set(r.upstream, r);
    this.deps.onChange(this);
  }

  private setStatus(status: ServerStatus, error: string | undefined): void {
    this.lastError = error;
    const from = this.status;
    if (from === status) return;
    this.status = status;
    this.deps.onTransition(this, from, status);
    this.deps.onChange(this);
  }

  /**
   * request forwards one request (tools/call, resources/read) and returns the upstream's
   * result as it wrote it. A session the upstream forgot (it restarted: 404) or a
   * connection it refused means the request never ran there, so keyway connects again and
   * sends it once more; any other failure is the caller's to see.
   */
  async request(method: string, params: Record<string, unknown>, options: { signal?: Cancellation; onprogress?: (p: Progress) => void; raw?: { text?: string } }): Promise<Record<string, unknown>> {
    const send = async () => {
      const client = await this.connected();
      const transport = client.transport;
      // Over Streamable HTTP the call goes out directly on the SDK's session (direct-call.ts).
      if (transport instanceof StreamableHTTPClientTransport) {
        return directCall(
          { dispatcher: this.deps.dispatcher, url: this.url, sessionId: transport.sessionId, protocolVersion: transport.protocolVersion, auth: this.auth },
          method,
          params,
          { signal: options.signal, onprogress: options.onprogress as ((p: Record<string, unknown>) => void) | undefined, timeoutMs: CALL_TIMEOUT_MS, raw: options.raw },
        );
      }
      return (await client.request({ method, params } as never, Loose as never, {
        signal: abortSignalOf(options.signal),
        onprogress: options.onprogress,
        timeout: CALL_TIMEOUT_MS,
        resetTimeoutOnProgress: true,
      })) as Record<string, unknown>;
    };
    try {
      return await send();
    } catch (err) {
      if (!neverReached(err) || options.signal?.aborted) throw err;
      await this.dropClient();
      return send();
    }
  }

  private connected(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<Client> {
    const url = this.url;
    let client = this.newClient();
    try {
      await client.connect(new StreamableHTTPClientTransport(url, { fetch: this.fetch, reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 5000, reconnectionDelayGrowFactor: 1.5 } }));
    } catch (err) {
      await client.close().catch(() => {});
      // Streamable HTTP refused (MCP spec 2025-03-26, backwards compatibility): try HTTP+SSE.
      if (!(err instanceof StreamableHTTPError) || ![400, 404, 405].includes(err.code ?? 0)) throw err;
      client = this.newClient();
      try {
        await client.connect(new SSEClientTransport(url, { fetch: this.fetch }));
      } catch (sseErr) {
        await client.close().catch(() => {});
        throw sseErr;
      }
    }
    if (this.closed) {
      await client.close().catch(() => {});
      throw new Error('server removed');
    }
    client.onclose = () => {
      if (this.client === client) this.client = undefined;
    };
    this.client = client;
    return client;
  }

  private newClient(): Client {
    const client = new Client({ name: 'keyway', version: '0.1.0' }, { capabilities: {} });
    // A listing that changed upstream changes the aggregated one: list again now.
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void this.refresh());
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void this.refresh());
    client.onerror = () => {}; // transport noise (a dropped GET stream); refresh reports what matters
    return client;
  }

  private async dropClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.close().catch(() => {});
  }

  /** close disconnects for good (the server was removed from the configuration). */
  async close(): Promise<void> {
    this.closed = true;
    await this.connecting?.catch(() => {});
    await this.dropClient();
  }
}

/** neverReached: the failure shows the request was not processed upstream. */
function neverReached(err: unknown): boolean {
  if (err instanceof NotDelivered) return true;
  if (err instanceof StreamableHTTPError) return err.code === 404;
  const code = (err as { cause?: { code?: string } })?.cause?.code ?? (err as { code?: string })?.code;
  return code === 'ECONNREFUSED';
}

/** describe turns a failure into a short reason for logs and /api/connectors. */
export function describe(err: unknown): string {
  if (err instanceof StreamableHTTPError && err.code !== undefined && err.code > 0) return `HTTP ${err.code}: ${String(err.message).slice(0, 300)}`;
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e?.cause?.code ?? e?.cause?.message;
  const message = String(e?.message ?? err).slice(0, 300);
  return cause && !message.includes(cause) ? `${message} (${cause})` : message;
}
