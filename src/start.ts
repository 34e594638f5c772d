/**
 * startKeyway wires the pieces together and starts listening: the config store and
 * runtime, the identity source, connection pools, the HTTP server. The CLI calls it;
 * so do the tests, with a temporary data folder and port 0.
 */
import { once } from 'node:events';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { formatProblem } from './config/problems.js';
import { ConfigRuntime } from './config/runtime.js';
import { STARTER_CONFIG } from './config/starter.js';
import { openConfigStore } from './config/open-store.js';
import { privateDir } from './private-files.js';
import type { Env } from './config/macros.js';
import type { Problem } from './config/types.js';
import { QuotaLedger, type Clock } from './governance/ledger.js';
import { Quotas } from './governance/quotas.js';
import { DEFAULT_HOOK_SETTINGS, Hooks, type HookSettings } from './hooks/hooks.js';
import { chooseIdentitySource, type IdentityMode } from './identity/choose.js';
import { markLocalSocket, type IdentitySource } from './identity/identity.js';
import { DEFAULT_TAILSCALE_SOCKET, localApiGet } from './identity/localapi.js';
import { createLogger, type Logger } from './log.js';
import { DEFAULT_CLIENT_LIMITS, type ClientLimits } from './server/context.js';
import { CsrfGuard } from './server/csrf.js';
import { HostAllowlist, tailnetNames, type NodeStatus } from './server/host-allowlist.js';
import { ModelDates } from './server/model-dates.js';
import { createGateway, type Gateway } from './server/gateway.js';
import { McpGateway } from './mcp/gateway.js';
import { McpTelemetry } from './mcp/telemetry.js';
import { WorkerTelemetryStore } from './telemetry/store.js';
import { redactUrl } from './pg/pool.js';
import { DEFAULT_CAPTURE_LIMIT, Telemetry } from './telemetry/telemetry.js';
import { DEFAULT_POOL_SETTINGS, PoolRegistry, type PoolSettings } from './upstream/pools.js';
import { UpstreamCredentials } from './upstream/credentials/index.js';

/** Server settings: read once at start, from flags and environment (see cli.ts). */
export interface ServerSettings {
  /** Address to listen on: an IP or name, or `unix:PATH` for a unix socket. */
  host: string;
  port: number;
  dataDir: string;
  /** Config file; defaults to `<dataDir>/config.hujson`. */
  configPath?: string;
  /**
   * A PostgreSQL URL (`--database`): configuration, telemetry, quotas and chats live there,
   * shared by every replica on it. Undefined keeps the embedded SQLite default in dataDir.
   */
  databaseUrl?: string;
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
  /** Extra Host names keyway answers for (`--host-name`), besides loopback and its own. */
  hostNames: string[];
  /** Slow-client bounds; `maxConnectionsPerPeer` undefined picks the identity mode's default. */
  clientLimits: Omit<ClientLimits, 'maxConnectionsPerPeer'> & { maxConnectionsPerPeer?: number };
  /** Translate between API formats when a model's provider lacks the client's (`--translation on|off`). */
  translation: boolean;
  /** Hook calls: their own connection limits, and the queue of asynchronous events. */
  hooks: HookSettings;
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
  hostNames: [],
  clientLimits: { headerTimeoutMs: DEFAULT_CLIENT_LIMITS.headerTimeoutMs, bodyTimeoutMs: DEFAULT_CLIENT_LIMITS.bodyTimeoutMs },
  translation: true,
  hooks: DEFAULT_HOOK_SETTINGS,
};

