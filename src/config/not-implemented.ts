/**
 * Aperture keys keyway reads but does not act on yet. A key that loads and silently does
 * nothing is the worst outcome (the operator believes a budget or a guardrail is in force),
 * so each one present in a document is a warning naming it and saying it has no effect,
 * wherever the document is checked: `keyway check`, start, reload, the admin API and the
 * dashboard editor.
 *
 * This table is the one place that lists them. When a feature lands, remove its rows, and
 * re-grade its validation rules: anything that would drop a value becomes an error.
 */
import { isObject, type Checker, type Obj } from './checker.js';
import type { PathSegment } from './hujson.js';
import { APERTURE_CAP } from './validate-sections.js';

export interface NotImplementedKey {
  /**
   * Where the key lives: the document root, each provider, each capability object of a
   * grant (`grants[i].app["tailscale.com/cap/aperture"][j]`), or each capability of a
   * legacy `temp_grants` entry.
   */
  scope: 'document' | 'provider' | 'capability' | 'temp_grant';
  /** The key's path inside its scope, dot-separated. */
  key: string;
  /** What the key would do, for the message. */
  feature: string;
}

export const NOT_IMPLEMENTED: readonly NotImplementedKey[] = [
  { scope: 'document', key: 'exporters.s3', feature: 'the S3 export of telemetry' },
  { scope: 'document', key: 'database.retention.require_export', feature: 'holding captures back until they are exported' },
  { scope: 'document', key: 'mcp', feature: 'the MCP proxy' },
  { scope: 'document', key: 'connectors', feature: 'connectors' },
  { scope: 'document', key: 'flags', feature: 'feature flags' },
  { scope: 'provider', key: 'compatibility.google_generate_content', feature: 'the Vertex AI Gemini API' },
  { scope: 'provider', key: 'compatibility.google_raw_predict', feature: 'Vertex AI raw predict (Anthropic models on Vertex)' },
  { scope: 'provider', key: 'compatibility.bedrock_model_invoke', feature: 'the Bedrock invoke API' },
  { scope: 'provider', key: 'compatibility.bedrock_converse', feature: 'the Bedrock Converse API' },
  { scope: 'provider', key: 'compatibility.experimental_gemini_cli_vertex_compat', feature: "Gemini CLI's short Vertex paths" },
  { scope: 'capability', key: 'mcp_tools', feature: 'the MCP proxy' },
  { scope: 'capability', key: 'mcp_resources', feature: 'the MCP proxy' },
  { scope: 'capability', key: 'mcp_templates', feature: 'the MCP proxy' },
  { scope: 'capability', key: 'connectors', feature: 'connectors' },
];

/**
 * reportNotImplemented warns about every key of NOT_IMPLEMENTED that `doc` sets. A key set
 * to `false` or `null` asks for nothing and is not reported.
 */
export function reportNotImplemented(c: Checker, doc: Obj, table: readonly NotImplementedKey[] = NOT_IMPLEMENTED): void {
  const report = (scopePath: PathSegment[], scopeValue: unknown, entry: NotImplementedKey) => {
    const keyPath = entry.key.split('.');
    let v: unknown = scopeValue;
    for (const seg of keyPath) v = isObject(v) ? v[seg] : undefined;
    if (v === undefined || v === null || v === false) return;
    c.warn([...scopePath, ...keyPath], `"${entry.key}" has no effect: keyway does not implement ${entry.feature} yet`);
  };
  const scoped = (scope: NotImplementedKey['scope']) => table.filter((e) => e.scope === scope);

  for (const entry of scoped('document')) report([], doc, entry);
  if (isObject(doc.providers)) {
    for (const [id, p] of Object.entries(doc.providers)) for (const entry of scoped('provider')) report(['providers', id], p, entry);
  }
  if (Array.isArray(doc.grants)) {
    doc.grants.forEach((g, i) => {
      const list = isObject(g) && isObject(g.app) ? g.app[APERTURE_CAP] : undefined;
      if (!Array.isArray(list)) return;
      list.forEach((cap, j) => {
        for (const entry of scoped('capability')) report(['grants', i, 'app', APERTURE_CAP, j], cap, entry);
      });
    });
  }
  if (Array.isArray(doc.temp_grants)) {
    doc.temp_grants.forEach((g, i) => {
      if (!isObject(g) || !Array.isArray(g.grants)) return;
      g.grants.forEach((cap, j) => {
        for (const entry of scoped('temp_grant')) report(['temp_grants', i, 'grants', j], cap, entry);
      });
    });
  }
}
