#!/usr/bin/env node
/**
 * The `keyway` command: `serve` (the default), `demo`, `check <config>`, `explain`,
 * `mock-upstream`, `hook-server`, `--version`, and `COMMAND --help`. Parses flags and environment into
 * settings and hands over; nothing else.
 *
 * Exit codes: 0 done (or stopped by SIGINT/SIGTERM), 1 the work failed (a configuration
 * with errors, a file that cannot be read, a model that is not served, a port in use),
 * 2 the command line itself is wrong (unknown command or flag, a bad value).
 */
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { countBySeverity, formatProblem } from './config/problems.js';
import { validateConfigText } from './config/validate.js';
import { parseDurationMs } from './duration.js';
import { describePgError, isPostgresUrl, openPool } from './pg/pool.js';
import { describeTarget } from './pg/target.js';
import { compileSnapshot } from './config/snapshot.js';
import type { FormatFlag, Problem } from './config/types.js';
import { formatByFlag } from './formats/registry.js';
import { IDENTITY_MODES, type IdentityMode } from './identity/choose.js';
import { LOCAL_OWNER, taggedLogin, type Identity } from './identity/identity.js';
import { explainModel, type QuotaExplainer } from './routing/explain.js';
import { isPriced } from './governance/quotas.js';
import { refill } from './governance/bucket.js';
import { explainQuotas, type BalanceReader } from './governance/quota-explain.js';
import { QuotaPlan } from './governance/quota-plan.js';
import { readQuotaBalances } from './telemetry/db/quotas-db.js';
import { PgQuotas } from './telemetry/pg/quotas-pg.js';
import type { QuotaBalanceRow } from './telemetry/store.js';
import { DEMO_DATA_DIR, startDemo } from './demo.js';
import { importConfig } from './config/import.js';
import { DatabaseUnreachable } from './config/pg-store.js';
import { MOCK_UPSTREAM_USAGE, mockUpstreamMain, parseMockUpstreamArgs } from './mock-upstream/index.js';
import { DEFAULT_BLOCK_TEXT, HOOK_SERVER_USAGE, startReferenceHookServer, type HookServerOptions } from './hooks/reference-server.js';
import { DEFAULT_SETTINGS, startKeyway, type Keyway, type ServerSettings } from './start.js';

