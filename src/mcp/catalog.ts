/**
 * The aggregated catalogue: every upstream MCP server keyway connects to, and what each
 * caller may see of them. Listings are kept per server (upstream.ts) and the answer to
 * `tools/list` is built per set of grants, once per catalogue version, so a listing is a
 * Map lookup however many servers and tools there are. Visibility and permission are one
 * decision (mcp-grants.ts): a caller can call exactly what it can list.
 */
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { McpAccess, McpCategory } from '../access/mcp-grants.js';
import type { McpServerSpec } from '../config/types.js';
import { BUILTIN_TOOLS } from './builtin.js';
import { INTERNAL_SERVER, splitResource, splitTool } from './names.js';
import { requireMcpRuntime } from './runtime.js';
import type { Listed, ServerStatus, UpstreamServer } from './upstream.js';

export interface CatalogEvents {
  /** Something a caller may list changed (a server came, went, or changed its listing). */
  onListChanged(): void;
  onTransition(server: UpstreamServer, from: ServerStatus, to: ServerStatus): void;
}

interface Visible {
  version: number;
  tools: Record<string, unknown>[];
  resources: Record<string, unknown>[];
  templates: Record<string, unknown>[];
  /** The listings as JSON result objects, serialized on first use (fast-path.ts). */
  json: Partial<Record<'tools' | 'resources' | 'resourceTemplates', string>>;
}

/** How many distinct sets of grants keep a cached listing (each is a few arrays of references). */
const MAX_CACHED_VIEWS = 1_000;

/** The servers the catalogue connects to with the SDK's client; the others are HTTP connectors (connector-proxy.ts). */
export function speaksMcp(spec: McpServerSpec): boolean {
  return spec.protocol === 'mcp';
}

export class McpCatalog {
  private readonly servers = new Map<string, UpstreamServer>();
  private version = 0;
  private readonly views = new Map<string, Visible>();

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly log: Logger,
    private readonly events: CatalogEvents,
  ) {}

  /**
   * reconcile makes the configured servers those of `specs`: new ones connect, removed or
   * changed ones close, unchanged ones keep their connection. Registrations are not touched.
   */
  reconcile(specs: readonly McpServerSpec[]): UpstreamServer[] {
    const wanted = new Map(specs.filter(speaksMcp).map((s) => [s.id, s]));
    const added: UpstreamServer[] = [];
    for (const [id, server] of this.servers) {
      if (server.spec.source === 'registration') continue;
      const next = wanted.get(id);
      if (!next || JSON.stringify(next) !== JSON.stringify(server.spec)) this.remove(id);
    }
    for (const spec of wanted.values()) {
      if (!this.servers.has(spec.id)) added.push(this.add(spec));
    }
    return added;
  }

  /** add connects to one more server (configured or registered); the caller has loaded the SDK (runtime.ts). */
  add(spec: McpServerSpec): UpstreamServer {
    const server = new (requireMcpRuntime().UpstreamServer)(spec, {
      dispatcher: this.dispatcher,
      log: this.log,
      onChange: () => this.changed(),
      onTransition: (s, from, to) => this.events.onTransition(s, from, to),
    });
    this.servers.set(spec.id, server);
    this.changed();
    return server;
  }

  remove(id: string): void {
    const server = this.servers.get(id);
    if (!server) return;
    this.servers.delete(id);
    void server.close();
    this.changed();
  }

  get(id: string): UpstreamServer | undefined {
    return this.servers.get(id);
  }

  all(): UpstreamServer[] {
    return [...this.servers.values()];
  }

  /** refreshAll is one round of health checks: every server lists again, in parallel. */
  async refreshAll(): Promise<void> {
    await Promise.all([...this.servers.values()].map((s) => s.refresh()));
  }

  private changed(): void {
    this.version++;
    this.views.clear();
    this.events.onListChanged();
  }

  /** visible returns what `access` may list, built once per catalogue version and set of grants. */
  visible(access: McpAccess): Visible {
    const key = access.key;
    const cached = this.views.get(key);
    if (cached && cached.version === this.version) return cached;
    const view: Visible = { version: this.version, tools: BUILTIN_TOOLS.map((t) => t.definition), resources: [], templates: [], json: {} };
    if (access.granted) {
      for (const server of this.servers.values()) {
        if (server.status !== 'up') continue;
        const labels = server.spec.labels;
        for (const t of server.tools) if (access.allows(server.id, labels, 'tools', t.upstream)) view.tools.push(t.definition);
        for (const r of server.resources) if (access.allows(server.id, labels, 'resources', r.upstream)) view.resources.push(r.definition);
        for (const t of server.templates) if (access.allows(server.id, labels, 'templates', t.upstream)) view.templates.push(t.definition);
      }
    }
    if (this.views.size >= MAX_CACHED_VIEWS) this.views.clear();
    this.views.set(key, view);
    return view;
  }

  /** visibleJson is one listing of `visible` as the JSON text of its result, built once per view. */
  visibleJson(access: McpAccess, kind: 'tools' | 'resources' | 'resourceTemplates'): string {
    const view = this.visible(access);
    return (view.json[kind] ??= JSON.stringify({ [kind]: kind === 'tools' ? view.tools : kind === 'resources' ? view.resources : view.templates }));
  }

  /**
   * findTool returns the server and tool behind a prefixed name when `access` may call it.
   * An unknown name and a refused one both return undefined: the caller cannot tell them apart.
   */
  findTool(name: string, access: McpAccess): { server: UpstreamServer; tool: Listed } | undefined {
    const split = splitTool(name);
    if (!split || split[0] === INTERNAL_SERVER) return undefined;
    return this.find(split[0], 'tools', split[1], access, (s, item) => s.tool(item));
  }

  /**
   * findResource returns the server and upstream URI behind a prefixed resource URI: a
   * listed resource the caller may read, or a URI that one of the server's templates
   * (which the caller may use) expands to.
   */
  findResource(name: string, access: McpAccess): { server: UpstreamServer; uri: string } | undefined {
    const split = splitResource(name);
    if (!split || !access.granted) return undefined;
    const [id, uri] = split;
    const server = this.servers.get(id);
    if (!server || server.status !== 'up') return undefined;
    const labels = server.spec.labels;
    if (server.resource(uri) && access.allows(id, labels, 'resources', uri)) return { server, uri };
    for (const t of server.templates) {
      if (access.allows(id, labels, 'templates', t.upstream) && t.template.match(uri)) return { server, uri };
    }
    // A resource the server did not list (found through a link) is readable with a resources grant.
    if (!server.resource(uri) && access.allows(id, labels, 'resources', uri)) return { server, uri };
    return undefined;
  }

  private find<T>(id: string, category: McpCategory, item: string, access: McpAccess, lookup: (s: UpstreamServer, item: string) => T | undefined): { server: UpstreamServer; tool: T } | undefined {
    if (!access.granted) return undefined;
    const server = this.servers.get(id);
    if (!server || server.status !== 'up') return undefined;
    const found = lookup(server, item);
    if (found === undefined || !access.allows(id, server.spec.labels, category, item)) return undefined;
    return { server, tool: found };
  }

  async close(): Promise<void> {
    const all = [...this.servers.values()];
    this.servers.clear();
    await Promise.allSettled(all.map((s) => s.close()));
  }
}
