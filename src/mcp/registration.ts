/**
 * `POST /v1/mcp/register` (reference §6.2): with `mcp.accept_registrations`, a caller
 * offers an MCP server by URL and keeps the request open; the server joins the catalogue
 * as `auto1`, `auto2`, … while the connection lasts, and keyway writes a keep-alive every
 * second so either side notices a dead peer. Closing the connection unregisters it. The
 * URL follows the configuration's rules (url-safety.ts). Its tools are granted like any
 * server's (`auto1/*`, `**`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import { readJsonObject } from '../server/body.js';
import { unsafeUrlReason, type SelfAddress } from '../upstream/url-safety.js';
import type { McpCatalog } from './catalog.js';
import type { Caller } from './session.js';

const KEEPALIVE_MS = 1_000;

export class Registrations {
  private accepting = false;
  private next = 1;
  private readonly open = new Map<string, ServerResponse>();
  /** keyway's own address, to refuse a registration of itself. */
  self: () => SelfAddress | undefined = () => undefined;

  constructor(
    private readonly catalog: McpCatalog,
    private readonly log: Logger,
  ) {}

  /** setAccepting follows `mcp.accept_registrations`; turning it off ends every registration. */
  setAccepting(on: boolean): void {
    this.accepting = on;
    if (!on) this.closeAll();
  }

  get count(): number {
    return this.open.size;
  }

  async handle(req: IncomingMessage, res: ServerResponse, caller: Caller, bodyLimit: number): Promise<void> {
    if ((req.method ?? 'GET') !== 'POST') throw new GatewayError('METHOD_NOT_ALLOWED', 'use POST /v1/mcp/register with {"url": "http://…/v1/mcp"}', { headers: { allow: 'POST' } });
    if (!this.accepting) throw new GatewayError('REGISTRATION_CLOSED');
    const body = await readJsonObject(req, bodyLimit);
    const url = typeof body.url === 'string' ? body.url.trim() : '';
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new GatewayError('BAD_REQUEST', 'body must be {"url": "http://…/v1/mcp"}');
    }
    if ((parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.username !== '' || parsed.password !== '') {
      throw new GatewayError('BAD_REQUEST', 'url must be an http:// or https:// URL without credentials');
    }
    const unsafe = unsafeUrlReason(parsed, this.self());
    if (unsafe) throw new GatewayError('BAD_REQUEST', `keyway refuses to call ${parsed.host}: ${unsafe}`);

    const id = `auto${this.next++}`;
    const server = this.catalog.add({ id, source: 'registration', protocol: 'mcp', url: parsed.href, auth: { type: 'none' }, labels: [], description: `registered by ${caller.identity.login}` });
    this.open.set(id, res);
    this.log.info({ server: id, login: caller.identity.login }, 'MCP server registered');
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write(`event: registered\ndata: ${JSON.stringify({ id })}\n\n`);
    const timer = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    timer.unref();
    res.once('close', () => {
      clearInterval(timer);
      this.open.delete(id);
      this.catalog.remove(id);
      this.log.info({ server: id }, 'MCP server unregistered: its connection closed');
    });
    void server.refresh();
  }

  closeAll(): void {
    for (const res of this.open.values()) res.end();
  }
}
