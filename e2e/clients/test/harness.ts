/**
 * The client end-to-end harness. Every test runs this chain, all on loopback:
 *
 *   real client ─▶ tap ─▶ keyway ─▶ mock upstream
 *        │
 *        └─▶ (anything else) ─▶ proxy sink (refuses, records)
 *
 * - keyway and the mock upstream run in this process, started from the current sources.
 * - The tap is a transparent recording HTTP proxy in front of keyway: it keeps exactly
 *   what the client sent (and what it got back), so a test can compare it with what the
 *   upstream received. The mock upstream records the other side.
 * - The proxy sink is set as HTTP(S)_PROXY for every client, with NO_PROXY for loopback:
 *   any attempt to reach the internet (telemetry, update checks, account lookups) lands
 *   there, is refused at once, and is recorded, so the suite is fast and deterministic on
 *   any network, and a test can assert that a client stayed offline.
 * - Every client process gets a fresh HOME (and CODEX_HOME, GEMINI_CLI_HOME, TMPDIR), a
 *   minimal environment (nothing is inherited but PATH), stdin from /dev/null, and a
 *   timeout after which its whole process group is killed.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { createLogger } from '../../../src/log.js';
import { startMockUpstream, type IssuedKeyfile, type MockUpstream, type RecordedRequest } from '../../../src/mock-upstream/index.js';
import { DEFAULT_SETTINGS, startKeyway, type Keyway } from '../../../src/start.js';

// ------------------------------------------------------------------ credentials

/**
 * Obvious fakes. The mock upstream answers 401 to a value containing "invalid", and to a key
 * without its provider's prefix (Anthropic sk-ant-, OpenAI sk-, Google AIza: docs/operations.md).
 */
export const KEYS = {
  anthropicClient: 'sk-ant-test-e2e-client-key-0001',
  anthropicOauth: 'sk-ant-test-oauth-e2e-token-0001',
  // Anthropic accepts only sk-ant-… bearers (API keys, OAuth tokens); so does the mock.
  anthropicGatewayToken: 'sk-ant-test-e2e-gateway-bearer-token-0001',
  anthropicProvider: 'sk-ant-test-e2e-PROVIDER-key-9999',
  anthropicFallback: 'sk-ant-test-e2e-FALLBACK-key-8888',
  anthropicNone: 'sk-ant-test-e2e-NONE-provider-key-7777',
  openaiClient: 'sk-test-e2e-client-openai-0001',
  openaiProvider: 'sk-test-e2e-PROVIDER-openai-9999',
  googleClient: 'AIza-test-e2e-client-google-0001',
  googleProvider: 'AIza-test-e2e-PROVIDER-google-9999',
  bedrockProvider: 'test-e2e-PROVIDER-bedrock-key-9999',
  placeholder: 'placeholder-not-a-real-key',
  invalid: 'sk-test-e2e-invalid-key-0000',
} as const;

export const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'x-goog-api-key', 'api-key'] as const;

// ------------------------------------------------------------------ gateway configuration

/**
 * The providers every test file uses. Each has its own path under the one mock upstream,
 * so the upstream path says which provider served a request. Bare `claude-sonnet-4-5`,
 * `gpt-5` and `gemini-2.5-flash` are served by two providers each; the higher preference
 * wins for the bare name and a `provider/model` name picks the other one.
 */
