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
   * grant (`grants[i].app["tailscale.com/cap/aperture"][j]`), each capability of a
   * legacy `temp_grants` entry, or each of `connectors.servers`.
   */
  scope: 'document' | 'provider' | 'capability' | 'temp_grant' | 'connector';
  /** The key's path inside its scope, dot-separated. */
  key: string;
  /** Only this value of the key is not implemented (others are); undefined: any value. */
  value?: string;
  /** What the key would do, for the message. */
  feature: string;
}

export const NOT_IMPLEMENTED: readonly NotImplementedKey[] = [
  // Per-user OAuth needs each user's consent flow (POST /api/connectors/<id>/connect and a
  // callback): such a connector is validated and listed, but not connected.
  { scope: 'connector', key: 'auth.type', value: 'oauth2_authorization_code', feature: 'per-user OAuth (oauth2_authorization_code) for connectors' },
  { scope: 'connector', key: 'auth.type', value: 'oauth2_dcr', feature: 'per-user OAuth (oauth2_dcr) for connectors' },
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
    if (entry.value !== undefined && v !== entry.value) return;
    const key = entry.value === undefined ? entry.key : `${entry.key}: ${entry.value}`;
    c.warn([...scopePath, ...keyPath], `"${key}" has no effect: keyway does not implement ${entry.feature} yet`);
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
  const connectors = isObject(doc.connectors) && isObject(doc.connectors.servers) ? doc.connectors.servers : {};
  for (const [id, server] of Object.entries(connectors)) {
    for (const entry of scoped('connector')) report(['connectors', 'servers', id], server, entry);
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
