import type { ServiceAccountKeyfile } from '../upstream/credentials/keyfile.js';

/**
 * The validated, normalised form of an Aperture-compatible configuration document.
 * Field names follow the document (see docs/configuration.md); defaults are applied
 * here so nothing downstream has to know them.
 */
import type { ChatModelRule } from './chat-models.js';

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
  /**
   * MCP and connector access (`mcp_tools`, `mcp_resources`, `mcp_templates`, `connectors`),
   * each normalised to a `serverID/category/item` glob or a `label:<label>/category/item`
   * one (access/mcp-grants.ts).
   */
  mcp?: string[];
  /** Every other field, kept for later features. */
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

/**
 * One entry of `quotas`: a dollar token bucket. A name with a template (`daily:<user>`,
 * `device:<node>`) stands for one bucket per caller or device; without one it is a single
 * shared bucket. Amounts are integer nanodollars (see governance/money.ts).
 */
export interface QuotaSpec {
  /** The name as written in `quotas`, and as grants reference it. */
  name: string;
  /** The part before the colon (`daily`), or the whole name for a shared bucket. */
  base: string;
  template: QuotaTemplate | undefined;
  capacityNanos: number;
  /** Refill: `rateNanos` every `periodMs`. */
  rateNanos: number;
  periodMs: number;
  /** As written: `"$5.00"`, `"$5.00/day"`. */
  capacity: string;
  rate: string;
}

export const QUOTA_TEMPLATES = ['<user>', '<node>'] as const;
export type QuotaTemplate = (typeof QUOTA_TEMPLATES)[number];

/** The events a grant's `send_hooks` can subscribe a hook to. */
export const HOOK_EVENTS = ['pre_request', 'entire_request', 'tool_call_entire_request'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

/** What a `send_hooks` entry can ask to be sent (`send`), beside the metadata every call carries. */
export const HOOK_SEND_FIELDS = ['request_body', 'response_body', 'raw_responses', 'user_message', 'tools', 'grants', 'estimated_cost', 'quotas'] as const;
export type HookSendField = (typeof HOOK_SEND_FIELDS)[number];

export const HOOK_FAIL_POLICIES = ['fail_open', 'fail_closed'] as const;
export type HookFailPolicy = (typeof HOOK_FAIL_POLICIES)[number];

/** One entry of `hooks`: an endpoint keyway POSTs HookCallData to (see hooks/). */
export interface HookSpec {
  /** The key under `hooks`, as grants' `send_hooks` name it. */
  id: string;
  /** `http://` or `https://` URL. */
  url: string;
  apikey: string;
  authorization: AuthorizationStyle;
  /** Longest wait for the whole call, in milliseconds; 0 for none (`"timeout": "0"`). */
  timeoutMs: number;
  disabled: boolean;
  /** What a failed pre_request call does: continue (`fail_open`) or answer 503 (`fail_closed`). */
  failPolicy: HookFailPolicy;
  /** Higher runs first in a pre_request chain; ties by id. */
  preference: number;
}

export interface GatewayConfig {
  providers: ProviderSpec[];
  grants: GrantSpec[];
  /** The `quotas` section; grants attach its buckets through `quotas: [{"bucket": name}]`. */
  quotas: QuotaSpec[];
  /** The `hooks` section, in document order; grants wire them with `send_hooks`. */
  hooks: HookSpec[];
  autoCostBasis: boolean;
  /** MCP servers and connectors (`mcp`, `connectors`, `flags.connectors`): validate-mcp.ts. */
  mcp: McpConfig;
  /** `chat_models`: what the chat UI offers; undefined offers every model (chat-models.ts). */
  chatModels: ChatModelRule[] | undefined;
  /** `exporters.s3`, when it names a bucket (validate-exporters.ts). */
  s3Export: S3ExportSpec | undefined;
  /** The whole document after macro substitution, for sections later features read. */
  document: Record<string, unknown>;
}

/** How keyway authenticates to an MCP server or HTTP connector (`connectors.servers.<id>.auth`). */
export type McpAuthSpec =
  | { type: 'none' }
  | { type: 'bearer_token'; token: string }
  | { type: 'api_key'; header: string; apiKey: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'oauth2_client_credentials'; tokenUrl: string; clientId: string; clientSecret: string; scopes: string[]; audience: string | undefined }
  /** Per-user OAuth: validated, not implemented (not-implemented.ts); such a connector is not connected. */
  | { type: 'oauth2_authorization_code' | 'oauth2_dcr' };

export const MCP_AUTH_TYPES = ['bearer_token', 'api_key', 'basic', 'oauth2_client_credentials', 'oauth2_authorization_code', 'oauth2_dcr'] as const;

/** One upstream MCP server or HTTP connector, from `mcp.servers` or `connectors.servers`. */
export interface McpServerSpec {
  /** `[a-zA-Z][a-zA-Z0-9]*`: the prefix of its tools (`id_tool`) and resources (`id-uri`). */
  id: string;
  /** Where it was declared (`registration`: POST /v1/mcp/register, never in a document). */
  source: 'mcp' | 'connector' | 'registration';
  /** `mcp`: its tools and resources join /v1/mcp; `http`: reverse-proxied at /v1/connectors/<id>/. */
  protocol: 'mcp' | 'http';
  url: string;
  auth: McpAuthSpec;
  /** For `label:<label>` grants. */
  labels: string[];
  description: string;
}

export interface McpConfig {
  /** `mcp.accept_registrations`: POST /v1/mcp/register is open. */
  acceptRegistrations: boolean;
  /** `flags.connectors`: the `connectors` section is in force. */
  connectorsEnabled: boolean;
  /** `mcp.servers`, then (with the flag) `connectors.servers`, each ID once. */
  servers: McpServerSpec[];
}

/** `exporters.s3` as the exporter runs it (telemetry/export/). */
export interface S3ExportSpec {
  /** A custom endpoint (MinIO, GCS, B2, …; path-style addressing), or '' for AWS. */
  endpoint: string;
  bucket: string;
  region: string;
  /** Objects are `<prefix>/ts-aperture-export-<unix seconds>.cbor.zstd` ('' for none). */
  prefix: string;
  /** Static credentials, or '' to take them from the standard AWS environment. */
  accessKeyId: string;
  accessSecret: string;
  /** Time after an export before the next one. */
  everyMs: number;
  /** Most records per object (capped at 10,000). */
  limit: number;
}

export type Severity = 'error' | 'warning' | 'info';

/**
 * A validation problem. One verdict everywhere (problems.ts): `error` blocks the document
 * wherever it arrives (start, reload, save, validate, `keyway check`); `warning` and `info`
 * never block and never drop anything. Anything keyway would otherwise have to ignore or
 * guess at (an unknown auth_mode, a malformed header, a value of the wrong type) is an
 * error. Unlike Aperture, a warning does not block a save either.
 */
export interface Problem {
  severity: Severity;
  path: string;
  message: string;
  /** Where the problem is in the text (1-based); set for every problem whose path is found. */
  line?: number;
  column?: number;
}
