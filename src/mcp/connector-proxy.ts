/**
 * HTTP connectors: `/v1/connectors/<id>/<path>` is reverse-proxied to the connector's
 * `url` + `<path>` (query kept) with the connector's credential, which the client never
 * sees. The path must be granted (`<id>/proxy/<path>` in a `connectors` grant): otherwise
 * 403, as the reference has it. Client credentials, cookies, `Tailscale-*` and
 * `X-Forwarded-*` headers are not forwarded. As in the reference, these requests are not
 * captured; each is logged (login, connector, method, path, status).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Agent, Pool } from 'undici';
import type { McpServerSpec } from '../config/types.js';
import { GatewayError } from '../errors.js';
import { readBody } from '../server/body.js';
import { forwardableHeaders } from '../upstream/headers.js';
import { forwardRequest, type ErrorEnvelope } from '../upstream/proxy.js';
import { createAuth, type UpstreamAuth } from './auth.js';
import { DEFAULT_MCP_HTTP, safeLookup } from './http-client.js';
import type { Caller } from './session.js';

interface Connector {
  spec: McpServerSpec;
  auth: UpstreamAuth;
  pool: Pool;
  /** The url's path without a trailing slash. */
  basePath: string;
  /** Set after a 401: the next request fetches a fresh OAuth token. */
  stale: boolean;
}

/** keyway's own error envelope, for the relay (these are not provider API paths). */
const OWN_ENVELOPE: ErrorEnvelope = {
  renderError: (_status, code, message) => JSON.stringify({ error: message, code: code.toUpperCase() }),
  renderStreamError: (_status, code, message) => `event: error\ndata: ${JSON.stringify({ error: message, code: code.toUpperCase() })}\n\n`,
};

const PREFIX = '/v1/connectors/';
const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);

export class ConnectorProxy {
  private connectors = new Map<string, Connector>();

  constructor(
    private readonly agent: Agent,
    private readonly log: Logger,
    private readonly bodyLimit = 32 * 1024 * 1024,
  ) {}

  /** apply follows the configuration; unchanged connectors keep their pool and token. */
  apply(specs: readonly McpServerSpec[]): void {
    const next = new Map<string, Connector>();
    for (const spec of specs) {
      if (spec.protocol !== 'http') continue;
      const old = this.connectors.get(spec.id);
      if (old && JSON.stringify(old.spec) === JSON.stringify(spec)) {
        next.set(spec.id, old);
        continue;
      }
      const url = new URL(spec.url);
      const pool = new Pool(url.origin, {
        connect: { timeout: DEFAULT_MCP_HTTP.connectTimeoutMs, lookup: safeLookup as never },
        headersTimeout: DEFAULT_MCP_HTTP.headersTimeoutMs,
        bodyTimeout: 300_000,
      });
      next.set(spec.id, { spec, auth: createAuth(spec.auth, this.agent), pool, basePath: url.pathname.replace(/\/+$/, ''), stale: false });
    }
    for (const [id, c] of this.connectors) if (next.get(id) !== c) void c.pool.close().catch(() => {});
    this.connectors = next;
  }

  /** status says whether a connector can be used, for /api/connectors. */
  status(id: string): 'ready' | 'unsupported' | undefined {
    const c = this.connectors.get(id);
    if (!c) return undefined;
    return c.spec.auth.type === 'oauth2_authorization_code' || c.spec.auth.type === 'oauth2_dcr' ? 'unsupported' : 'ready';
  }

  async handle(req: IncomingMessage, res: ServerResponse, pathname: string, query: string, caller: Caller): Promise<void> {
    const rest = pathname.slice(PREFIX.length);
    const slash = rest.indexOf('/');
    const id = slash < 0 ? rest : rest.slice(0, slash);
    const path = slash < 0 ? '' : rest.slice(slash + 1);
    const connector = this.connectors.get(id);
    if (!connector) throw new GatewayError('UNKNOWN_CONNECTOR', `no HTTP connector "${id.slice(0, 100)}"; GET /api/connectors lists them`);
    const decoded = decodePath(path);
    if (!caller.access.mcp.allows(id, connector.spec.labels, 'proxy', decoded)) {
      throw new GatewayError('CONNECTOR_DENIED', `access denied: no connectors grant allows ${id}/proxy/${decoded.slice(0, 200)}`);
    }
    if (this.status(id) !== 'ready') throw new GatewayError('CONNECTOR_UNAVAILABLE', `connector ${id} uses per-user OAuth, which keyway does not implement yet`);
    const method = req.method ?? 'GET';
    const body = BODYLESS.has(method) && req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined ? null : await readBody(req, this.bodyLimit);
    const headers = forwardableHeaders(req.rawHeaders);
    let credential;
    try {
      credential = await connector.auth.header(connector.stale);
    } catch (err) {
      this.log.warn({ connector: id, err: (err as Error).message }, 'connector credential unavailable');
      throw new GatewayError('UPSTREAM_FAILED', `connector ${id}: keyway could not get its credential`);
    }
    connector.stale = false;
    if (credential) headers.push(credential[0], credential[1]);
    const outcome = await forwardRequest(res, {
      dispatcher: connector.pool,
      method,
      path: `${connector.basePath}/${path}${query}`,
      headers,
      body,
      format: OWN_ENVELOPE,
    });
    if (outcome.status === 401 && connector.auth.refreshable) connector.stale = true;
    this.log.info({ login: caller.identity.login, connector: id, method, path: `/${decoded}`.slice(0, 512), status: outcome.status, error: outcome.error?.code }, 'connector request');
  }

  async close(): Promise<void> {
    const all = [...this.connectors.values()];
    this.connectors.clear();
    await Promise.allSettled(all.map((c) => c.pool.close()));
  }
}

/**
 * decodePath percent-decodes a connector path for the grant check, refusing what could
 * make the upstream see another path than the one granted: `.` and `..` segments, and
 * segments that decode to a slash or backslash.
 */
function decodePath(path: string): string {
  const segments = path.split('/');
  const out: string[] = [];
  for (const seg of segments) {
    let d: string;
    try {
      d = decodeURIComponent(seg);
    } catch {
      throw new GatewayError('BAD_REQUEST', 'connector path is not valid percent-encoding');
    }
    if (d === '.' || d === '..' || d.includes('/') || d.includes('\\')) throw new GatewayError('BAD_REQUEST', 'connector path may not contain ".", ".." or encoded slashes');
    out.push(d);
  }
  return out.join('/');
}
