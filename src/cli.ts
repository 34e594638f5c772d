#!/usr/bin/env node
/**
 * The `keyway` command: `serve` (the default), `check <config>`, `mock-upstream`,
 * `--version`. Parses flags and environment into settings and hands over; nothing else.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { validateConfigText } from './config/validate.js';
import { compileSnapshot } from './config/snapshot.js';
import type { FormatFlag } from './config/types.js';
import { formatByFlag } from './formats/registry.js';
import { IDENTITY_MODES, type IdentityMode } from './identity/choose.js';
import { LOCAL_OWNER, taggedLogin, type Identity } from './identity/identity.js';
import { explainModel, type QuotaExplainer } from './routing/explain.js';
import { isPriced } from './governance/quotas.js';
import { refill } from './governance/bucket.js';
import { explainQuotas, type BalanceReader } from './governance/quota-explain.js';
import { QuotaPlan } from './governance/quota-plan.js';
import { readQuotaBalances } from './telemetry/db/quotas-db.js';
import { DEFAULT_SETTINGS, startKeyway, type ServerSettings } from './start.js';

const USAGE = `keyway: an identity-aware LLM gateway

Usage:
  keyway serve [flags]          start the gateway (the default command)
  keyway check [--strict] FILE  validate a configuration file and print every problem
  keyway explain --as LOGIN --model M [--tags T,T] [--groups G,G] [--loopback] [--node ID] [--format FLAG] [--data-dir DIR] FILE
                                which provider would serve model M to LOGIN under FILE, or why not,
                                and which quota buckets it would charge (balances from DIR/keyway.db)
  keyway mock-upstream [flags]  run a local mock of the Anthropic, OpenAI and Gemini APIs
  keyway --version

serve flags (environment variable in brackets):
  --listen ADDR        address to listen on [KEYWAY_LISTEN] (default 127.0.0.1)
  --port N             port [KEYWAY_PORT] (default 8080)
  --data-dir DIR       data folder [KEYWAY_DATA_DIR] (default ./keyway-data)
  --config FILE        configuration file [KEYWAY_CONFIG] (default DATA_DIR/config.hujson)
  --log-level LEVEL    trace|debug|info|warn|error [KEYWAY_LOG_LEVEL] (default info)
  --body-limit BYTES   largest request body [KEYWAY_BODY_LIMIT] (default 33554432, 32 MiB)
  --headers-timeout-ms N  wait for upstream response headers [KEYWAY_HEADERS_TIMEOUT_MS] (default 600000)
  --idle-timeout-ms N  longest pause inside an upstream response [KEYWAY_IDLE_TIMEOUT_MS] (default 300000)
  --connect-timeout-ms N  upstream connect timeout [KEYWAY_CONNECT_TIMEOUT_MS] (default 10000)
  --identity MODE      who callers are: loopback | tailscale | serve-headers | auto [KEYWAY_IDENTITY] (default loopback)
  --tailscale-socket P tailscaled LocalAPI socket [KEYWAY_TAILSCALE_SOCKET] (default /var/run/tailscale/tailscaled.sock)
  --telemetry on|off   record usage, cost and captures in DATA_DIR/keyway.db [KEYWAY_TELEMETRY] (default on)
  --capture-limit N    characters of each body kept in a capture [KEYWAY_CAPTURE_LIMIT] (default 1048576)
`;

/** version reads package.json beside dist/ (installed) or beside build/src/ (tests). */
function version(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'keyway') return pkg.version;
    } catch {
      // try the next place
    }
  }
  return 'unknown';
}

async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  switch (command) {
    case '--version':
    case '-v':
    case 'version':
      console.log(`keyway ${version()}`);
      return 0;
    case '--help':
    case '-h':
    case 'help':
      console.log(USAGE);
      return 0;
    case 'serve':
      return serve(rest);
    case 'check':
      return check(rest);
    case 'explain':
      return explain(rest);
    case 'mock-upstream': {
      const { mockUpstreamMain } = await import('./mock-upstream/index.js');
      await mockUpstreamMain(rest);
      return 0;
    }
    default:
      if (command.startsWith('-')) return serve(argv);
      console.error(`keyway: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name} must be a whole number, not "${raw}"`);
  return n;
}

