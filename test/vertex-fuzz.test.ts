/**
 * A seeded fuzz run over the Vertex and `/direct` path families, sent as raw bytes (no
 * client library tidies the paths): odd segments, encodings, methods and bodies. No answer
 * may be a 500, carry a credential or the keyfile, or reach the upstream on a path outside
 * the provider's baseurl; the gateway still serves afterwards.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startMockUpstream, type IssuedKeyfile, type MockUpstream } from '../src/mock-upstream/index.js';
import { configText, postJson, startStack, type Stack } from './helpers.js';

const SEED = Number(process.env.KEYWAY_FUZZ_SEED ?? 16_2026);
const COUNT = Number(process.env.KEYWAY_FUZZ_COUNT ?? 800);
const CLIENT_KEY = 'sk-ant-test-CANARY-vertex-client-3k9d';
const PROVIDER_KEY = 'sk-test-CANARY-vertex-provider-7m2p';

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
const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;

const SEGMENTS = ['_aperture_auto_vertex_project_id_', '_aperture_auto_vertex_region_', 'p', 'global', '..', '.', '%2e%2e', '%2E', '%2F', '%5c', '%', '%zz', '%00', 'a%2Fb', '', 'é', '~', ';x', 'x'.repeat(300)];
const MODELS = ['gemini-test', 'claude-test@1', 'vertex/gemini-test', 'vertex%2Fclaude-test@1', 'count-tokens', '..', '%2e%2e', '', '%ZZ', 'a:b', 'new%0Aline'];
const METHODS = ['generateContent', 'streamGenerateContent', 'countTokens', 'rawPredict', 'streamRawPredict', 'predict', ''];

function path(r: () => number): string {
  const q = pick(r, ['', '?alt=sse', `?key=${CLIENT_KEY}`, '?%zz', '?a=%']);
  switch (Math.floor(r() * 4)) {
    case 0:
      return `/${pick(r, ['v1', 'v1beta1'])}/projects/${pick(r, SEGMENTS)}/locations/${pick(r, SEGMENTS)}/publishers/${pick(r, ['google', 'anthropic', 'meta', '%67oogle'])}/models/${pick(r, MODELS)}:${pick(r, METHODS)}${q}`;
    case 1:
      return `/${pick(r, ['v1', 'v1beta1'])}/publishers/${pick(r, ['google', 'anthropic'])}/models/${pick(r, MODELS)}:${pick(r, METHODS)}${q}`;
    default: {
      const rest = Array.from({ length: 1 + Math.floor(r() * 6) }, () => pick(r, SEGMENTS)).join('/');
      return `/direct/${pick(r, ['vertex', 'plain', 'nope', '%', '..', ''])}/${rest}${q}`;
    }
  }
}

function request(port: number, method: string, target: string, body: string, auth: boolean): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (answer += c));
    socket.on('error', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.setTimeout(5_000, () => socket.destroy());
    const headers = [`${method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close', `Content-Length: ${Buffer.byteLength(body)}`, 'Content-Type: application/json'];
    if (auth) headers.push(`Authorization: Bearer ${CLIENT_KEY}`, `x-goog-api-key: ${CLIENT_KEY}`);
    socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
  });
}

describe('fuzz: Vertex and /direct paths', () => {
  let upstream: MockUpstream;
  let stack: Stack;
  let key: IssuedKeyfile;
  before(async () => {
    upstream = await startMockUpstream();
    key = upstream.oauth.issueKeyfile({ projectId: 'fuzz-project' });
    const compatibility = { google_generate_content: true, google_raw_predict: true, experimental_gemini_cli_vertex_compat: true };
    stack = await startStack(
      () =>
        configText({
          vertex: { baseurl: `${upstream.url}/vx`, apikey: key.apikey, models: ['gemini-test', 'claude-test@1'], compatibility },
          plain: { baseurl: `${upstream.url}/plain`, apikey: PROVIDER_KEY, models: ['gemini-test'], compatibility },
        }),
      { upstream },
    );
  });
  after(async () => {
    await stack?.close();
    await upstream?.close();
  });

  test(`${COUNT} requests (seed ${SEED}): no 500, no credential in an answer, nothing outside the baseurl`, async () => {
    const r = prng(SEED);
    const port = Number(new URL(stack.url).port);
    const failures: string[] = [];
    const secrets = [CLIENT_KEY, PROVIDER_KEY, key.apikey.slice(9, 80), ...upstream.oauth.exchanges.map((e) => e.token ?? 'none')];
    for (let i = 0; i < COUNT; i += 8) {
      await Promise.all(
        Array.from({ length: 8 }, async (_, j) => {
          const target = path(r);
          const method = pick(r, ['POST', 'POST', 'GET', 'DELETE', 'PUT']);
          const body = pick(r, ['{"contents":[{"parts":[{"text":"hi"}]}]}', '{"anthropic_version":"vertex-2023-10-16","max_tokens":4,"messages":[]}', '{"model":"vertex/claude-test@1","messages":[]}', '{', '', '[]']);
          const answer = await request(port, method, target, body, r() < 0.5);
          const status = Number(answer.split(' ', 2)[1]);
          if (status >= 500 && status !== 502) failures.push(`#${i + j} ${method} ${target}: ${answer.slice(0, 300)}`);
          for (const s of [...secrets, ...upstream.oauth.exchanges.map((e) => e.token ?? 'none')]) {
            if (answer.includes(s)) failures.push(`#${i + j} ${method} ${target}: a secret in the answer`);
          }
        }),
      );
    }
    assert.deepEqual(failures, []);
    for (const req of upstream.requests) {
      assert.ok(req.path.startsWith('/vx/') || req.path.startsWith('/plain/'), `forwarded outside a baseurl: ${req.path}`);
      assert.ok(!req.path.split('/').some((s) => s === '..' || s === '.' || s.toLowerCase() === '%2e%2e'), `a dot segment went upstream: ${req.path}`);
    }
    const ok = await postJson(`${stack.url}/v1/projects/_aperture_auto_vertex_project_id_/locations/global/publishers/google/models/vertex%2Fgemini-test:generateContent`, { contents: [] });
    assert.equal(ok.status, 200, 'still serving');
  });
});
