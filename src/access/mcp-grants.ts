/**
 * MCP access: which tools, resources, templates and connector paths a caller may use. A
 * caller's grants give globs over `serverID/category/item` (validate-mcp.ts turns
 * `mcp_tools: "local/*"` into `local/tools/*`), and `label:<label>/category/item` globs
 * that match every server carrying the label. Deny by default: no pattern, nothing.
 */
import type { McpCategory } from '../config/validate-mcp.js';
import type { ModelMatcher } from './glob.js';

export type { McpCategory };

export interface McpAccess {
  /** Whether any MCP or connector pattern is granted at all. */
  readonly granted: boolean;
  /** The normalised patterns, for /api/whoami and explain. */
  readonly patterns: readonly string[];
  /** allows reports whether `item` of `category` on `server` (which carries `labels`) may be used. */
  allows(server: string, labels: readonly string[], category: McpCategory, item: string): boolean;
  /** Two McpAccess values with the same key allow the same things (listing caches key on it). */
  readonly key: string;
}

/**
 * compileMcpGlob is compileModelGlob's rule (`*` within a segment, `**` any number of
 * segments) over names whose items may hold empty segments: resource URIs such as
 * `file:///a/b` do, so `docs/resources/**` must match `docs/resources/file:///a/b`.
 */
export function compileMcpGlob(pattern: string): ModelMatcher {
  if (pattern === '**') return () => true;
  if (!pattern.includes('*')) return (name) => name === pattern;
  const segments = pattern.split('/');
  let source = '^';
  segments.forEach((seg, i) => {
    if (seg === '**') {
      source += i === 0 ? '(?:[^/]*/)*' : '(?:/[^/]*)*';
      return;
    }
    const sep = i === 0 || (segments[i - 1] === '**' && i === 1) ? '' : '/';
    source += sep + seg.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*');
  });
  const re = new RegExp(`${source}$`);
  return (name) => re.test(name);
}

export const NO_MCP_ACCESS: McpAccess = Object.freeze({ granted: false, patterns: [], allows: () => false, key: '[]' });

/** compileMcpAccess builds the check for one caller's patterns; `globFor` compiles (and caches) a glob. */
export function compileMcpAccess(patterns: readonly string[], globFor: (pattern: string) => ModelMatcher): McpAccess {
  if (patterns.length === 0) return NO_MCP_ACCESS;
  const allowAll = patterns.includes('**');
  const matchers = patterns.filter((p) => p !== '**').map(globFor);
  const hasLabels = patterns.some((p) => p.startsWith('label:'));
  const decided = new Map<string, boolean>();
  let key: string | undefined;
  return {
    granted: true,
    patterns,
    allows(server, labels, category, item) {
      if (allowAll) return true;
      const name = `${server}/${category}/${item}`;
      let allowed = decided.get(name);
      if (allowed !== undefined && labels.length === 0) return allowed;
      allowed = matchers.some((m) => m(name));
      // A label's grant is matched with the label in the server's place; labels come
      // from the configuration, so the answer for a name is cached only without them.
      if (!allowed && hasLabels) {
        for (const label of labels) {
          const labelled = `label:${label}/${category}/${item}`;
          if (matchers.some((m) => m(labelled))) {
            allowed = true;
            break;
          }
        }
      }
      if (labels.length === 0 && decided.size < 10_000) decided.set(name, allowed);
      return allowed;
    },
    get key() {
      return (key ??= JSON.stringify([...patterns].sort()));
    },
  };
}
