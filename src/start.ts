/**
 * startKeyway wires the pieces together and starts listening: the config store and
 * runtime, the identity source, connection pools, the HTTP server. The CLI calls it;
 * so do the tests, with a temporary data folder and port 0.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ConfigRuntime } from './config/runtime.js';
import { STARTER_CONFIG } from './config/starter.js';
import { ConfigFileStore } from './config/store.js';
import type { Env } from './config/macros.js';
import { QuotaLedger, type Clock } from './governance/ledger.js';
import { Quotas } from './governance/quotas.js';
import { chooseIdentitySource, type IdentityMode } from './identity/choose.js';
import type { IdentitySource } from './identity/identity.js';
import { DEFAULT_TAILSCALE_SOCKET } from './identity/localapi.js';
import { createLogger, type Logger } from './log.js';
import { CsrfGuard } from './server/csrf.js';
import { createGateway, type Gateway } from './server/gateway.js';
import { SqliteTelemetryStore } from './telemetry/store.js';
import { DEFAULT_CAPTURE_LIMIT, Telemetry } from './telemetry/telemetry.js';
import { DEFAULT_POOL_SETTINGS, PoolRegistry, type PoolSettings } from './upstream/pools.js';

/** Server settings: read once at start, from flags and environment (see cli.ts). */
export interface ServerSettings {
  host: string;
  port: number;
  dataDir: string;
  /** Config file; defaults to `<dataDir>/config.hujson`. */
  configPath?: string;
  logLevel: string;
  bodyLimit: number;
  pools: PoolSettings;
  /** Watch the config file and SIGHUP for changes. */
  watch: boolean;
  /** Where caller identity comes from (see identity/choose.ts). */
  identity: IdentityMode;
  /** tailscaled's LocalAPI socket, for the `tailscale` and `auto` identity modes. */
  tailscaleSocket: string;
  /** Record usage, cost and captures in `<dataDir>/keyway.db`. */
  telemetry: boolean;
  /** Most characters of each request or response body kept in a capture. */
  captureLimit: number;
}

export const DEFAULT_SETTINGS: ServerSettings = {
  host: '127.0.0.1',
  port: 8080,
  dataDir: './keyway-data',
  logLevel: 'info',
  bodyLimit: 32 * 1024 * 1024, // 32 MiB
  pools: DEFAULT_POOL_SETTINGS,
  watch: true,
  identity: 'loopback',
  tailscaleSocket: DEFAULT_TAILSCALE_SOCKET,
  telemetry: true,
  captureLimit: DEFAULT_CAPTURE_LIMIT,
};

export interface Keyway {
  url: string;
  port: number;
  runtime: ConfigRuntime;
  telemetry: Telemetry | undefined;
  quotas: Quotas;
  gateway: Gateway;
  log: Logger;
  close(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  env?: Env;
  identity?: IdentitySource;
  log?: Logger;
  /** The time quotas refill by (milliseconds since the epoch); tests pass their own. */
  clock?: Clock;
}

export async function startKeyway(settings: ServerSettings, options: StartOptions = {}): Promise<Keyway> {
  const log = options.log ?? createLogger(settings.logLevel);
  const env = options.env ?? process.env;
  const configPath = settings.configPath ?? join(settings.dataDir, 'config.hujson');
  const store = new ConfigFileStore(configPath);
  const pools = new PoolRegistry(settings.pools);
  // A starter config is written only into keyway's own data folder, never over an explicit --config path.
  const runtime = await ConfigRuntime.open(store, pools, env, settings.configPath ? undefined : STARTER_CONFIG);
  const chosen = options.identity
    ? { source: options.identity, reason: 'given by the embedding program' }
    : await chooseIdentitySource(settings.identity, settings.tailscaleSocket, log);
  const identity = chosen.source;
  log.info({ identity: identity.name, reason: chosen.reason }, 'identity source');

  logProblems(log, runtime.current.problems, configPath);
  // One SQLite database (in a worker thread) holds telemetry and chat conversations.
  const dataStore = await SqliteTelemetryStore.open(join(settings.dataDir, 'keyway.db'));
  const telemetry = settings.telemetry
    ? await Telemetry.open(dataStore, settings.dataDir, log, { captureLimit: settings.captureLimit }, () => runtime.current)
    : undefined;
  // Balances live in the same database, and are kept whether or not telemetry is on.
  const quotas = new Quotas(new QuotaLedger(dataStore, options.clock ?? Date.now, log), log, telemetry?.metrics);
  await quotas.ledger.load(quotas.plan(runtime.current).specs);
  telemetry?.metrics.watchQuotas(() => quotas.ledger.all().map((b) => ({ quota: b.spec.name, bucket: b.name, balanceNanos: b.balance, capacityNanos: b.spec.capacityNanos })));
  runtime.on('applied', (snapshot, source) => {
    quotas.apply(snapshot);
    telemetry?.metrics.configReloads.inc({ source, result: 'applied' });
    log.info({ source, hash: snapshot.hash.slice(0, 12), providers: snapshot.providers.size }, 'configuration applied');
    logProblems(log, snapshot.problems, configPath);
  });
  runtime.on('rejected', (problems, source) => {
    telemetry?.metrics.configReloads.inc({ source, result: 'rejected' });
    log.error({ source }, 'configuration change rejected; the running configuration stays in force');
    logProblems(log, problems, configPath);
  });
  if (settings.watch) runtime.watch();

  const gateway = createGateway({ config: runtime, pools, identity, log, bodyLimit: settings.bodyLimit, telemetry, store: dataStore, csrf: new CsrfGuard(), quotas });
  gateway.server.listen(settings.port, settings.host);
  try {
    await once(gateway.server, 'listening');
  } catch (err) {
    runtime.close();
    await telemetry?.close();
    await quotas.ledger.close();
    await dataStore.close();
    await pools.closeAll();
    throw err;
  }
  const port = (gateway.server.address() as AddressInfo).port;
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  const url = `http://${host}:${port}`;
  log.info({ url, config: configPath, identity: identity.name, providers: runtime.current.providers.size }, 'keyway listening');

  return {
    url,
    port,
    runtime,
    telemetry,
    quotas,
    gateway,
    log,
    async close(graceMs = 10_000) {
      runtime.close();
      await gateway.close(graceMs);
      // Requests are done: write every queued record and balance before the store closes.
      await telemetry?.close();
      await quotas.ledger.close();
      await dataStore.close();
      await pools.closeAll();
    },
  };
}

function logProblems(log: Logger, problems: readonly { severity: string; path: string; message: string }[], file: string): void {
  for (const p of problems) {
    const level = p.severity === 'error' ? 'error' : p.severity === 'warning' ? 'warn' : 'info';
    log[level]({ file, path: p.path }, p.message);
  }
}
