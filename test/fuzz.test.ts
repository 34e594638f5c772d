/**
 * A bounded fuzz run against every route family: thousands of malformed, oversized,
 * mis-encoded and odd-path requests, written as raw bytes on real sockets (so nothing in
 * a client library tidies them up). It asserts what the security review asked for: no
 * 500, no crash, no credential in any answer, log line or stored record, and a gateway that
 * still serves afterwards. The generator is seeded: a failure names its seed and request.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { CAP } from './browser/harness.js';
import { configText, postJson, startStack, type Stack } from './helpers.js';
import { createLogger } from '../src/log.js';

const SEED = Number(process.env.KEYWAY_FUZZ_SEED ?? 20261201);
const COUNT = Number(process.env.KEYWAY_FUZZ_COUNT ?? 3000);
const CONCURRENCY = 16;

// Canaries: none of these may ever come back to a client, or reach a log or the database.
const PROVIDER_KEY = 'sk-test-CANARY-provider-key-7q3z';
const FALLBACK_KEY = 'sk-ant-test-CANARY-fallback-key-8w4x';
const CLIENT_KEY = 'sk-ant-test-CANARY-client-key-9e5c';
const QUERY_KEY = 'AIza-test-CANARY-query-key-0r6v';
const CANARIES = [PROVIDER_KEY, FALLBACK_KEY, CLIENT_KEY, QUERY_KEY];

/** mulberry32: a small, fast, seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function providers(u: string) {
  return {
    openai: { baseurl: u, apikey: PROVIDER_KEY, models: ['gpt-test', 'openai/gpt-lit'], compatibility: { openai_chat: true, openai_responses: true } },
    anthropic: { baseurl: u, authorization: 'x-api-key', auth_mode: 'passthrough', apikey: FALLBACK_KEY, models: ['claude-test'], compatibility: { anthropic_messages: true } },
    gemini: { baseurl: u, authorization: 'x-goog-api-key', auth_mode: 'none', models: ['gemini-test'], compatibility: { gemini_generate_content: true } },
    bare: { baseurl: u, auth_mode: 'passthrough', models: ['bare-test'], compatibility: { openai_chat: true } },
    bedrock: { baseurl: u, apikey: `aws::FAKETESTFUZZ00000001:${PROVIDER_KEY}`, models: ['us.anthropic.bedrock-test-v1:0'], compatibility: { bedrock_model_invoke: true, bedrock_converse: true } },
  };
}

const INFERENCE = ['/v1/chat/completions', '/chat/completions', '/v1/responses', '/v1/responses/compact', '/codex/responses', '/v1/messages', '/v1/messages/count_tokens'];
const GEMINI_METHODS = ['generateContent', 'streamGenerateContent', 'countTokens', 'bogus', ''];
const BEDROCK_ACTIONS = ['invoke', 'invoke-with-response-stream', 'converse', 'converse-stream', 'bogus', ''];
const OWN = [
  '/api/whoami', '/api/config', '/api/config?reveal=1', '/api/config:validate', '/aperture/config', '/api/config/history', '/api/config/history/%',
  '/api/config/history/..%2f..%2fetc', '/api/config/rollback', '/api/requests', '/api/requests/%', '/api/requests/%zz', '/api/requests/req_0', '/api/usage',
  '/api/usage?from=junk&to=%', '/api/sessions', '/api/explain?model=%', '/api/explain', '/api/models/test', '/api/providers', '/api/health',
  '/api/chat/conversations', '/api/chat/conversations/%', '/api/chat/conversations/x/messages', '/metrics', '/v1/models', '/v1beta/models', '/ui/', '/ui/%2e%2e/%2e%2e/etc/passwd',
  '/ui/assets/..%5c..%5cpackage.json', '/chat', '/chat/%', '/', '//', '/./api/whoami', '/%', '/%00', '/healthz', '/bedrock/inference-profiles?type=%',
];
const MODELS = ['gpt-test', 'claude-test', 'gemini-test', 'bare-test', 'openai/gpt-test', 'openai/gpt-lit', 'anthropic/claude-test', 'nope', '', '..', '.', 'a/../../b', 'x'.repeat(600), 'é🙂', 'new\nline', '%2e%2e'];

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

function deep(depth: number, open: string, close: string): string {
  return open.repeat(depth) + close.repeat(depth);
}

function body(r: () => number): Buffer {
  const model: unknown = r() < 0.8 ? pick(r, MODELS) : pick(r, [1, null, { a: 1 }, ['gpt-test'], true]);
  const messages = [{ role: 'user', content: pick(r, ['hi', '', 'x'.repeat(5000), '\u0000\ud800', 'MOCK:error=500', 'MOCK:chunks=3,interval=1']) }];
  switch (Math.floor(r() * 14)) {
    case 0: return Buffer.from('');
    case 1: return Buffer.from('{"model": "gpt-test", "messages": [');
    case 2: return Buffer.from(`{"model":"gpt-test","model":"claude-test","messages":[]}`);
    case 3: return Buffer.from(`{"model":"gpt-test","messages":${deep(5000 + Math.floor(r() * 20000), '[', ']')}}`);
    case 4: return Buffer.from(deep(20000, '{"a":', '}').replace(/\}$/, '}'));
    case 5: return Buffer.from([0x7b, 0x22, 0x6d, 0xff, 0xfe, 0x22, 0x3a, 0x22, 0xc0, 0x22, 0x7d]);
    case 6: return Buffer.from(JSON.stringify({ model, messages, padding: 'p'.repeat(300 * 1024) }));
    case 7: return Buffer.from('[1,2,3]');
    case 8: return Buffer.from('"just a string"');
    case 9: return Buffer.from(JSON.stringify({ model, contents: [{ parts: [{ text: 'hi' }] }] }));
    case 10: return Buffer.from(JSON.stringify({ model, input: 'hi', stream: r() < 0.5 }));
    case 11: return Buffer.from(JSON.stringify({ model, max_tokens: -1, messages, stream: r() < 0.5, metadata: { user_id: '{"session_id": 5' } }));
    case 12: return Buffer.from(JSON.stringify({ config: deep(2000, '{"a":', '}'), hash: 'x' }));
    default: return Buffer.from(JSON.stringify({ model, messages, stream: r() < 0.3 }));
  }
}

function path(r: () => number): string {
  const q = pick(r, ['', '', '', `?key=${QUERY_KEY}`, `?%6Bey=${QUERY_KEY}`, `?access_token=${QUERY_KEY}`, '?alt=sse', '?%zz=1', '?a=%', `?KEY=${QUERY_KEY}&key=2`]);
  switch (Math.floor(r() * 7)) {
    case 6: {
      const model = pick(r, ['us.anthropic.bedrock-test-v1:0', 'us.anthropic.bedrock-test-v1%3A0', 'bedrock%2Fus.anthropic.bedrock-test-v1%3A0', 'arn:aws:bedrock:us-east-1:1:x/y', ...MODELS.map(encodeURIComponent), '%zz', '..%2F..', 'a/b/c']);
      return `/bedrock/model/${model}/${pick(r, BEDROCK_ACTIONS)}${q}`;
    }
    case 0:
    case 1:
      return pick(r, INFERENCE) + q;
    case 2: {
      const model = pick(r, [...MODELS.map(encodeURIComponent), '%zz', '%2F..%2F..', 'models%2Fx', '%00']);
      return `${pick(r, ['/v1beta/models/', '/v1/models/'])}${model}:${pick(r, GEMINI_METHODS)}${q}`;
    }
    case 3:
    case 4:
      return pick(r, OWN);
    default: {
      const junk = Array.from({ length: 1 + Math.floor(r() * 40) }, () => pick(r, ['a', '/', '%', '..', '%2f', '~', ';', '+', 'é', '%ff', ':', '?', '#'])).join('');
      return r() < 0.1 ? `/${'x'.repeat(10_000)}` : `/${junk}`;
    }
  }
}

function headers(r: () => number, len: number, port: number): string[] {
  const h = [`Host: ${pick(r, [`127.0.0.1:${port}`, 'localhost', `127.0.0.1:${port}`])}`, 'Connection: close'];
  const roll = r();
  if (roll < 0.85) h.push(`Content-Length: ${len}`);
  else if (roll < 0.9) h.push(`Content-Length: ${len + 10}`); // truncated body: the body timeout ends it
  else if (roll < 0.95) h.push('Transfer-Encoding: chunked');
  h.push(`Content-Type: ${pick(r, ['application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '', 'application/json; charset=latin1'])}`);
  if (r() < 0.3) h.push(`x-api-key: ${CLIENT_KEY}`);
  if (r() < 0.2) h.push(`Authorization: ${pick(r, [`Bearer ${CLIENT_KEY}`, 'Bearer', 'Basic !!!', ''])}`);
  if (r() < 0.1) h.push(`x-goog-api-key: ${CLIENT_KEY}`);
  if (r() < 0.1) h.push('Content-Encoding: gzip');
  if (r() < 0.1) h.push(`Origin: ${pick(r, [`http://127.0.0.1:${port}`, 'https://evil.example', 'null', '::::'])}`);
  if (r() < 0.1) h.push(`Sec-Fetch-Site: ${pick(r, ['same-origin', 'cross-site', 'none', 'junk'])}`);
  if (r() < 0.1) h.push(`x-session-id: ${'s'.repeat(Math.floor(r() * 2000))}`);
  if (r() < 0.05) h.push(`Tailscale-User-Login: ${pick(r, ['mallory@example.com', '=?utf-8?q?=ZZ?='])}`);
  if (r() < 0.05) h.push('Expect: 100-continue');
  return h;
}

interface Answer {
  status: number;
  raw: string;
}

function send(port: number, method: string, target: string, head: string[], payload: Buffer): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const finish = () => {
      const raw = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
      resolve({ status: m ? Number(m[1]) : 0, raw });
    };
    socket.setTimeout(5_000, () => socket.destroy());
    socket.on('data', (c) => chunks.push(c));
    socket.on('close', finish);
    socket.on('error', () => {});
    const chunked = head.includes('Transfer-Encoding: chunked');
    socket.write(`${method} ${target} HTTP/1.1\r\n${head.join('\r\n')}\r\n\r\n`);
    if (chunked) socket.end(payload.length > 0 ? Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from('\r\n0\r\n\r\n')]) : '0\r\n\r\n');
    else socket.end(payload);
  });
}

describe('fuzz: malformed requests against every route family', () => {
  let stack: Stack;
  const logs: string[] = [];
  before(async () => {
    const grants = [
      { src: ['(loopback)'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } },
      { src: ['mallory@example.com'], app: { [CAP]: [{ role: 'user' }, { models: 'openai/**' }] } },
    ];
    stack = await startStack((u) => configText(providers(u), grants), {
      settings: { bodyLimit: 256 * 1024, clientLimits: { headerTimeoutMs: 1_000, bodyTimeoutMs: 300, maxConnectionsPerPeer: 0 } },
      log: createLogger('info', new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) })),
    });
  });
  let closed = false;
  after(async () => {
    // The test closes keyway itself to read what it wrote; after a failure it is still open.
    if (!closed) await stack.keyway.close(100);
    await rm(stack.dataDir, { recursive: true, force: true });
    await stack.upstream.close();
  });

  test(`${COUNT} requests (seed ${SEED}): no 500, no credential in any answer, log or record, still serving`, { timeout: 120_000 }, async () => {
    const r = prng(SEED);
    const port = stack.keyway.port;
    const plans = Array.from({ length: COUNT }, (_, i) => {
      const payload = body(r);
      return { i, method: pick(r, ['POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'HEAD', 'PROPFIND']), target: path(r), head: headers(r, payload.length, port), payload };
    });
    const statuses = new Map<number, number>();
    const answeredIds: string[] = [];
    const failures: string[] = [];
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < plans.length) {
          const p = plans[next++]!;
          const a = await send(port, p.method, p.target, p.head, p.payload);
          statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
          const id = /\r\nx-keyway-request-id: (req_[0-9a-f]+)\r\n/i.exec(a.raw)?.[1];
          if (id) answeredIds.push(id);
          const what = `#${p.i} ${p.method} ${p.target.slice(0, 120)} [${p.head.filter((h) => !h.startsWith('Host')).join('; ').slice(0, 200)}] body ${p.payload.subarray(0, 60).toString('latin1')}`;
          if (a.status >= 500 && a.status !== 502 && a.status !== 503 && a.status !== 504) failures.push(`${a.status} for ${what}: ${a.raw.slice(0, 300)}`);
          // An admin asking for the configuration with ?reveal=1 is the one place keys are shown.
          const reveal = p.target.includes('reveal=1') && p.target.includes('/config');
          for (const c of CANARIES) if (a.raw.includes(c) && !reveal) failures.push(`credential ${c.slice(0, 24)}… in the answer to ${what}`);
        }
      }),
    );
    const ms = Date.now() - started;
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failures; statuses ${JSON.stringify([...statuses])}`);
    assert.ok(ms < 60_000, `took ${ms} ms`);
    assert.ok((statuses.get(0) ?? 0) < COUNT * 0.2, `too many connections closed without an answer: ${statuses.get(0)}`);

    // Still serving, and still right.
    assert.equal((await fetch(`${stack.url}/healthz`)).status, 200);
    const ok = await postJson(`${stack.url}/v1/chat/completions`, { model: 'gpt-test', messages: [{ role: 'user', content: 'after the storm' }] });
    assert.equal(ok.status, 200);

    // Every record written, then nothing credential-shaped anywhere on disk or in the logs.
    await stack.keyway.close(100);
    closed = true;
    const db = new Database(join(stack.dataDir, 'keyway.db'), { readonly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
    let rows = 0;
    for (const { name } of tables) {
      for (const row of db.prepare(`SELECT * FROM "${name}"`).all() as Array<Record<string, unknown>>) {
        rows++;
        const text = JSON.stringify(row);
        for (const c of CANARIES) assert.ok(!text.includes(c), `credential ${c.slice(0, 24)}… stored in table ${name}`);
      }
    }
    // Every answer that named its request id has its record (the deep bodies included).
    const stored = new Set((db.prepare('SELECT id FROM requests').all() as Array<{ id: string }>).map((r) => r.id));
    const missing = answeredIds.filter((id) => !stored.has(id));
    assert.ok(answeredIds.length > 100, `only ${answeredIds.length} answers carried a request id`);
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} of ${answeredIds.length} answered requests have no record`);
    db.close();
    assert.ok(rows >= answeredIds.length, `only ${rows} rows recorded`);
    const config = await readFile(stack.configPath, 'utf8');
    assert.ok(config.includes(PROVIDER_KEY), 'the config file itself holds the key (sanity check of the search)');
    const logText = logs.join('');
    for (const c of CANARIES) assert.ok(!logText.includes(c), `credential ${c.slice(0, 24)}… in the logs`);
  });
});