const USAGE = `keyway: an identity-aware LLM gateway

Usage:
  keyway serve [flags]          start the gateway (the default command)
  keyway demo [flags]           try keyway without a provider account: the gateway in front of
                                the built-in mock upstream, data in ./keyway-demo-data
  keyway check [--strict] FILE  validate a configuration file and print every problem;
                                exit 1 on errors (--strict: on warnings too)
  keyway config import FILE --database URL
                                store FILE as the new configuration of the replicas on the database
  keyway explain --as LOGIN --model M [--tags T,T] [--groups G,G] [--loopback] [--node ID] [--format FLAG] [--data-dir DIR | --database URL] [--json] [FILE]
                                which provider would serve model M to LOGIN under FILE, or why not,
                                and which quota buckets it would charge (balances from DIR/keyway.db)
  keyway mock-upstream [flags]  run a local mock of the Anthropic, OpenAI and Gemini APIs
  keyway hook-server --pattern REGEX [flags]
                                a reference guardrail hook: blocks prompts matching REGEX (docs/hooks.md)
  keyway --version
  keyway COMMAND --help         the usage of one command

serve flags (environment variable in brackets):
  --listen ADDR        address to listen on, or unix:PATH for a unix socket [KEYWAY_LISTEN] (default 127.0.0.1)
  --host-name NAME     another Host name keyway answers for (repeatable) [KEYWAY_HOSTNAMES, comma-separated]
                       (loopback, the listen address and, with tailnet identity, the node's names are always known)
  --header-timeout D   longest wait for a request's headers [KEYWAY_HEADER_TIMEOUT] (default 30s)
  --body-timeout D     longest pause between two pieces of a request body [KEYWAY_BODY_TIMEOUT] (default 60s)
  --max-connections-per-peer N  open connections one address may hold, 0 for no limit [KEYWAY_MAX_CONNECTIONS_PER_PEER]
                       (default 256; 0 with --identity serve-headers, where every caller is tailscale serve)
  --port N             port [KEYWAY_PORT] (default 8080)
  --data-dir DIR       data folder [KEYWAY_DATA_DIR] (default ./keyway-data)
  --database URL       keep configuration, telemetry, quotas and chats in PostgreSQL, shared by every replica on it [KEYWAY_DATABASE_URL] (default: SQLite in DATA_DIR)
  --config FILE        configuration file [KEYWAY_CONFIG] (default DATA_DIR/config.hujson)
  --log-level LEVEL    trace|debug|info|warn|error|silent [KEYWAY_LOG_LEVEL] (default info)
  --body-limit BYTES   largest request body [KEYWAY_BODY_LIMIT] (default 33554432, 32 MiB)
  --headers-timeout-ms N  wait for upstream response headers [KEYWAY_HEADERS_TIMEOUT_MS] (default 600000)
  --idle-timeout-ms N  longest pause inside an upstream response [KEYWAY_IDLE_TIMEOUT_MS] (default 300000)
  --connect-timeout-ms N  upstream connect timeout [KEYWAY_CONNECT_TIMEOUT_MS] (default 10000)
  --identity MODE      who callers are: loopback | tailscale | serve-headers | auto [KEYWAY_IDENTITY] (default loopback)
  --tailscale-socket P tailscaled LocalAPI socket [KEYWAY_TAILSCALE_SOCKET] (default /var/run/tailscale/tailscaled.sock)
  --telemetry on|off   record usage, cost and captures in DATA_DIR/keyway.db [KEYWAY_TELEMETRY] (default on)
  --capture-limit N    characters of each body kept in a capture [KEYWAY_CAPTURE_LIMIT] (default 1048576)
  --translation on|off translate between API formats when a model's provider lacks the client's [KEYWAY_TRANSLATION] (default on)
  --hook-connections N open connections to one hook's origin [KEYWAY_HOOK_CONNECTIONS] (default 32)
  --hook-queue N       asynchronous hook events waiting before new ones are dropped [KEYWAY_HOOK_QUEUE] (default 10000)
  --hook-retries N     further attempts at an asynchronous event whose call failed [KEYWAY_HOOK_RETRIES] (default 0)
`;

const CHECK_USAGE = `usage: keyway check [--strict] FILE

Validates the configuration FILE as keyway would load it (\${VAR} macros from the
environment) and prints every problem as FILE:LINE:COLUMN: SEVERITY: PATH: MESSAGE.

  --strict     warnings fail the check too (they block a save through the admin API)

Exit status: 0 no errors, 1 errors (or warnings with --strict) or FILE cannot be read,
2 a wrong command line.`;

const EXPLAIN_USAGE = `usage: keyway explain (--as LOGIN | --tags T,T | --loopback) --model M [flags] (FILE | --database URL)

Says which provider of the configuration FILE would serve model M to a caller, or why none
would: the caller's grants, each candidate provider and its verdict, and the quota buckets
that apply.

  --as LOGIN       the caller's login (user@example.com)
  --tags T,T       the caller's tags (tag:ci), for a tagged device
  --groups G,G     the caller's groups (group:eng)
  --loopback       the caller is on keyway's own machine (matches "(loopback)" grants)
  --model M        the model as a client would ask for it (bare or provider/model)
  --format FLAG    only providers serving this API (openai_chat, openai_responses,
                   anthropic_messages, gemini_generate_content)
  --node ID        the caller's node (stable node id)
  --data-dir DIR   read the quota balances a gateway keeps in DIR (SQLite)
  --database URL   the replicas' PostgreSQL [KEYWAY_DATABASE_URL]: its quota balances, and
                   its current configuration when no FILE is given
  --json           the full answer as JSON

Exit status: 0 the model would be served, 1 it would not (or the configuration is not
valid or cannot be read), 2 a wrong command line.`;