export function gatewayConfig(upstream: string, vertexKeyfile?: string): string {
  const anthropic = { anthropic_messages: true };
  const openai = { openai_chat: true, openai_responses: true };
  const gemini = { gemini_generate_content: true };
  const providers = {
    'anthropic-passthrough': {
      baseurl: `${upstream}/anthropic-passthrough`,
      models: ['claude-opus-4-8', 'claude-sonnet-4-5'],
      authorization: 'x-api-key',
      auth_mode: 'passthrough',
      apikey: KEYS.anthropicFallback,
      compatibility: anthropic,
    },
    anthropic: {
      baseurl: `${upstream}/anthropic`,
      models: ['claude-sonnet-4-5', 'claude-haiku-4-5'],
      preference: 10,
      authorization: 'x-api-key',
      auth_mode: 'override',
      apikey: KEYS.anthropicProvider,
      compatibility: anthropic,
    },
    'anthropic-none': {
      baseurl: `${upstream}/anthropic-none`,
      models: ['claude-local-1'],
      authorization: 'x-api-key',
      auth_mode: 'none',
      apikey: KEYS.anthropicNone,
      compatibility: anthropic,
    },
    openai: {
      baseurl: `${upstream}/openai`,
      models: ['gpt-5', 'gpt-5-mini'],
      preference: 10,
      authorization: 'bearer',
      apikey: KEYS.openaiProvider, // auth_mode omitted: override
      compatibility: openai,
    },
    'openai-passthrough': {
      baseurl: `${upstream}/openai-passthrough`,
      models: ['gpt-5', 'gpt-5-codex'],
      authorization: 'bearer',
      auth_mode: 'passthrough',
      compatibility: openai,
    },
    'openai-none': {
      baseurl: `${upstream}/openai-none`,
      models: ['local-coder'],
      authorization: 'bearer',
      auth_mode: 'none',
      compatibility: openai,
    },
    chatgpt: {
      baseurl: `${upstream}/backend-api/codex`,
      models: ['gpt-5.5'],
      authorization: 'bearer',
      auth_mode: 'passthrough',
      compatibility: { openai_responses: true },
    },
    'gemini-passthrough': {
      baseurl: `${upstream}/gemini-passthrough`,
      models: ['gemini-2.5-flash'],
      authorization: 'x-goog-api-key',
      auth_mode: 'passthrough',
      compatibility: gemini,
    },
    gemini: {
      baseurl: `${upstream}/gemini`,
      models: ['gemini-2.5-flash', 'gemini-2.5-pro'],
      preference: -1, // the bare gemini-2.5-flash goes to gemini-passthrough
      authorization: 'x-goog-api-key',
      auth_mode: 'override',
      apikey: KEYS.googleProvider,
      compatibility: gemini,
    },
    'gemini-none': {
      baseurl: `${upstream}/gemini-none`,
      models: ['gemma-local-1'],
      authorization: 'x-goog-api-key',
      auth_mode: 'none',
      compatibility: gemini,
    },
    // Vertex AI with a service-account keyfile the mock issued (its token endpoint verifies
    // the signed assertion): Claude Code and Gemini CLI in their Vertex modes.
    ...(vertexKeyfile
      ? {
          vertex: {
            baseurl: `${upstream}/vertex`,
            models: [...VERTEX_MODELS],
            apikey: vertexKeyfile,
            compatibility: { google_raw_predict: true, google_generate_content: true, experimental_gemini_cli_vertex_compat: true },
          },
        }
      : {}),
    // A Bedrock API key, sent as a bearer (Claude Code in Bedrock mode with CLAUDE_CODE_SKIP_BEDROCK_AUTH).
    bedrock: {
      baseurl: `${upstream}/bedrock-runtime`,
      models: ['us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'us.anthropic.claude-haiku-4-5-20251001-v1:0'],
      apikey: KEYS.bedrockProvider,
      compatibility: { bedrock_model_invoke: true, bedrock_converse: true },
    },
    // Served in one API only: every other client reaches them through translation.
    'openai-chat-only': {
      baseurl: `${upstream}/openai-chat-only`,
      models: ['gpt-chat-only'],
      authorization: 'bearer',
      apikey: KEYS.openaiProvider,
      compatibility: { openai_chat: true },
    },
    'anthropic-only': {
      baseurl: `${upstream}/anthropic-only`,
      models: ['claude-for-codex'],
      authorization: 'x-api-key',
      apikey: KEYS.anthropicProvider,
      compatibility: anthropic,
    },
  };
  const grants = [{ src: ['(loopback)'], app: { 'tailscale.com/cap/aperture': [{ role: 'admin' }, { models: '**' }] } }];
  return JSON.stringify({ providers, grants }, null, 2);
}

/** The project of the e2e Vertex keyfile, which keyway puts in place of the placeholder. */
export const VERTEX_PROJECT = 'e2e-vertex-project';
/** Vertex models: Claude Code's Vertex names (its main and its small/fast model) and Gemini. */
export const VERTEX_MODELS = ['claude-sonnet-4-5@20250929', 'claude-haiku-4-5@20251001', 'claude-3-5-haiku@20241022', 'gemini-2.5-flash'] as const;

// ------------------------------------------------------------------ the tap

/** One request as the client sent it to keyway, and keyway's answer as the client got it. */
export interface ClientExchange {
  method: string;
  /** Path without the query. */
  path: string;
  /** Query with the leading '?', or ''. */
  query: string;
  /** Lower-case names; repeated headers joined with ', '. */
  headers: Record<string, string>;
  body: string;
  /** True for a WebSocket upgrade attempt. */
  upgrade: boolean;
  /** Status keyway answered with (0 until known). */
  status: number;
  /** Response bytes relayed to the client (first MiB), e.g. the SSE stream. */
  responseBody: string;
  /** The response ended normally (false: cut off, or still running). */
  responseComplete: boolean;
}

export interface Tap {
  url: string;
  exchanges: ClientExchange[];
  close(): Promise<void>;
}

function headerRecord(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    out[k] = k in out ? `${out[k]}, ${raw[i + 1]}` : raw[i + 1]!;
  }
  return out;
}

