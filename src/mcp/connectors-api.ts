/**
 * `GET /api/connectors` (reference §6.2): every MCP server and connector keyway knows, with
 * its status and what the caller may use of it. Any role may read it; counts are of the
 * items the caller's grants allow; the URL and the last error are for admins only. No
 * credential is ever part of it: `auth_type` names the kind alone.
 */
import type { Access } from '../access/grants.js';
import type { Snapshot } from '../config/snapshot.js';
import type { McpServerSpec } from '../config/types.js';
import { BUILTIN_TOOLS } from './builtin.js';
import type { McpCatalog } from './catalog.js';
import type { ConnectorProxy } from './connector-proxy.js';
import { INTERNAL_SERVER } from './names.js';

export interface ConnectorInfo {
  id: string;
  description: string;
  protocol: 'mcp' | 'http';
  /** The upstream's host (keyway has no registry of verified providers). */
  provider: string;
  /** Always `custom` (the reference's categories come from its verified-connector registry). */
  category: string;
  /** up, down, connecting, unsupported (per-user OAuth), ready (an HTTP connector). */
  status: string;
  auth_type: string;
  /** mcp.servers, connectors, registration or builtin. */
  source: string;
  labels: string[];
  tools: number;
  resources: number;
  templates: number;
  url?: string;
  error?: string;
}

export function listConnectors(snapshot: Snapshot, catalog: McpCatalog, proxy: ConnectorProxy, access: Access): { connectors: ConnectorInfo[] } {
  const admin = access.role === 'admin';
  const mcp = access.mcp;
  const out: ConnectorInfo[] = [
    { id: INTERNAL_SERVER, description: 'Built into keyway', protocol: 'mcp', provider: 'keyway', category: 'builtin', status: 'up', auth_type: 'none', source: 'builtin', labels: [], tools: BUILTIN_TOOLS.length, resources: 0, templates: 0 },
  ];
  const base = (spec: McpServerSpec) => ({
    id: spec.id,
    description: spec.description,
    protocol: spec.protocol,
    provider: hostOf(spec.url),
    category: 'custom',
    auth_type: spec.auth.type,
    source: spec.source === 'mcp' ? 'mcp.servers' : spec.source === 'connector' ? 'connectors' : 'registration',
    labels: [...spec.labels],
    ...(admin ? { url: urlWithoutQuery(spec.url) } : {}),
  });
  const seen = new Set<string>();
  for (const server of catalog.all()) {
    seen.add(server.id);
    const labels = server.spec.labels;
    out.push({
      ...base(server.spec),
      status: server.status,
      tools: server.tools.filter((t) => admin || mcp.allows(server.id, labels, 'tools', t.upstream)).length,
      resources: server.resources.filter((r) => admin || mcp.allows(server.id, labels, 'resources', r.upstream)).length,
      templates: server.templates.filter((t) => admin || mcp.allows(server.id, labels, 'templates', t.upstream)).length,
      ...(admin && server.lastError ? { error: server.lastError } : {}),
    });
  }
  for (const spec of snapshot.config.mcp.servers) {
    if (seen.has(spec.id)) continue;
    out.push({ ...base(spec), status: proxy.status(spec.id) ?? 'unsupported', tools: 0, resources: 0, templates: 0 });
  }
  return { connectors: out };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/** The URL as configured, without a query (which might hold a key). */
function urlWithoutQuery(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '';
  }
}