const CONFIG_USAGE = `usage: keyway config import FILE --database URL

Stores the configuration FILE as a new version in the PostgreSQL database that keyway
replicas share (keyway serve --database URL); every running replica applies it within a
second. A one-way import: FILE is read once, later edits of it do nothing until imported
again. FILE is validated as keyway would load it (\${VAR} macros from this environment) and
refused with every problem printed when it has errors; "********" where the stored version
has a secret keeps that secret, as a save through the admin API does. The version it
replaces is checked as it is written, so a save made meanwhile on a replica is never
overwritten unseen: the import then stops and asks to be run again.

  --database URL   the replicas' database [KEYWAY_DATABASE_URL]

Exit status: 0 imported (or already the current version), 1 FILE is not valid or cannot
be read, the database cannot be used, or the configuration changed during the import,
2 a wrong command line.`;

const DEMO_USAGE = `usage: keyway demo [serve flags]

Starts keyway in front of the built-in mock upstream (in this process, on a free loopback
port), with demo providers for the Anthropic, OpenAI and Gemini APIs, fake keys and a grant
for callers on this machine: the chat, the Models tab's Test button, the logs and the usage
charts work at once, with no provider account. Answers read "MOCK_OK (<api> <model>)".

Everything lives in its own data folder, ${DEMO_DATA_DIR} unless --data-dir says otherwise:
the demo configuration (written on first start, yours to edit), its history, telemetry and
chat conversations. KEYWAY_DATA_DIR and KEYWAY_CONFIG are ignored and --config is not
accepted, so the demo never touches a real keyway's configuration. Every other serve flag
works as for keyway serve (keyway serve --help), e.g. --port (default 8080) and --log-level.

Stop with Ctrl-C. For real providers, run keyway serve.`;

/** The usage each command prints for --help (mock-upstream prints its own). */
const COMMAND_USAGE: Record<string, string> = { serve: USAGE, demo: DEMO_USAGE, check: CHECK_USAGE, config: CONFIG_USAGE, explain: EXPLAIN_USAGE, 'hook-server': HOOK_SERVER_USAGE };

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
  // Flags without a command are serve's (`keyway --port 9090 --help`).
  const usage = COMMAND_USAGE[command] ?? (command.startsWith('-') ? USAGE : undefined);
  if (usage !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
    console.log(usage);
    return 0;
  }
  switch (command) {
    case '--version':
    case '-v':
    case 'version':
      console.log(`keyway ${version()}`);
      return 0;
    case '--help':
    case '-h':
    case 'help':
      if (rest[0] === 'mock-upstream') console.log(MOCK_UPSTREAM_USAGE);
      else console.log((rest[0] !== undefined && COMMAND_USAGE[rest[0]]) || USAGE);
      return 0;
    case 'serve':
      return serve(rest);
    case 'demo':
      return demo(rest);
    case 'check':
      return check(rest);
    case 'config':
      return config(rest);
    case 'explain':
      return explain(rest);
    case 'hook-server':
      return hookServer(rest);
    case 'mock-upstream': {
      try {
        parseMockUpstreamArgs(rest);
      } catch (err) {
        throw new UsageError((err as Error).message, MOCK_UPSTREAM_USAGE);
      }
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

/** UsageError is a wrong command line (exit 2); `usage` is the text printed after it. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string = USAGE,
  ) {
    super(message);
  }
}

/** FileError is a file named on the command line that cannot be used, said in a sentence (exit 1). */
class FileError extends Error {}

function fileProblem(file: string, err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return `${file} does not exist`;
    case 'EACCES':
    case 'EPERM':
      return `${file} cannot be read: permission denied`;
    case 'EISDIR':
      return `${file} is a folder, not a configuration file`;
    default:
      return `${file} cannot be read: ${(err as Error).message}`;
  }
}

/** readNamedFile reads a file the user named; a missing or unreadable one is a FileError. */
async function readNamedFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new FileError(fileProblem(file, err));
  }
}

function onOff(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'on' || raw === 'true' || raw === '1') return true;
  if (raw === 'off' || raw === 'false' || raw === '0') return false;
  throw new UsageError(`${name} must be on or off, not "${raw}"`);
}

