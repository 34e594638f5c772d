/** What every handler needs, passed in once (no package globals): see createGateway. */
import type { Logger } from 'pino';
import type { ConfigRuntime } from '../config/runtime.js';
import type { Quotas } from '../governance/quotas.js';
import type { IdentitySource } from '../identity/identity.js';
import type { ConversationStore } from '../telemetry/store.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { CsrfGuard } from './csrf.js';
import type { PoolRegistry } from '../upstream/pools.js';

export interface GatewayContext {
  config: ConfigRuntime;
  pools: PoolRegistry;
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
  /** Quota buckets: checked before forwarding, charged after the answer. */
  quotas: Quotas;
}
