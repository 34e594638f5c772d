/**
 * CORS grants: which web origins may call which of keyway's paths from a browser, as the
 * caller. Identity travels with every request whatever page sent it, so keyway refuses
 * every cross-site browser request (server/browser-guard.ts) unless one of the caller's
 * grants names both the page's origin and the path. Compiled once per snapshot.
 */
import type { CorsSpec } from '../config/types.js';
import { compileModelGlob, type ModelMatcher } from './glob.js';

export interface CorsRule {
  /** True for `Access-Control-Allow-Origin: *`. */
  anyOrigin: boolean;
  origins: ReadonlySet<string>;
  paths: readonly ModelMatcher[];
  methods: string | undefined;
  headers: string | undefined;
}

export function compileCors(spec: CorsSpec): CorsRule {
  return {
    anyOrigin: spec.origins.includes('*'),
    origins: new Set(spec.origins.filter((o) => o !== '*').map((o) => o.toLowerCase())),
    paths: spec.paths.map(compileModelGlob),
    methods: spec.methods,
    headers: spec.headers,
  };
}

/** corsRuleFor returns the first rule that lets `origin` call `pathname`, if any. */
export function corsRuleFor(rules: readonly CorsRule[], origin: string, pathname: string): CorsRule | undefined {
  const o = origin.toLowerCase();
  for (const rule of rules) {
    if (!rule.anyOrigin && !rule.origins.has(o)) continue;
    if (rule.paths.some((m) => m(pathname))) return rule;
  }
  return undefined;
}