/** databaseUrl checks --database: a PostgreSQL URL, or nothing for the embedded SQLite default. */
function databaseUrl(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!isPostgresUrl(value)) throw new UsageError('--database must be a PostgreSQL URL (postgres://user:password@host:5432/name); without it keyway keeps everything in SQLite in the data folder');
  return value;
}

function settingsFrom(args: string[], env: NodeJS.ProcessEnv): ServerSettings {
  const { values } = parseArgs({
    args,
    options: {
      listen: { type: 'string' },
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      database: { type: 'string' },
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
      translation: { type: 'string' },
      'host-name': { type: 'string', multiple: true },
      'header-timeout': { type: 'string' },
      'body-timeout': { type: 'string' },
      'max-connections-per-peer': { type: 'string' },
      'hook-connections': { type: 'string' },
      'hook-queue': { type: 'string' },
      'hook-retries': { type: 'string' },
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
    databaseUrl: databaseUrl(values.database ?? env.KEYWAY_DATABASE_URL),
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
    translation: onOff('--translation', values.translation ?? env.KEYWAY_TRANSLATION, d.translation),
    hostNames: [...(values['host-name'] ?? []), ...(env.KEYWAY_HOSTNAMES ?? '').split(',')].map((n) => n.trim()).filter((n) => n !== ''),
    clientLimits: {
      headerTimeoutMs: duration('--header-timeout', values['header-timeout'] ?? env.KEYWAY_HEADER_TIMEOUT, d.clientLimits.headerTimeoutMs, false),
      bodyTimeoutMs: duration('--body-timeout', values['body-timeout'] ?? env.KEYWAY_BODY_TIMEOUT, d.clientLimits.bodyTimeoutMs, true),
      maxConnectionsPerPeer: optionalInt('--max-connections-per-peer', values['max-connections-per-peer'] ?? env.KEYWAY_MAX_CONNECTIONS_PER_PEER),
    },
    hooks: {
      client: { ...d.hooks.client, connectionsPerOrigin: atLeastOne('--hook-connections', values['hook-connections'] ?? env.KEYWAY_HOOK_CONNECTIONS, d.hooks.client.connectionsPerOrigin) },
      events: {
        ...d.hooks.events,
        maxQueued: positiveInt('--hook-queue', values['hook-queue'] ?? env.KEYWAY_HOOK_QUEUE, d.hooks.events.maxQueued),
        retries: positiveInt('--hook-retries', values['hook-retries'] ?? env.KEYWAY_HOOK_RETRIES, d.hooks.events.retries),
      },
    },
  };
}

function atLeastOne(name: string, raw: string | undefined, fallback: number): number {
  const n = positiveInt(name, raw, fallback);
  if (n < 1) throw new UsageError(`${name} must be at least 1`);
  return n;
}

/** duration reads a flag like `30s` or `1m` (a bare number is seconds); `0` turns the bound off where `zeroOff`. */
function duration(name: string, raw: string | undefined, fallbackMs: number, zeroOff: boolean): number {
  if (raw === undefined || raw === '') return fallbackMs;
  const ms = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) * 1000 : parseDurationMs(raw);
  if (ms === undefined) throw new UsageError(`${name} must be a duration like 30s or 2m, not "${raw}"`);
  if (ms === 0 && !zeroOff) throw new UsageError(`${name} must be more than zero`);
  return Math.round(ms);
}

function optionalInt(name: string, raw: string | undefined): number | undefined {
  return raw === undefined || raw === '' ? undefined : positiveInt(name, raw, 0);
}

async function serve(args: string[]): Promise<number> {
  const settings = settingsFrom(args, process.env);
  if (settings.configPath !== undefined) {
    // An explicit file is never created (only the data folder gets a starter): a typo in
    // --config would otherwise start a gateway with no providers.
    const found = await stat(settings.configPath).catch((err: unknown) => err as NodeJS.ErrnoException);
    if (found instanceof Error) throw new FileError(`${fileProblem(settings.configPath, found)} (--config or KEYWAY_CONFIG); leave both unset to get a starter configuration in ${settings.dataDir}`);
    if (found.isDirectory()) throw new FileError(`${fileProblem(settings.configPath, { code: 'EISDIR' })} (--config or KEYWAY_CONFIG)`);
  }
  return run(settings, async () => {
    const keyway = await startKeyway(settings);
    return { keyway, close: () => keyway.close(), banner: `keyway ${version()} is running` };
  });
}

/**
 * demo is serve in front of the built-in mock upstream, in its own data folder: flags as
 * for serve, but neither KEYWAY_DATA_DIR nor KEYWAY_CONFIG, so the real configuration is
 * never touched (see demo.ts).
 */
async function demo(args: string[]): Promise<number> {
  const { KEYWAY_DATA_DIR: _dataDir, KEYWAY_CONFIG: _config, ...env } = process.env;
  // A later --data-dir on the command line wins over this default.
  const settings = parseWith(DEMO_USAGE, () => settingsFrom(['--data-dir', DEMO_DATA_DIR, ...args], env));
  if (settings.configPath !== undefined) throw new UsageError('demo keeps its configuration in its data folder: choose the folder with --data-dir, not --config', DEMO_USAGE);
  return run(settings, async () => {
    const d = await startDemo(settings);
    return { keyway: d.keyway, close: () => d.close(), banner: `keyway demo is running (mock upstream ${d.upstream.url}, data in ${settings.dataDir})` };
  });
}

interface Running {
  keyway: Keyway;
  close(): Promise<void>;
  /** The start of the one human line printed on start. */
  banner: string;
}

/**
 * run starts keyway, prints one line a person can act on (stderr, so stdout stays JSON
 * logs; none at --log-level silent), and serves until SIGINT or SIGTERM.
 */
async function run(settings: ServerSettings, start: () => Promise<Running>): Promise<number> {
  let running: Running;
  try {
    running = await start();
  } catch (err) {
    reportStartFailure(settings, err);
    return 1;
  }
  const { keyway } = running;
  if (settings.logLevel !== 'silent') {
    const url = browsable(keyway.url);
    process.stderr.write(`${running.banner}: dashboard ${url}/ui/  chat ${url}/chat  (Ctrl-C stops it)\n`);
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      keyway.log.info({ signal }, 'shutting down');
      void running.close().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

/** browsable turns a wildcard listen address into one a browser on this machine can open. */
function browsable(url: string): string {
  return url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
}

function reportStartFailure(settings: ServerSettings, err: unknown): void {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${settings.host}:${settings.port}`;
  if (code === 'EADDRINUSE') return void console.error(`keyway: ${where} is already in use (another keyway?); choose another port with --port`);
  if (code === 'EACCES' && (err as { syscall?: string }).syscall === 'listen') return void console.error(`keyway: no permission to listen on ${where}; ports below 1024 need privileges, choose another with --port`);
  if (code === 'EADDRNOTAVAIL') return void console.error(`keyway: ${settings.host} is not an address of this machine (--listen)`);
  if (err instanceof DatabaseUnreachable) return void console.error(`keyway: ${err.message}; keyway did not start (a supervisor may start it again once the database answers)`);
  const problems = (err as { problems?: Problem[] }).problems;
  // The same lines `keyway check` prints, so an editor or CI can jump to each one.
  const file = settings.configPath ?? join(settings.dataDir, 'config.hujson');
  for (const p of problems ?? []) console.error(formatProblem(file, p));
  console.error(`keyway: ${(err as Error).message}${problems ? '; keyway did not start' : ''}`);
}

/** parseWith parses a command's flags, so a wrong one is answered with that command's usage. */
function parseWith<T>(usage: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError((err as Error).message, usage);
    throw err;
  }
}

async function check(args: string[]): Promise<number> {
  const { values, positionals } = parseWith(CHECK_USAGE, () => parseArgs({ args, options: { strict: { type: 'boolean' } }, allowPositionals: true }));
  const file = positionals[0];
  if (!file) throw new UsageError('check needs a configuration file: keyway check FILE', CHECK_USAGE);
  const text = await readNamedFile(file);
  const { problems } = validateConfigText(text, { env: process.env });
  for (const p of problems) console.log(formatProblem(file, p));
  const { error: errors, warning: warnings } = countBySeverity(problems);
  // Errors are refused everywhere (start, reload, save); warnings nowhere, unless --strict asks.
  const verdict = errors > 0 ? 'keyway refuses this configuration' : values.strict && warnings > 0 ? 'refused by --strict' : 'keyway accepts this configuration';
  console.log(`${errors} error(s), ${warnings} warning(s): ${verdict}`);
  return errors > 0 || (values.strict && warnings > 0) ? 1 : 0;
}

/** config import FILE: a one-way import into the database replicas share (config/import.ts). */
async function config(args: string[]): Promise<number> {
  const { values, positionals } = parseWith(CONFIG_USAGE, () => parseArgs({ args, options: { database: { type: 'string' } }, allowPositionals: true }));
  const [sub, file, ...extra] = positionals;
  if (sub !== 'import') throw new UsageError(sub === undefined ? 'config needs a subcommand: keyway config import FILE --database URL' : `unknown config subcommand "${sub}"`, CONFIG_USAGE);
  if (!file || extra.length > 0) throw new UsageError('config import needs one configuration file: keyway config import FILE --database URL', CONFIG_USAGE);
  const url = parseWith(CONFIG_USAGE, () => databaseUrl(values.database ?? process.env.KEYWAY_DATABASE_URL));
  if (url === undefined) throw new UsageError('config import needs --database URL (or KEYWAY_DATABASE_URL): the database the replicas share', CONFIG_USAGE);
  const text = await readNamedFile(file);
  const outcome = await importConfig(text, url, process.env);
  switch (outcome.kind) {
    case 'invalid':
      for (const p of outcome.problems) console.error(formatProblem(file, p));
      console.error(`keyway: ${file} is not valid; nothing was imported`);
      return 1;
    case 'unchanged':
      console.log(`${file} is the current configuration already (${outcome.hash.slice(0, 12)}); nothing imported`);
      return 0;
    case 'conflict':
      console.error('keyway: the configuration was changed on a replica during the import; nothing was imported, run it again');
      return 1;
    case 'imported':
      for (const p of outcome.problems) console.log(formatProblem(file, p));
      console.log(`imported ${file} as version ${outcome.id} (${outcome.hash.slice(0, 12)}); running replicas apply it within a second`);
      return 0;
  }
}

async function explain(args: string[]): Promise<number> {
  const { values, positionals } = parseWith(EXPLAIN_USAGE, () => parseArgs({
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
      database: { type: 'string' },
      json: { type: 'boolean' },
    },
    allowPositionals: true,
  }));
  const file = positionals[0];
  // KEYWAY_DATABASE_URL counts unless --data-dir names the balances to read.
  const database = parseWith(EXPLAIN_USAGE, () => databaseUrl(values.database ?? (values['data-dir'] ? undefined : process.env.KEYWAY_DATABASE_URL)));
  if ((!file && !database) || !values.model || (!values.as && !values.loopback && !values.tags)) {
    throw new UsageError('explain needs a caller (--as LOGIN, --tags or --loopback), --model and a configuration (FILE, or --database URL)', EXPLAIN_USAGE);
  }
  if (values.format && !formatByFlag(values.format)) throw new UsageError(`--format must be a compatibility flag such as openai_chat, not "${values.format}"`, EXPLAIN_USAGE);
  if (values.database && values['data-dir']) throw new UsageError('--data-dir and --database are two places for the same balances: give one', EXPLAIN_USAGE);
  const stored = database ? await readDatabase(database, file === undefined) : undefined;
  const source = file ?? 'the database\'s current configuration';
  const text = file ? await readNamedFile(file) : stored!.config;
  if (text === undefined) {
    console.error('keyway: the database holds no configuration yet (a replica seeds it when it first starts)');
    return 1;
  }
  const { config, problems } = validateConfigText(text, { env: process.env });
  if (!config) {
    for (const p of problems.filter((q) => q.severity === 'error')) console.error(formatProblem(source, p));
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
  const balances = values['data-dir'] ? storedBalances(join(values['data-dir'], 'keyway.db')) : stored ? balanceReader(stored.balances) : undefined;
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

/** hookServer runs the reference guardrail (hooks/reference-server.ts) until SIGINT or SIGTERM. */
async function hookServer(args: string[]): Promise<number> {
  const { values } = parseWith(HOOK_SERVER_USAGE, () => parseArgs({
    args,
    options: {
      pattern: { type: 'string' },
      'case-sensitive': { type: 'boolean' },
      message: { type: 'string' },
      status: { type: 'string' },
      apikey: { type: 'string' },
      listen: { type: 'string' },
      port: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
    },
  }));
  if (!values.pattern) throw new UsageError('hook-server needs --pattern REGEX: the prompts it blocks', HOOK_SERVER_USAGE);
  let pattern: RegExp;
  try {
    pattern = new RegExp(values.pattern, values['case-sensitive'] ? '' : 'i');
  } catch (err) {
    throw new UsageError(`--pattern is not a regular expression: ${(err as Error).message}`, HOOK_SERVER_USAGE);
  }
  const status = parseWith(HOOK_SERVER_USAGE, () => positiveInt('--status', values.status, 403));
  if (status < 400 || status > 599) throw new UsageError(`--status must be between 400 and 599, not ${status}`, HOOK_SERVER_USAGE);
  const port = parseWith(HOOK_SERVER_USAGE, () => positiveInt('--port', values.port, 8090));
  if (port > 65535) throw new UsageError(`--port must be at most 65535, not ${port}`, HOOK_SERVER_USAGE);
  const apikey = values.apikey ?? process.env.KEYWAY_HOOK_SERVER_APIKEY;
  const options: HookServerOptions = {
    pattern,
    message: values.message ?? DEFAULT_BLOCK_TEXT,
    status,
    apikey: apikey === '' ? undefined : apikey,
    host: values.listen ?? '127.0.0.1',
    port,
    log: values.quiet ? undefined : (line) => process.stdout.write(`${line}\n`),
  };
  const server = await startReferenceHookServer(options).catch((err: NodeJS.ErrnoException) => {
    throw new FileError(err.code === 'EADDRINUSE' ? `${options.host}:${port} is already in use; choose another port with --port` : err.message);
  });
  process.stderr.write(`keyway hook-server listening on ${server.url}: blocking prompts matching /${pattern.source}/${pattern.flags} (Ctrl-C stops it)\n`);
  await new Promise<void>((resolve) => {
    const stop = () => void server.close().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

/** storedBalances reads a gateway's saved balances, refilled up to now, by bucket. */
function storedBalances(dbPath: string): BalanceReader {
  const rows = readQuotaBalances(dbPath);
  if (!rows) {
    console.error(`keyway: no quota balances in ${dbPath}; buckets are shown without them`);
    return () => null;
  }
  return balanceReader(rows);
}

/**
 * readDatabase reads what explain needs of the replicas' PostgreSQL, without writing to it:
 * the quota balances and, when asked, the current configuration (undefined in a database no
 * replica has seeded). The schema is not migrated here: that is a replica's job.
 */
async function readDatabase(url: string, withConfig: boolean): Promise<{ config: string | undefined; balances: QuotaBalanceRow[] }> {
  const pool = openPool(url, { max: 1, applicationName: 'keyway explain' });
  try {
    const config = withConfig ? (await pool.query<{ text: string }>('SELECT text FROM keyway_config')).rows[0]?.text : undefined;
    return { config, balances: await new PgQuotas(pool).load() };
  } catch (err) {
    // A database without keyway's tables yet (42P01): nothing stored to read.
    if ((err as { code?: string }).code === '42P01') return { config: undefined, balances: [] };
    throw new DatabaseUnreachable(`cannot read ${describeTarget(url)}: ${describePgError(err)}`);
  } finally {
    await pool.end().catch(() => {});
  }
}

/** balanceReader answers a bucket's balance now from its stored row, refilled since it was saved. */
function balanceReader(rows: QuotaBalanceRow[]): BalanceReader {
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
      console.error(`keyway: ${(err as Error).message}\n\n${err instanceof UsageError ? err.usage : USAGE}`);
      process.exitCode = 2;
    } else if (err instanceof FileError || err instanceof DatabaseUnreachable) {
      console.error(`keyway: ${err.message}`);
      process.exitCode = 1;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