function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q) };
}

const TAP_BODY_LIMIT = 1 << 20;

/** startTap starts a recording, byte-transparent HTTP proxy in front of `target` (a loopback port). */
export async function startTap(targetPort: number): Promise<Tap> {
  const exchanges: ClientExchange[] = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const { path, query } = splitUrl(req.url ?? '/');
    const ex: ClientExchange = {
      method: req.method ?? 'GET',
      path,
      query,
      headers: headerRecord(req.rawHeaders),
      body: '',
      upgrade: false,
      status: 0,
      responseBody: '',
      responseComplete: false,
    };
    exchanges.push(ex);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      ex.body = body.toString('utf8');
      // Same headers, same order, same casing; only the connection to keyway is ours.
      const headers: string[] = [];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i]!.toLowerCase();
        if (name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding' || name === 'content-length') continue;
        headers.push(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
      }
      if (body.length > 0 || req.method === 'POST' || req.method === 'PUT') headers.push('content-length', String(body.length));
      const up = httpRequest({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers, setHost: false });
      up.on('response', (upRes) => {
        ex.status = upRes.statusCode ?? 0;
        const out: string[] = [];
        for (let i = 0; i + 1 < upRes.rawHeaders.length; i += 2) {
          const name = upRes.rawHeaders[i]!.toLowerCase();
          if (name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding') continue;
          out.push(upRes.rawHeaders[i]!, upRes.rawHeaders[i + 1]!);
        }
        res.writeHead(ex.status, out);
        res.flushHeaders();
        upRes.on('data', (c: Buffer) => {
          if (ex.responseBody.length < TAP_BODY_LIMIT) ex.responseBody += c.toString('utf8');
          res.write(c);
        });
        upRes.on('end', () => {
          ex.responseComplete = true;
          res.end();
        });
        // keyway cut the response off: do the same to the client.
        upRes.on('error', () => res.destroy());
        upRes.on('aborted', () => res.destroy());
      });
      up.on('error', () => res.destroy());
      res.on('close', () => {
        if (!res.writableFinished) up.destroy();
      });
      up.end(body);
    });
  });

  // WebSocket upgrade attempts (Codex): record, then splice the raw bytes to keyway.
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const { path, query } = splitUrl(req.url ?? '/');
    const ex: ClientExchange = {
      method: req.method ?? 'GET',
      path,
      query,
      headers: headerRecord(req.rawHeaders),
      body: '',
      upgrade: true,
      status: 0,
      responseBody: '',
      responseComplete: false,
    };
    exchanges.push(ex);
    const up = connect(targetPort, '127.0.0.1', () => {
      let headText = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headText += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      up.write(`${headText}\r\n`);
      if (head.length > 0) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('data', (c: Buffer) => {
      if (ex.status === 0) ex.status = Number(c.toString('latin1').split(' ', 2)[1]) || 0;
      if (ex.responseBody.length < TAP_BODY_LIMIT) ex.responseBody += c.toString('utf8');
    });
    up.on('end', () => {
      ex.responseComplete = true;
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
    socket.on('close', () => up.destroy());
  });

  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await listen(server);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exchanges,
    close: () => closeServer(server, sockets),
  };
}

// ------------------------------------------------------------------ the proxy sink

export interface OutboundAttempt {
  /** 'CONNECT host:443' or 'GET http://host/path'. */
  line: string;
  host: string;
}

export interface ProxySink {
  url: string;
  attempts: OutboundAttempt[];
  close(): Promise<void>;
}

