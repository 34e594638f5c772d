/**
 * Grants decide what a caller may do: the union of every grant whose `src` matches the
 * caller, deny by default. `compileGrants` runs once per configuration snapshot and
 * returns a pure function; results are cached per identity inside the snapshot.
 */
import type { Capability, GrantSpec, Role } from '../config/types.js';
import { APERTURE_CAP, parseCapabilities } from '../config/validate-sections.js';
import type { Identity } from '../identity/identity.js';
import { compileCors, type CorsRule } from './cors.js';
import { compileModelGlob, type ModelMatcher } from './glob.js';
import { compileMcpAccess, compileMcpGlob, NO_MCP_ACCESS, type McpAccess } from './mcp-grants.js';

/** Access is everything a caller is granted. */
export interface Access {
  role: Role | undefined;
  /** The `models` patterns granted, as written (for /api/whoami and explain). */
  modelPatterns: readonly string[];
  canUseModel(provider: string, model: string): boolean;
  /**
   * Names what canUseModel allows: within one snapshot, two Access objects with the same
   * modelsKey allow exactly the same models. Per-snapshot caches of model lists key on it
   * rather than on the Access object, which lives only as long as its Identity (one per
   * connection with tailscale whois, one per request with serve-headers).
   */
  modelsKey: string;
  /** Headers from matching grants' `add_headers`, added to upstream requests. */
  addHeaders: ReadonlyArray<readonly [string, string]>;
  enableChatUi: boolean;
  readMetrics: boolean;
  /** Web origins allowed to call keyway from a browser as this caller (`set_cors`). */
  cors: readonly CorsRule[];
  /** MCP tools, resources, templates and connector paths (mcp-grants.ts). */
  mcp: McpAccess;
  /** Every matching capability, for features that read quotas and hooks. */
  capabilities: readonly Capability[];
  /**
   * Capabilities under other app keys (`mycompany.com/cap/policy`) of every matching grant,
   * merged by key: keyway ignores them except to send them to hooks (`send: ["grants"]`).
   */
  otherApps: Readonly<Record<string, readonly unknown[]>>;
}

export const NO_ACCESS: Access = Object.freeze({
  role: undefined,
  modelPatterns: [],
  canUseModel: () => false,
  modelsKey: '[]',
  addHeaders: [],
  enableChatUi: false,
  readMetrics: false,
  cors: [],
  mcp: NO_MCP_ACCESS,
  capabilities: [],
  otherApps: {},
});

interface CompiledGrant {
  matches(identity: Identity): boolean;
  caps: Capability[];
  otherApps: Record<string, unknown[]>;
}

export type AccessEvaluator = (identity: Identity) => Access;

