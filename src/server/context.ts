/** What every handler needs, passed in once (no package globals): see createGateway. */
import type { Logger } from 'pino';
import type { ConfigRuntime } from '../config/runtime.js';
import type { Quotas } from '../governance/quotas.js';
import type { Hooks } from '../hooks/hooks.js';
import type { IdentitySource } from '../identity/identity.js';
import type { ConversationStore } from '../telemetry/store.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { CsrfGuard } from './csrf.js';
import type { HostAllowlist } from './host-allowlist.js';
import type { ModelDates } from './model-dates.js';
import type { PoolRegistry } from '../upstream/pools.js';
import type { UpstreamCredentials } from '../upstream/credentials/index.js';
import type { McpGateway } from '../mcp/gateway.js';

export interface GatewayContext {
  config: ConfigRuntime;
  pools: PoolRegistry;
  /** Provider credentials minted per request (keyfile access tokens), shared across reloads. */
  credentials: UpstreamCredentials;
  identity: IdentitySource;
  log: Logger;
  /** Largest request body accepted, in bytes. */
  bodyLimit: number;
  /** Usage recording; undefined when telemetry is off. */
  telemetry: Telemetry | undefined;
  /** Chat conversations (the same database as telemetry). */
  store: ConversationStore;
  /** Tokens for browser requests that change state. */
  csrf: CsrfGuard;
  /** The Host names keyway answers for (DNS rebinding). */
  hosts: HostAllowlist;
  /** Limits on slow and greedy clients. */
  clientLimits: ClientLimits;
  /** When each provider/model was first offered: `created` in /v1/models. */
  modelDates: ModelDates;
  /** Quota buckets: checked before forwarding, charged after the answer. */
  quotas: Quotas;
  /** Translate between API formats when a model's provider lacks the client's (`--translation`). */
  translation: boolean;
  /** /v1/mcp, MCP registrations and HTTP connectors (src/mcp). */
  mcp: McpGateway;
  /** Hooks: the pre_request chain before forwarding, the events after the answer. */
  hooks: Hooks;
  /** Why keyway should get no new traffic now (`/readyz` 503), or undefined when it is ready. */
  notReady?: () => string | undefined;
}

export interface ClientLimits {
  /** Longest time to receive a request's headers (from the connection's start for the first). */
  headerTimeoutMs: number;
  /** Longest pause between two pieces of a request body. */
  bodyTimeoutMs: number;
  /** Most open connections from one peer address; 0 for no limit. */
  maxConnectionsPerPeer: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = {
  headerTimeoutMs: 30_000,
  bodyTimeoutMs: 60_000,
  maxConnectionsPerPeer: 256,
};