/** startProxySink starts an HTTP proxy that refuses everything and records each attempt. */
export async function startProxySink(): Promise<ProxySink> {
  const attempts: OutboundAttempt[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    let host = '';
    try {
      host = new URL(req.url ?? '').host;
    } catch {
      host = req.headers.host ?? '';
    }
    attempts.push({ line: `${req.method} ${req.url}`, host });
    res.writeHead(403, { 'content-type': 'text/plain', connection: 'close' });
    res.end('keyway e2e: outbound traffic refused\n');
  });
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    attempts.push({ line: `CONNECT ${req.url}`, host: (req.url ?? '').replace(/:\d+$/, '') });
    socket.on('error', () => {});
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await listen(server);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    attempts,
    close: () => closeServer(server, sockets),
  };
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const s of sockets) s.destroy();
  });
}

// ------------------------------------------------------------------ the whole stack

export interface E2EStack {
  keyway: Keyway;
  upstream: MockUpstream;
  tap: Tap;
  sink: ProxySink;
  /** What clients are pointed at: the tap in front of keyway, e.g. http://127.0.0.1:41234 */
  url: string;
  dataDir: string;
  /** The service account of provider `vertex` (its tokens are in upstream.oauth.exchanges). */
  vertexKey: IssuedKeyfile;
  /** Forget what the upstream, the tap and the sink recorded (call before each test). */
  reset(): void;
  close(): Promise<void>;
}

export async function startStack(): Promise<E2EStack> {
  const upstream = await startMockUpstream();
  const dataDir = await mkdtemp(join(tmpdir(), 'keyway-e2e-data-'));
  const configPath = join(dataDir, 'config.hujson');
  const vertexKey = upstream.oauth.issueKeyfile({ projectId: VERTEX_PROJECT });
  await writeFile(configPath, gatewayConfig(upstream.url, vertexKey.apikey));
  const keyway = await startKeyway(
    { ...DEFAULT_SETTINGS, port: 0, dataDir, configPath, watch: false },
    { env: {}, log: createLogger(process.env.KEYWAY_E2E_LOG ?? 'silent') },
  );
  const problems = keyway.runtime.current.problems.filter((p) => p.severity === 'error');
  if (problems.length > 0) throw new Error(`the e2e gateway config has errors: ${JSON.stringify(problems)}`);
  const tap = await startTap(keyway.port);
  const sink = await startProxySink();
  return {
    keyway,
    upstream,
    tap,
    sink,
    url: tap.url,
    dataDir,
    vertexKey,
    reset() {
      upstream.reset();
      tap.exchanges.length = 0;
      sink.attempts.length = 0;
    },
    async close() {
      await tap.close();
      await sink.close();
      await keyway.close(100);
      await upstream.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------ running a client

const require = createRequire(import.meta.url);

function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

/** The installed CLIs: native binary (Claude Code) or a Node script run by this Node. */
export const CLI = {
  claude: { cmd: join(packageDir('@anthropic-ai/claude-code'), 'bin', 'claude.exe'), pre: [] as string[] },
  codex: { cmd: process.execPath, pre: [join(packageDir('@openai/codex'), 'bin', 'codex.js')] },
  gemini: { cmd: process.execPath, pre: [join(packageDir('@google/gemini-cli'), 'bundle', 'gemini.js')] },
} as const;

export interface Sandbox {
  /** The fresh HOME. */
  home: string;
  /** An empty working directory (cwd of the client). */
  work: string;
  /** Base environment: PATH, HOME, TMPDIR, locale and the proxy sink. Nothing else is inherited. */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** sandbox creates a fresh home and working directory for one client run. */
export async function sandbox(label: string, sink: ProxySink): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), `keyway-e2e-${label}-`));
  const home = join(root, 'home');
  const work = join(root, 'work');
  const tmp = join(root, 'tmp');
  await Promise.all([mkdir(home), mkdir(work), mkdir(tmp)]);
  const noProxy = '127.0.0.1,localhost,::1';
  const env: Record<string, string> = {
    PATH: [dirname(process.execPath), process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'].join(delimiter),
    HOME: home,
    TMPDIR: tmp,
    LANG: 'C.UTF-8',
    TERM: 'dumb',
    NO_COLOR: '1',
    HTTPS_PROXY: sink.url,
    HTTP_PROXY: sink.url,
    https_proxy: sink.url,
    http_proxy: sink.url,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
  };
  return {
    home,
    work,
    env,
    cleanup: () => (process.env.KEYWAY_E2E_KEEP ? Promise.resolve() : rm(root, { recursive: true, force: true })),
  };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

export interface RunOptions {
  env: Record<string, string>;
  cwd: string;
  /** Kill the process group after this long (default 60 s). */
  timeoutMs?: number;
}

/**
 * run starts a client with stdin from /dev/null in its own process group and resolves when
 * it exits; after `timeoutMs` the whole group is killed (and `timedOut` set).
 */
export function run(cli: { cmd: string; pre: readonly string[] }, args: string[], opts: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cli.cmd, [...cli.pre, ...args], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      killGroup(); // helpers the client may have left behind in its group
      resolve({ code, signal, stdout, stderr, ms: Math.round(performance.now() - started), timedOut });
    });
  });
}

