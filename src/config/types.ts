import type { ServiceAccountKeyfile } from '../upstream/credentials/keyfile.js';

/**
 * The validated, normalised form of an Aperture-compatible configuration document.
 * Field names follow the document (see docs/configuration.md); defaults are applied
 * here so nothing downstream has to know them.
 */

/** FORMAT_FLAGS lists every `compatibility` flag of the document, in documentation order. */
export const FORMAT_FLAGS = [
  'openai_chat',
  'openai_responses',
  'anthropic_messages',
  'gemini_generate_content',
  'google_generate_content',
  'google_raw_predict',
  'bedrock_model_invoke',
  'bedrock_converse',
  'experimental_gemini_cli_vertex_compat',
] as const;
export type FormatFlag = (typeof FORMAT_FLAGS)[number];

export const AUTHORIZATION_STYLES = ['bearer', 'x-api-key', 'x-goog-api-key'] as const;
export type AuthorizationStyle = (typeof AUTHORIZATION_STYLES)[number];

/** The document accepts "" as the default; it is normalised to "override". */
export const AUTH_MODES = ['', 'override', 'passthrough', 'none'] as const;
export type AuthMode = 'override' | 'passthrough' | 'none';

export const COST_BASES = [
  'anthropic', 'openai', 'google', 'bedrock', 'bedrock-us', 'bedrock-eu', 'bedrock-ap',
  'vertex', 'azure', 'azure-eu', 'openrouter', 'vercel',
] as const;

export interface ModelCostMapEntry {
  match: string;
  as: string;
  adjustment: number;
}

export interface ProviderSpec {
  id: string;
  baseurl: string;
  models: string[];
  /** Listed names that can never match (wildcards, empty): kept to explain why. */
  ignoredModels: string[];
  apikey: string;
  /** The service account of a `keyfile::` apikey (Vertex AI), read at validation. */
  keyfile: ServiceAccountKeyfile | undefined;
  authorization: AuthorizationStyle;
  authMode: AuthMode;
  name: string;
  description: string;
  compatibility: Record<FormatFlag, boolean>;
  costBasis: string | undefined;
  modelCostMap: ModelCostMapEntry[];
  preference: number;
  disabled: boolean;
  addHeaders: Array<[string, string]>;
  /**
   * False when the provider has a problem that makes serving it unsafe or impossible
   * (no baseurl, unknown auth_mode, …). Such a config still loads from disk, as the
   * reference requires, but the provider is left out of routing.
   */
  usable: boolean;
}

export type Role = 'admin' | 'user';

/** One object of a grant's `tailscale.com/cap/aperture` list. */
export interface Capability {
  role?: Role;
  models?: string;
  quotas?: Array<{ bucket: string }>;
  send_hooks?: Array<{ name: string; events: string[]; send: string[] }>;
  add_headers?: Array<[string, string]>;
  enable_chat_ui?: boolean;
  read_metrics?: boolean;
  /** Cross-origin browser access (`set_cors` with its paths and `Access-Control-*` values). */
  cors?: CorsSpec;
  /** Every other field (mcp_*, connectors, CORS, …), kept for later features. */
  extra: Record<string, unknown>;
}

/**
 * A grant's CORS capability: which web origins may call which paths from a browser, as
 * the caller. Only present when `set_cors` is true.
 */
export interface CorsSpec {
  /** Path globs (`/v1/**`); `*` is one segment, `**` any number. */
  paths: string[];
  /** `Access-Control-Allow-Origin`: origins (`https://app.example.com`) or `*`. */
  origins: string[];
  /** `Access-Control-Allow-Methods`, as written; undefined for the default. */
  methods: string | undefined;
  /** `Access-Control-Allow-Headers`, as written; undefined to allow what the browser asks for. */
  headers: string | undefined;
}

export interface GrantSpec {
  src: string[];
  caps: Capability[];
  /** Capabilities under other app keys: ignored except for hooks (`send: ["grants"]`). */
  otherApps: Record<string, unknown[]>;
}

export interface GatewayConfig {
  providers: ProviderSpec[];
  grants: GrantSpec[];
  autoCostBasis: boolean;
  /** The whole document after macro substitution, for sections later features read. */
  document: Record<string, unknown>;
}

export type Severity = 'error' | 'warning' | 'info';

/**
 * A validation problem. Severity follows the reference: `error` stops a config from
 * loading at all; `warning` is logged on load and reload but rejects a save or a
 * validate call; `info` never blocks.
 */
export interface Problem {
  severity: Severity;
  path: string;
  message: string;
  line?: number;
  column?: number;
}
