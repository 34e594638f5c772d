/**
 * Browser test harness: a real keyway (with the built UI) and mock upstream, and Debian's
 * Chromium driven by playwright-core. Callers are told apart by an `x-test-as` header that
 * each browser context sends (the identity source below), so one gateway serves an admin,
 * a user and a stranger side by side; everything after identification is the real gateway.
 *
 * Without Chromium the browser tests skip with a message, except under CI=true, where a
 * missing browser is a failure (CI installs it: .ci/run).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { IncomingMessage } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Identity, IdentitySource } from '../../src/identity/identity.js';
import { createLogger } from '../../src/log.js';
import { startMockUpstream, type MockUpstream, type MockUpstreamOptions } from '../../src/mock-upstream/index.js';
import { DEFAULT_SETTINGS, startKeyway, type Keyway, type ServerSettings } from '../../src/start.js';

export const CAP = 'tailscale.com/cap/aperture';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ARTIFACTS = join(REPO, 'test-artifacts');

/**
 * browserSkip is the reason to skip browser tests (no Chromium, not in CI), or false. In CI a
 * missing Chromium throws, failing the suite.
 */
export function browserSkip(): string | false {
  if (existsSync(CHROMIUM)) {
    if (!existsSync(join(REPO, 'dist', 'web', 'index.html'))) {
      if (process.env.CI) throw new Error('dist/web/index.html is missing: run npm run build before the browser tests');
      return 'the web UI is not built (npm run build)';
    }
    return false;
  }
  if (process.env.CI) throw new Error(`Chromium not found at ${CHROMIUM}: CI must install it (apt-get install -y chromium; see .ci/run)`);
  return `Chromium not found at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH): browser tests skipped`;
}

function person(login: string, extra: Partial<Identity> = {}): Identity {
  return { login, displayName: '', nodeId: `n-${login}`, tags: [], groups: [], loopback: false, capMap: {}, ...extra };
}

/** People the tests play: pass the key as the x-test-as header. */
export const PEOPLE: Record<string, Identity> = {
  admin: person('admin@example.com', { displayName: 'Ada Admin' }),
  alice: person('alice@example.com', { displayName: 'Alice User', groups: ['group:eng'] }),
  bob: person('bob@example.com', { displayName: 'Bob NoChat' }),
  stranger: person('stranger@example.com'),
};

export const asHeader: IdentitySource = {
  name: 'test-header',
  identify: (req: IncomingMessage) => PEOPLE[String(req.headers['x-test-as'])],
};

/** GRANTS: admin gets everything, alice and bob are users, bob has chat turned off, strangers nothing. */
export const GRANTS = [
  { src: ['admin@example.com'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } },
  { src: ['alice@example.com', 'bob@example.com'], app: { [CAP]: [{ role: 'user' }, { models: '**' }] } },
  { src: ['bob@example.com'], app: { [CAP]: [{ enable_chat_ui: false }] } },
];

/** A phone-width window: the CSS size of a common phone (iPhone 12 to 14). */
export const PHONE = { width: 390, height: 844 };

export interface BrowserStack {
  keyway: Keyway;
  upstream: MockUpstream;
  /** keyway's base URL; it changes after restart(). */
  url: string;
  dataDir: string;
  browser: Browser;
  /** Uncaught page errors seen so far; tests assert it stays empty. */
  errors: string[];
  /** page opens a page as one of PEOPLE (in its own browser context), on a desktop window or a phone's (390 x 844). */
  page(as: keyof typeof PEOPLE, device?: 'desktop' | 'phone'): Promise<Page>;
  /** api calls keyway as one of PEOPLE, like curl would. */
  api(as: keyof typeof PEOPLE, path: string, init?: RequestInit): Promise<{ status: number; json: any; text: string }>;
  /** restart stops keyway and starts it again on the same data folder (a new port). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * startBrowserStack starts a mock upstream, a keyway (config `config(upstreamUrl)` in a fresh
 * data folder, identity from the x-test-as header) and Chromium.
 */
export async function startBrowserStack(config: (upstreamUrl: string) => string, mock: MockUpstreamOptions = {}, settings: Partial<ServerSettings> = {}): Promise<BrowserStack> {
  const upstream = await startMockUpstream(mock);
  const dataDir = await mkdtemp(join(tmpdir(), 'keyway-browser-'));
  const configPath = join(dataDir, 'config.hujson');
  await writeFile(configPath, config(upstream.url));
  const start = () =>
    startKeyway(
      { ...DEFAULT_SETTINGS, port: 0, dataDir, configPath, watch: false, ...settings },
      { identity: asHeader, env: {}, log: createLogger(process.env.KEYWAY_TEST_LOG ?? 'silent') },
    );
  let keyway = await start();
  let browser: Browser;
  try {
    browser = await launchChromium();
  } catch (err) {
    await keyway.close(100);
    await upstream.close();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const contexts: BrowserContext[] = [];
  const errors: string[] = [];
  await mkdir(ARTIFACTS, { recursive: true });
  const stack: BrowserStack = {
    keyway,
    upstream,
    url: keyway.url,
    dataDir,
    browser,
    errors,
    async page(as, device = 'desktop') {
      const screen = device === 'phone' ? { viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : { viewport: { width: 1280, height: 860 } };
      const context = await browser.newContext({ baseURL: stack.url, extraHTTPHeaders: { 'x-test-as': as }, colorScheme: 'light', ...screen });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      page.on('pageerror', (err) => errors.push(`uncaught error in the page (${as}): ${err.stack ?? err.message}`));
      return page;
    },
    async api(as, path, init = {}) {
      const res = await fetch(`${stack.url}${path}`, { ...init, headers: { 'x-test-as': as, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });
      const text = await res.text();
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, json, text };
    },
    async restart() {
      for (const c of contexts.splice(0)) await c.close().catch(() => {});
      await keyway.close(100);
      keyway = await start();
      stack.keyway = keyway;
      stack.url = keyway.url;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close().catch(() => {});
      await keyway.close(100);
      await upstream.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** launchChromium starts the headless Chromium every browser test uses, with no traffic of its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** shot saves a full-page screenshot as test-artifacts/<name>.png. */
export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}