class UsageError extends Error {}

function onOff(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'on' || raw === 'true' || raw === '1') return true;
  if (raw === 'off' || raw === 'false' || raw === '0') return false;
  throw new UsageError(`${name} must be on or off, not "${raw}"`);
}

function settingsFrom(args: string[], env: NodeJS.ProcessEnv): ServerSettings {
  const { values } = parseArgs({
    args,
    options: {
      listen: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      config: { type: 'string' },
      'log-level': { type: 'string' },
      'body-limit': { type: 'string' },
      'headers-timeout-ms': { type: 'string' },
      'idle-timeout-ms': { type: 'string' },
      'connect-timeout-ms': { type: 'string' },
      identity: { type: 'string' },
      'tailscale-socket': { type: 'string' },
      telemetry: { type: 'string' },
      'capture-limit': { type: 'string' },
    },
    strict: true,
  });
  const d = DEFAULT_SETTINGS;
  const port = positiveInt('--port', values.port ?? env.KEYWAY_PORT, d.port);
  if (port > 65535) throw new UsageError(`--port must be at most 65535, not ${port}`);
  const logLevel = values['log-level'] ?? env.KEYWAY_LOG_LEVEL ?? d.logLevel;
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel)) throw new UsageError(`--log-level must be one of trace, debug, info, warn, error, not "${logLevel}"`);
  const identity = values.identity ?? env.KEYWAY_IDENTITY ?? d.identity;
  if (!(IDENTITY_MODES as readonly string[]).includes(identity)) throw new UsageError(`--identity must be one of ${IDENTITY_MODES.join(', ')}, not "${identity}"`);
  return {
    host: values.listen ?? env.KEYWAY_LISTEN ?? d.host,
    port,
    dataDir: values['data-dir'] ?? env.KEYWAY_DATA_DIR ?? d.dataDir,
    configPath: values.config ?? env.KEYWAY_CONFIG ?? undefined,
    logLevel,
    bodyLimit: positiveInt('--body-limit', values['body-limit'] ?? env.KEYWAY_BODY_LIMIT, d.bodyLimit),
    pools: {
      headersTimeoutMs: positiveInt('--headers-timeout-ms', values['headers-timeout-ms'] ?? env.KEYWAY_HEADERS_TIMEOUT_MS, d.pools.headersTimeoutMs),
      bodyIdleTimeoutMs: positiveInt('--idle-timeout-ms', values['idle-timeout-ms'] ?? env.KEYWAY_IDLE_TIMEOUT_MS, d.pools.bodyIdleTimeoutMs),
      connectTimeoutMs: positiveInt('--connect-timeout-ms', values['connect-timeout-ms'] ?? env.KEYWAY_CONNECT_TIMEOUT_MS, d.pools.connectTimeoutMs),
    },
    watch: true,
    identity: identity as IdentityMode,
    tailscaleSocket: values['tailscale-socket'] ?? env.KEYWAY_TAILSCALE_SOCKET ?? d.tailscaleSocket,
    telemetry: onOff('--telemetry', values.telemetry ?? env.KEYWAY_TELEMETRY, d.telemetry),
    captureLimit: positiveInt('--capture-limit', values['capture-limit'] ?? env.KEYWAY_CAPTURE_LIMIT, d.captureLimit),
  };
}

