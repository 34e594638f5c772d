/**
 * One keep-alive connection pool per upstream origin, shared by every configuration
 * snapshot that uses the origin, so a reload keeps warm connections. Pools whose origin
 * no snapshot uses any more are closed gracefully: requests already on them finish.
 */
import { Pool } from 'undici';

export interface PoolSettings {
  connectTimeoutMs: number;
  /** Time to wait for response headers (an LLM can think for minutes before answering). */
  headersTimeoutMs: number;
  /** Longest silence allowed between two chunks of a response body. */
  bodyIdleTimeoutMs: number;
}

export const DEFAULT_POOL_SETTINGS: PoolSettings = {
  connectTimeoutMs: 10_000, // 10 s
  headersTimeoutMs: 600_000, // 10 min, the Anthropic and OpenAI SDKs' own default
  bodyIdleTimeoutMs: 300_000, // 5 min
};

export class PoolRegistry {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly settings: PoolSettings = DEFAULT_POOL_SETTINGS) {}

  /** get returns the pool for an origin (`https://api.anthropic.com`), creating it once. */
  get(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connect: { timeout: this.settings.connectTimeoutMs },
        headersTimeout: this.settings.headersTimeoutMs,
        bodyTimeout: this.settings.bodyIdleTimeoutMs,
        keepAliveTimeout: 30_000, // 30 s; upstream keep-alive hints may shorten it
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** retainOnly closes the pools of origins not in `inUse` once their requests finish. */
  retainOnly(inUse: ReadonlySet<string>): void {
    for (const [origin, pool] of this.pools) {
      if (!inUse.has(origin)) {
        this.pools.delete(origin);
        pool.close().catch(() => {});
      }
    }
  }

  async closeAll(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(all.map((p) => p.close()));
  }

  /** destroyAll drops every connection at once (shutdown after the grace period). */
  async destroyAll(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(all.map((p) => p.destroy()));
  }
}