export interface Keyway {
  url: string;
  port: number;
  runtime: ConfigRuntime;
  telemetry: Telemetry | undefined;
  quotas: Quotas;
  hooks: Hooks;
  gateway: Gateway;
  /** The MCP gateway (/v1/mcp, registrations, connectors). */
  mcp: McpGateway;
  /** When each provider/model was first offered (`created` in /v1/models). */
  modelDates: ModelDates;
  log: Logger;
  close(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  env?: Env;
  identity?: IdentitySource;
  log?: Logger;
  /** The configuration written into an empty data folder (default: the passthrough-only STARTER_CONFIG). */
  starter?: string;
  /** The time quotas refill by (milliseconds since the epoch); tests pass their own. */
  clock?: Clock;
}

export async function startKeyway(settings: ServerSettings, options: StartOptions = {}): Promise<Keyway> {
  const log = options.log ?? createLogger(settings.logLevel);
  const env = options.env ?? process.env;
  const filePath = settings.configPath ?? join(settings.dataDir, 'config.hujson');
  // The data folder and the files in it are for keyway's user only; a killed save is repaired.
  const dirNote = await privateDir(settings.dataDir);
  // The file, or with --database the database every replica shares (seeded once when empty).
  const opened = await openConfigStore({ databaseUrl: settings.databaseUrl, configPath: settings.configPath, filePath }, options.starter ?? STARTER_CONFIG, env, log).catch((err: Error) => {
    log.error({ err: err.message }, 'the configuration store cannot be opened; keyway did not start');
    throw err;
  });
  const store = opened.store;
  const configPath = store.location;
  const fileNotes = [dirNote, ...opened.notes];
  const pools = new PoolRegistry(settings.pools);
  const runtime = await ConfigRuntime.open(store, pools, env, opened.starter).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  const chosen = options.identity
    ? { source: options.identity, reason: 'given by the embedding program' }
    : await chooseIdentitySource(settings.identity, settings.tailscaleSocket, log);
  const identity = chosen.source;
  log.info({ identity: identity.name, reason: chosen.reason }, 'identity source');

  logProblems(log, runtime.current.problems, configPath);
  // One database (in a worker thread) holds telemetry, quota balances and chat
  // conversations: SQLite in the data folder, or the PostgreSQL every replica shares
  // (--database). With --config elsewhere nothing has created the data folder yet.
  await mkdir(settings.dataDir, { recursive: true });
  const dataStore = settings.databaseUrl ? await WorkerTelemetryStore.openPostgres(settings.databaseUrl) : await WorkerTelemetryStore.open(join(settings.dataDir, 'keyway.db'));
  if (settings.databaseUrl) log.info({ database: redactUrl(settings.databaseUrl) }, 'telemetry, quota balances and chats in PostgreSQL');
  for (const n of [...fileNotes, ...dataStore.fileNotes]) if (n) log[n.level]({ path: n.path }, n.message);
  const sharedSecret = settings.databaseUrl ? (candidate: string) => dataStore.fingerprintSecret(candidate) : undefined;
  const telemetry = settings.telemetry
    ? await Telemetry.open(dataStore, settings.dataDir, log, { captureLimit: settings.captureLimit, env, sharedSecret }, () => runtime.current)
    : undefined;
  telemetry?.metrics.watchStore(() => dataStore.status());
  // Before any listing is served: every model of the running configuration has its date.
  const modelDates = await ModelDates.open(join(settings.dataDir, 'model-dates.json'), log);
  modelDates.note(runtime.current);
  // Balances live in the same database, and are kept whether or not telemetry is on.
  const quotas = new Quotas(new QuotaLedger(dataStore, options.clock ?? Date.now, log), log, telemetry?.metrics);
  await quotas.ledger.load(quotas.plan(runtime.current).specs);
  telemetry?.metrics.watchQuotas(() => quotas.ledger.all().map((b) => ({ quota: b.spec.name, bucket: b.name, balanceNanos: b.balance, capacityNanos: b.spec.capacityNanos })));
  // A hook answer may carry a whole request body (modify): as large as a request may be.
  const hookSettings: HookSettings = { ...settings.hooks, client: { ...settings.hooks.client, maxAnswerBytes: Math.max(settings.hooks.client.maxAnswerBytes, settings.bodyLimit) } };
  const hooks = new Hooks(hookSettings, quotas, log, telemetry?.metrics);
  telemetry?.metrics.watchHooks(() => hooks.events.depth);
  runtime.on('applied', (snapshot, source) => {
    modelDates.note(snapshot);
    quotas.apply(snapshot);
    telemetry?.applied(snapshot);
    telemetry?.metrics.configReloads.inc({ source, result: 'applied' });
    log.info({ source, hash: snapshot.hash.slice(0, 12), providers: snapshot.providers.size }, 'configuration applied');
    logProblems(log, snapshot.problems, configPath);
  });
  runtime.on('rejected', (problems, source) => {
    telemetry?.metrics.configReloads.inc({ source, result: 'rejected' });
    log.error({ source, file: configPath }, 'configuration change rejected; the running configuration stays in force');
    logProblems(log, problems, configPath);
  });
  runtime.on('historyFailed', (err, source) => {
    log.error({ source, err: err.message }, 'the applied configuration could not be added to the history');
  });
  await runtime.recordRunning();
  // In database mode watching is how other replicas' saves arrive: never off.
  if (settings.watch || store.changeSource === 'database') runtime.watch();

  const unixPath = settings.host.startsWith('unix:') ? settings.host.slice('unix:'.length) : undefined;
  const hosts = new HostAllowlist(settings.host, settings.hostNames);
  const stopNames = identity.name === 'tailscale' || identity.name === 'serve-headers' ? await learnTailnetNames(hosts, hooks, settings.tailscaleSocket, log) : () => {};
  // Behind tailscale serve every caller is the same loopback peer: a per-peer cap would cap everyone.
  const maxConnectionsPerPeer = settings.clientLimits.maxConnectionsPerPeer ?? (identity.name === 'serve-headers' ? 0 : DEFAULT_CLIENT_LIMITS.maxConnectionsPerPeer);
  const clientLimits: ClientLimits = { ...settings.clientLimits, maxConnectionsPerPeer };
  if (identity.name === 'serve-headers' && !unixPath) {
    log.warn(
      { listen: settings.host },
      'serve-headers identity trusts the Tailscale-User-Login header from any process on this machine: any local user or program can claim any login. ' +
        'Listen on a unix socket that only tailscale serve can reach (--listen unix:/run/keyway/keyway.sock) to close this; see docs/identity.md',
    );
  }
  const credentials = new UpstreamCredentials();
  const mcp = new McpGateway({ config: runtime, log, bodyLimit: settings.bodyLimit });
  if (telemetry) mcp.observer = new McpTelemetry(telemetry, mcp);
  let draining = false;
  // /readyz: not while shutting down, nor while the configuration's database does not answer.
  const notReady = () => (draining ? 'shutting down' : store.unavailable());
  const gateway = createGateway({ config: runtime, pools, credentials, identity, log, bodyLimit: settings.bodyLimit, telemetry, store: dataStore, csrf: new CsrfGuard(), hosts, clientLimits, modelDates, quotas, translation: settings.translation, mcp, hooks, notReady });
  try {
    if (unixPath) {
      await removeStaleSocket(unixPath);
      gateway.server.on('connection', (socket: Socket) => markLocalSocket(socket));
      gateway.server.listen(unixPath);
    } else {
      gateway.server.listen(settings.port, settings.host);
    }
    await once(gateway.server, 'listening');
    // Only keyway's own user (and root, which tailscale serve runs as) may connect.
    if (unixPath) await chmod(unixPath, 0o600);
  } catch (err) {
    stopNames();
    runtime.close();
    await mcp.close();
    await hooks.close(0);
    await telemetry?.close();
    await quotas.ledger.close();
    await dataStore.close();
    await pools.closeAll();
    await modelDates.flush();
    await credentials.close();
    await store.close();
    throw err;
  }
  const port = unixPath ? 0 : (gateway.server.address() as AddressInfo).port;
  // From now on an MCP server URL at keyway's own address is refused (url-safety.ts).
  if (!unixPath) runtime.setSelf({ port, hosts: [settings.host, ...hosts.list()] });
  let closing: Promise<void> | undefined;
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  const url = unixPath ? settings.host : `http://${host}:${port}`;
  log.info({ url, config: configPath, identity: identity.name, providers: runtime.current.providers.size, hosts: hosts.list() }, 'keyway listening');

  return {
    url,
    port,
    runtime,
    telemetry,
    quotas,
    hooks,
    gateway,
    mcp,
    modelDates,
    log,
    close(graceMs = 10_000) {
      // Closing twice (a signal during shutdown, a test's cleanup) waits for the first close.
      closing ??= (async () => {
        draining = true;
        stopNames();
        runtime.close();
        // First: its sessions' open streams would otherwise hold the server's close up.
        await mcp.close();
        await gateway.close(graceMs);
        // Events of the last answers are delivered, within the same grace.
        await hooks.close(graceMs);
        // Requests are done: write every queued record and balance before the store closes.
        await telemetry?.close();
        await quotas.ledger.close();
        await dataStore.close();
        await pools.closeAll();
        await modelDates.flush();
        await credentials.close();
        await store.close();
      })();
      return closing;
    },
  };
}

/** logProblems logs each problem as `keyway check` prints it, with its parts as fields too. */
function logProblems(log: Logger, problems: readonly Problem[], file: string): void {
  for (const p of problems) {
    const level = p.severity === 'error' ? 'error' : p.severity === 'warning' ? 'warn' : 'info';
    log[level]({ file, line: p.line, column: p.column, path: p.path, severity: p.severity }, formatProblem(file, p));
  }
}

const NAMES_REFRESH_MS = 5 * 60_000;

/**
 * learnTailnetNames adds the node's MagicDNS names and tailnet IPs to the Host allowlist,
 * and gives hooks the tailnet's name, from tailscaled's status, now and every few minutes
 * (a node can be renamed). A tailscaled that does not answer only means fewer names:
 * `--host-name` still works.
 */
async function learnTailnetNames(hosts: HostAllowlist, hooks: Hooks, socketPath: string, log: Logger): Promise<() => void> {
  const learn = () =>
    localApiGet<NodeStatus>(socketPath, '/localapi/v0/status?peers=false', 2_000).then(
      (status) => {
        for (const name of tailnetNames(status)) hosts.add(name);
        const tailnet = status.CurrentTailnet?.Name;
        if (typeof tailnet === 'string' && tailnet !== '') hooks.tailnetName = tailnet;
      },
      (err: Error) => log.debug({ err: err.message }, 'could not read the tailnet names of this node'),
    );
  await learn();
  const timer = setInterval(() => void learn(), NAMES_REFRESH_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** removeStaleSocket deletes a unix socket file left by a keyway that died, and refuses one that is in use. */
async function removeStaleSocket(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return;
  if (!info.isSocket()) throw new Error(`--listen ${path}: the file exists and is not a socket`);
  const inUse = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (inUse) throw new Error(`--listen ${path}: another process is listening on this socket`);
  await unlink(path);
}