/** verbose prints a run and the records around it when KEYWAY_E2E_VERBOSE is set (debugging aid). */
export function verbose(label: string, r: RunResult, stack: E2EStack): void {
  if (process.env.KEYWAY_E2E_VERBOSE) console.error(`===== ${label}\n${describeRun(r, stack)}\n`);
}

/** describeRun renders a run for assertion messages. */
export function describeRun(r: RunResult, stack?: E2EStack): string {
  const cut = (s: string) => (s.length > 4000 ? `${s.slice(0, 2000)}\n…\n${s.slice(-2000)}` : s);
  let out = `exit=${r.code} signal=${r.signal} timedOut=${r.timedOut} ms=${r.ms}\n--- stdout\n${cut(r.stdout)}\n--- stderr\n${cut(r.stderr)}`;
  if (stack) {
    out += `\n--- client → keyway\n${stack.tap.exchanges.map((e) => `${e.method} ${e.path}${e.query} → ${e.status}`).join('\n')}`;
    out += `\n--- keyway → upstream\n${stack.upstream.requests.map((q) => `${q.method} ${q.path}${q.query}${q.aborted ? ' (aborted)' : ''}`).join('\n')}`;
    out += `\n--- outbound attempts\n${stack.sink.attempts.map((a) => a.line).join('\n')}`;
  }
  return out;
}

// ------------------------------------------------------------------ assertions on records

/** The inference requests the upstream received (everything; the mock is only reached through keyway). */
export function upstreamPosts(stack: E2EStack): RecordedRequest[] {
  return stack.upstream.requests.filter((r) => r.method === 'POST');
}

/** The client's inference requests as keyway received them. */
export function clientPosts(stack: E2EStack): ClientExchange[] {
  return stack.tap.exchanges.filter((e) => e.method === 'POST');
}

/** Headers that describe a connection, not the API call; they legitimately differ per hop. */
const PER_HOP = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'te', 'upgrade']);

/**
 * headerDiff lists every non-hop header whose value differs between what the client sent
 * and what the upstream received, ignoring `ignore` (e.g. credential headers in override).
 */
export function headerDiff(sent: Record<string, string>, received: Record<string, string>, ignore: readonly string[] = []): string[] {
  const out: string[] = [];
  const names = new Set([...Object.keys(sent), ...Object.keys(received)]);
  for (const name of names) {
    if (PER_HOP.has(name) || ignore.includes(name)) continue;
    if (sent[name] !== received[name]) out.push(`${name}: client sent ${JSON.stringify(sent[name])}, upstream got ${JSON.stringify(received[name])}`);
  }
  return out;
}

/** The credential headers of a request, for equality checks. */
export function credentials(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of CREDENTIAL_HEADERS) if (headers[name] !== undefined) out[name] = headers[name];
  return out;
}

/** Does any header value or the body of any upstream request contain `secret`? */
export function upstreamSaw(stack: E2EStack, secret: string): boolean {
  return stack.upstream.requests.some((r) => r.body.includes(secret) || r.query.includes(secret) || Object.values(r.headers).some((v) => v.includes(secret)));
}

/** SSE `data:` payloads of a stream, parsed (non-JSON payloads such as `[DONE]` are skipped). */
export function sseData(stream: string): unknown[] {
  const out: unknown[] = [];
  for (const line of stream.split('\n')) {
    if (!line.startsWith('data:')) continue;
    try {
      out.push(JSON.parse(line.slice(5).trim()));
    } catch {
      // not JSON
    }
  }
  return out;
}