async function serve(args: string[]): Promise<number> {
  const settings = settingsFrom(args, process.env);
  let keyway;
  try {
    keyway = await startKeyway(settings);
  } catch (err) {
    const problems = (err as { problems?: Array<{ severity: string; path: string; message: string }> }).problems;
    console.error(`keyway: ${(err as Error).message}`);
    for (const p of problems ?? []) console.error(`  ${p.severity}: ${p.path ? `${p.path}: ` : ''}${p.message}`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      keyway.log.info({ signal }, 'shutting down');
      void keyway.close().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

async function check(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { strict: { type: 'boolean' } }, allowPositionals: true });
  const file = positionals[0];
  if (!file) throw new UsageError('check needs a configuration file: keyway check FILE');
  const text = await readFile(file, 'utf8');
  const { problems } = validateConfigText(text, { env: process.env });
  for (const p of problems) {
    const where = p.line !== undefined ? `${file}:${p.line}:${p.column}` : file;
    console.log(`${where}: ${p.severity}: ${p.path ? `${p.path}: ` : ''}${p.message}`);
  }
  const errors = problems.filter((p) => p.severity === 'error').length;
  const warnings = problems.filter((p) => p.severity === 'warning').length;
  console.log(`${errors} error(s), ${warnings} warning(s)${values.strict && warnings > 0 ? ' (warnings block saving; --strict treats them as errors)' : ''}`);
  return errors > 0 || (values.strict && warnings > 0) ? 1 : 0;
}

async function explain(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      as: { type: 'string' },
      model: { type: 'string' },
      tags: { type: 'string' },
      groups: { type: 'string' },
      loopback: { type: 'boolean' },
      format: { type: 'string' },
      node: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean' },
    },
    allowPositionals: true,
  });
  const file = positionals[0];
  if (!file || !values.model || (!values.as && !values.loopback && !values.tags)) {
    throw new UsageError('explain needs a caller (--as LOGIN, --tags or --loopback), --model and a configuration file');
  }
  if (values.format && !formatByFlag(values.format)) throw new UsageError(`--format must be a compatibility flag such as openai_chat, not "${values.format}"`);
  const text = await readFile(file, 'utf8');
  const { config, problems } = validateConfigText(text, { env: process.env });
  if (!config) {
    for (const p of problems.filter((q) => q.severity === 'error')) console.error(`${file}: error: ${p.path ? `${p.path}: ` : ''}${p.message}`);
    return 1;
  }
  const snapshot = compileSnapshot(text, config, problems);
  const split = (v: string | undefined) => (v ? v.split(',').map((x) => x.trim()).filter(Boolean) : []);
  const tags = split(values.tags);
  const identity: Identity = {
    login: values.as ?? (tags.length ? taggedLogin(tags) : LOCAL_OWNER.login),
    displayName: values.as ?? '',
    nodeId: values.node ?? '',
    tags,
    groups: split(values.groups),
    loopback: values.loopback === true,
    capMap: {},
  };
  const access = snapshot.accessFor(identity);
  const balances = values['data-dir'] ? storedBalances(join(values['data-dir'], 'keyway.db')) : undefined;
  const plan = new QuotaPlan(config.quotas);
  const quotas: QuotaExplainer = (provider, format, model) => explainQuotas(plan, access, identity, provider.id, model, isPriced(snapshot, provider, format, model), balances ?? (() => null));
  const result = explainModel(snapshot, access, identity.login, values.model, values.format as FormatFlag | undefined, quotas);
  if (values.json) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    console.log(`${identity.login} → ${values.model}: ${result.summary}`);
    for (const c of result.candidates) console.log(`  ${c.provider} (${c.upstream_model}): ${c.verdict}: ${c.detail}`);
    for (const b of result.quotas?.buckets ?? []) {
      console.log(`  quota ${b.bucket}: ${b.capacity === null ? 'not a configured quota: refused' : `${b.balance ?? 'balance unknown'} of ${b.capacity}, refills ${b.rate}${b.passes === false ? ': refuses now' : ''}`}`);
    }
  }
  return result.served ? 0 : 1;
}

/** storedBalances reads a gateway's saved balances, refilled up to now, by bucket. */
function storedBalances(dbPath: string): BalanceReader {
  const rows = readQuotaBalances(dbPath);
  if (!rows) {
    console.error(`keyway: no quota balances in ${dbPath}; buckets are shown without them`);
    return () => null;
  }
  const byBucket = new Map(rows.map((r) => [r.bucket, r]));
  const now = Date.now();
  return (bucket, spec) => {
    const row = byBucket.get(bucket);
    if (!row || row.quota !== spec.name) return undefined;
    const state = { balance: Math.min(row.balanceNanos, spec.capacityNanos), updatedAt: row.updatedAt, carry: row.carry };
    refill(state, { capacity: spec.capacityNanos, rateNanos: spec.rateNanos, periodMs: spec.periodMs }, now);
    return state.balance;
  };
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`keyway: ${(err as Error).message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      console.error(`keyway: ${(err as Error).message}`);
      process.exitCode = 1;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
