/**
 * Shared test fixtures: a real keyway on 127.0.0.1:0 with its own temporary data folder,
 * in front of a real mock upstream on another loopback port. Every test talks HTTP to
 * both, exactly as a client and a provider would.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IdentitySource } from '../src/identity/identity.js';
import type { Clock } from '../src/governance/ledger.js';
import { createLogger, type Logger } from '../src/log.js';
import { startMockUpstream, type MockUpstream, type MockUpstreamOptions } from '../src/mock-upstream/index.js';
import { DEFAULT_SETTINGS, startKeyway, type Keyway, type ServerSettings } from '../src/start.js';

export const LOOPBACK_ADMIN_ALL = [
  { src: ['(loopback)'], app: { 'tailscale.com/cap/aperture': [{ role: 'admin' }, { models: '**' }] } },
];

/** configText renders a config document with the given providers and (by default) a loopback admin grant. */
export function configText(providers: Record<string, unknown>, grants: unknown[] = LOOPBACK_ADMIN_ALL, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ providers, grants, ...extra }, null, 2);
}

export interface Stack {
  keyway: Keyway;
  upstream: MockUpstream;
  /** keyway's base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  dataDir: string;
  configPath: string;
  close(): Promise<void>;
}

export interface StackOptions {
  mock?: MockUpstreamOptions;
  identity?: IdentitySource;
  settings?: Partial<ServerSettings>;
  env?: Record<string, string>;
  /** Reuse an upstream that is already running. */
  upstream?: MockUpstream;
  /** Start on an existing data folder (its config is kept; `config` is ignored). */
  reuseDataDir?: string;
  /** The logger (default: silent, or KEYWAY_TEST_LOG's level). */
  log?: Logger;
  /** The clock quotas refill by. */
  clock?: Clock;
}

/**
 * startStack starts a mock upstream and a keyway whose config is `config(upstreamUrl)`
 * (written to a fresh data folder before start).
 */
export async function startStack(config: (upstreamUrl: string) => string, options: StackOptions = {}): Promise<Stack> {
  const upstream = options.upstream ?? (await startMockUpstream(options.mock));
  const dataDir = options.reuseDataDir ?? (await mkdtemp(join(tmpdir(), 'keyway-test-')));
  const configPath = join(dataDir, 'config.hujson');
  if (!options.reuseDataDir) await writeFile(configPath, config(upstream.url));
  let keyway: Keyway;
  try {
    keyway = await startKeyway(
      { ...DEFAULT_SETTINGS, port: 0, dataDir, configPath, watch: false, ...options.settings },
      { identity: options.identity, env: options.env ?? {}, log: options.log ?? createLogger(process.env.KEYWAY_TEST_LOG ?? 'silent'), clock: options.clock },
    );
  } catch (err) {
    // A refused configuration must not leave the upstream (and the test process) running.
    if (!options.upstream) await upstream.close();
    if (!options.reuseDataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    keyway,
    upstream,
    url: keyway.url,
    dataDir,
    configPath,
    async close() {
      await keyway.close(100);
      if (!options.upstream) await upstream.close();
      if (!options.reuseDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** postJson sends a JSON POST and returns status, headers and parsed body. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Obvious fake credentials: never real keys in tests. */
export const FAKE = {
  anthropicKey: 'sk-ant-test-client-key-0001',
  anthropicOauth: 'sk-ant-test-oauth-token-0001',
  openaiKey: 'sk-test-client-openai-0001',
  googleKey: 'AIza-test-client-google-0001',
  providerKey: 'sk-test-PROVIDER-key-9999',
} as const;