export function compileGrants(grants: readonly GrantSpec[]): AccessEvaluator {
  const compiled: CompiledGrant[] = grants.map((g) => ({ matches: compileSrc(g.src), caps: g.caps, otherApps: g.otherApps }));
  const globs = new Map<string, ModelMatcher>();
  for (const g of grants) for (const cap of g.caps) if (cap.models) globs.set(cap.models, compileModelGlob(cap.models));
  const mcpGlobs = new Map<string, ModelMatcher>();
  const mcpGlobFor = (pattern: string): ModelMatcher => {
    let m = mcpGlobs.get(pattern);
    if (!m) mcpGlobs.set(pattern, (m = compileMcpGlob(pattern)));
    return m;
  };

  // Weak: capabilities from a caller's tailnet CapMap are new objects for every identity.
  const corsRules = new WeakMap<Capability, CorsRule>();
  const corsFor = (cap: Capability & { cors: NonNullable<Capability['cors']> }): CorsRule => {
    let rule = corsRules.get(cap);
    if (!rule) corsRules.set(cap, (rule = compileCors(cap.cors)));
    return rule;
  };

  const globFor = (pattern: string): ModelMatcher => {
    let m = globs.get(pattern);
    if (!m) globs.set(pattern, (m = compileModelGlob(pattern)));
    return m;
  };

  return (identity) => {
    const caps: Capability[] = [];
    let otherApps: Record<string, unknown[]> | undefined;
    for (const g of compiled) {
      if (!g.matches(identity)) continue;
      caps.push(...g.caps);
      // A null prototype: a key from the document (even `__proto__`) is only ever a key.
      for (const [key, list] of Object.entries(g.otherApps)) ((otherApps ??= Object.create(null) as Record<string, unknown[]>)[key] ??= []).push(...list);
    }
    // Grants written in the tailnet policy file arrive with the caller's identity.
    const fromTailnet = identity.capMap[APERTURE_CAP];
    if (fromTailnet && fromTailnet.length > 0) caps.push(...parseCapabilities(fromTailnet));
    if (caps.length === 0) return NO_ACCESS;
    let role: Role | undefined;
    const patterns: string[] = [];
    const addHeaders: Array<[string, string]> = [];
    let enableChatUi = true;
    let chatDisabled = false;
    let readMetrics = false;
    const cors: CorsRule[] = [];
    const mcpPatterns: string[] = [];
    for (const cap of caps) {
      if (cap.mcp) for (const p of cap.mcp) if (!mcpPatterns.includes(p)) mcpPatterns.push(p);
      if (cap.role === 'admin' || (cap.role === 'user' && role === undefined)) role = cap.role;
      if (cap.models && !patterns.includes(cap.models)) patterns.push(cap.models);
      if (cap.add_headers) addHeaders.push(...cap.add_headers);
      if (cap.enable_chat_ui === false) chatDisabled = true;
      if (cap.read_metrics) readMetrics = true;
      if (cap.cors) cors.push(corsFor(cap as Capability & { cors: NonNullable<Capability['cors']> }));
    }
    if (chatDisabled) enableChatUi = false;
    // `**` allows every name and a pattern without `*` one exact name (as compileModelGlob
    // has it): neither needs a glob test per name, which matters when a caller matches
    // hundreds of grants and lists thousands of models.
    const allowAll = patterns.includes('**');
    const exact = new Set(patterns.filter((p) => !p.includes('*')));
    const wildcards = patterns.filter((p) => p !== '**' && p.includes('*')).map(globFor);
    // canUseModel depends on nothing but the set of patterns (order does not matter to
    // `some`). Built on first use: only the model listings read it.
    let modelsKey: string | undefined;
    const decided = new Map<string, boolean>();
    return {
      role,
      modelPatterns: patterns,
      canUseModel: (provider, model) => {
        if (allowAll) return true;
        const fqn = `${provider}/${model}`;
        if (exact.has(fqn)) return true;
        if (wildcards.length === 0) return false;
        // Access lives as long as its snapshot, so each name is matched against the
        // caller's patterns once, however many grants they have.
        let allowed = decided.get(fqn);
        if (allowed === undefined) {
          allowed = wildcards.some((m) => m(fqn));
          if (decided.size < 10_000) decided.set(fqn, allowed);
        }
        return allowed;
      },
      get modelsKey() {
        return (modelsKey ??= JSON.stringify([...patterns].sort()));
      },
      addHeaders,
      enableChatUi,
      readMetrics,
      cors,
      mcp: compileMcpAccess(mcpPatterns, mcpGlobFor),
      capabilities: caps,
      otherApps: otherApps ?? {},
    };
  };
}

/** compileSrc builds the matcher for a grant's `src` list. */
function compileSrc(src: readonly string[]): (identity: Identity) => boolean {
  const everyone = src.includes('*');
  const loopback = src.includes('(loopback)');
  const names = new Set(src.filter((s) => s !== '*' && s !== '(loopback)').map((s) => s.toLowerCase()));
  return (identity) => {
    if (everyone) return true;
    if (loopback && identity.loopback) return true;
    if (names.size === 0) return false;
    if (names.has(identity.login.toLowerCase())) return true;
    for (const t of identity.tags) if (names.has(t.toLowerCase())) return true;
    for (const g of identity.groups) if (names.has(g.toLowerCase())) return true;
    return false;
  };
}
