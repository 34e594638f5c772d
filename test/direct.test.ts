/**
 * `/direct/{provider}/{path}`: any method relayed to the provider's baseurl with the path
 * and query as sent, credentials by auth_mode (keyfile tokens included), not routed by
 * model; access by role plus a grant for one of the provider's models; refusals forward
 * nothing; every call recorded as format `direct` with its bytes.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startMockUpstream, type MockUpstream } from '../src/mock-upstream/index.js';
import { FAKE, configText, postJson, startStack, type Stack } from './helpers.js';

const CAP = 'tailscale.com/cap/aperture';
const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'x-goog-api-key', 'api-key'];

function credentials(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(CREDENTIAL_HEADERS.filter((h) => headers[h] !== undefined).map((h) => [h, headers[h]!]));
}

/** send issues a request with its path exactly as written (fetch would normalise dot segments). */
function send(base: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method, headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('/direct/{provider}/{path}', () => {
  let upstream: MockUpstream;
  let stack: Stack;
  let keyfileEmail: string;

  before(async () => {
    upstream = await startMockUpstream();
    const key = upstream.oauth.issueKeyfile({ projectId: 'direct-project' });
    keyfileEmail = key.clientEmail;
    stack = await startStack(
      () =>
        configText(
          {
            openai: { baseurl: upstream.url, apikey: FAKE.providerKey, models: ['gpt-5'], compatibility: { openai_chat: true, openai_responses: true } },
            prefixed: { baseurl: `${upstream.url}/gw/openai/`, apikey: FAKE.providerKey, models: ['gpt-5'] },
            anthropic: { baseurl: upstream.url, authorization: 'x-api-key', auth_mode: 'passthrough', models: ['claude-opus-4-8'], compatibility: { anthropic_messages: true } },
            local: { baseurl: upstream.url, auth_mode: 'none', apikey: FAKE.providerKey, models: ['llama'] },
            vertex: { baseurl: upstream.url, apikey: key.apikey, models: ['gemini-2.5-flash'], compatibility: { google_generate_content: true } },
            hidden: { baseurl: upstream.url, apikey: FAKE.providerKey, models: ['secret-model'] },
            off: { baseurl: upstream.url, apikey: FAKE.providerKey, models: ['gpt-off'], disabled: true },
          },
          // Granted: everything but provider "hidden".
          [{ src: ['(loopback)'], app: { [CAP]: [{ role: 'admin' }, { models: 'openai/**' }, { models: 'prefixed/**' }, { models: 'anthropic/**' }, { models: 'local/**' }, { models: 'vertex/**' }, { models: 'off/**' }] } }],
        ),
      { upstream },
    );
  });
  after(async () => {
    await stack?.close();
    await upstream?.close();
  });

  test('POST: path and query appended as sent, the provider key replaces the client credential, the body is not routed', async () => {
    upstream.reset();
    const body = JSON.stringify({ model: 'text-embedding-3-small', input: 'hi' });
    const r = await send(stack.url, 'POST', '/direct/openai/v1/embeddings?encoding_format=float&x=%2F', body, { authorization: `Bearer ${FAKE.openaiKey}`, 'x-custom': 'kept' });
    assert.equal(r.status, 404, 'the mock has no embeddings: its own answer is relayed');
    assert.match(r.text, /mock upstream: no route for POST \/v1\/embeddings/);
    const got = upstream.requests[0]!;
    assert.equal(got.method, 'POST');
    assert.equal(got.path, '/v1/embeddings');
    assert.equal(got.query, '?encoding_format=float&x=%2F');
    assert.equal(got.body, body, 'the model is not in the provider list, and the body is untouched');
    assert.deepEqual(credentials(got.headers), { authorization: `Bearer ${FAKE.providerKey}` });
    assert.equal(got.headers['x-custom'], 'kept');
    assert.ok(r.headers['x-keyway-request-id']);
  });

  test('any method: GET, DELETE, PUT relayed with their answers', async () => {
    upstream.reset();
    const list = await send(stack.url, 'GET', '/direct/openai/v1/models');
    assert.equal(list.status, 200);
    assert.ok(JSON.parse(list.text).data.length > 0);
    const del = await send(stack.url, 'DELETE', '/direct/openai/v1/files/file-test-123');
    assert.equal(del.status, 404);
    await send(stack.url, 'PUT', '/direct/openai/v1/things/1', '{"a":1}');
    assert.deepEqual(upstream.requests.map((r) => `${r.method} ${r.path}`), ['GET /v1/models', 'DELETE /v1/files/file-test-123', 'PUT /v1/things/1']);
    assert.equal(upstream.requests[2]!.body, '{"a":1}');
  });

  test('the baseurl path prefix is kept; a streamed answer streams', async () => {
    upstream.reset();
    const r = await send(stack.url, 'POST', '/direct/prefixed/v1/chat/completions', JSON.stringify({ model: 'gpt-5', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/event-stream/);
    assert.match(r.text, /data: \[DONE\]/);
    assert.equal(upstream.requests[0]!.path, '/gw/openai/v1/chat/completions');
  });

  test('passthrough forwards the client credential; none strips every credential', async () => {
    upstream.reset();
    await send(stack.url, 'POST', '/direct/anthropic/v1/messages', JSON.stringify({ model: 'claude-opus-4-8', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }), { 'x-api-key': FAKE.anthropicKey });
    assert.deepEqual(credentials(upstream.requests[0]!.headers), { 'x-api-key': FAKE.anthropicKey });
    await send(stack.url, 'GET', '/direct/local/v1/models', undefined, { authorization: `Bearer ${FAKE.openaiKey}` });
    assert.deepEqual(credentials(upstream.requests[1]!.headers), {});
  });

  test('a keyfile provider: the minted token, and the Vertex placeholders filled', async () => {
    upstream.reset();
    const r = await send(stack.url, 'POST', '/direct/vertex/v1/projects/_aperture_auto_vertex_project_id_/locations/_aperture_auto_vertex_region_/publishers/google/models/text-embedding-005:predict', '{"instances":[{"content":"hi"}]}', { 'x-goog-api-key': FAKE.googleKey });
    assert.equal(r.status, 404);
    const got = upstream.requests[0]!;
    assert.equal(got.path, '/v1/projects/direct-project/locations/global/publishers/google/models/text-embedding-005:predict');
    const token = upstream.oauth.exchanges.find((e) => e.ok && e.clientEmail === keyfileEmail)!.token;
    assert.deepEqual(credentials(got.headers), { authorization: `Bearer ${token}` });
  });

  test('refusals forward nothing: unknown or disabled provider 404, no grant 403, dot segments 400', async () => {
    upstream.reset();
    const cases: Array<[string, number, RegExp]> = [
      ['/direct/nope/v1/models', 404, /no provider "nope"/],
      ['/direct/off/v1/models', 404, /no provider "off"/],
      ['/direct/hidden/v1/models', 403, /needs a grant for at least one model of provider hidden/],
      ['/direct/openai/../hidden/v1/models', 400, /"\." or "\.\."/],
      ['/direct/openai/v1/%2e%2e/admin', 400, /"\." or "\.\."/],
      ['/direct/openai/v1/a%2Fb', 400, /encoded slashes/],
    ];
    for (const [path, status, message] of cases) {
      const r = await send(stack.url, 'GET', path);
      assert.equal(r.status, status, `${path}: ${r.text}`);
      assert.match(JSON.parse(r.text).error.message, message, path);
    }
    assert.equal(upstream.requests.length, 0);
  });

  test('recorded as direct calls: path, status, bytes, identity; no usage', async () => {
    upstream.reset();
    const body = '{"input":"count these bytes"}';
    const r = await send(stack.url, 'POST', '/direct/openai/v1/moderations?x=1', body);
    await stack.keyway.telemetry!.recorder.flush();
    const { requests } = (await (await fetch(`${stack.url}/api/requests?limit=100`)).json()) as { requests: any[] };
    const rec = requests.find((q) => q.path === '/direct/openai/v1/moderations?x=1');
    assert.ok(rec, 'recorded');
    assert.equal(rec.format, 'direct');
    assert.equal(rec.provider, 'openai');
    assert.equal(rec.status, 404);
    assert.equal(rec.requestBytes, Buffer.byteLength(body));
    assert.equal(rec.responseBytes, Buffer.byteLength(r.text));
    assert.equal(rec.usage, null);
    assert.equal(rec.credentialSource, 'provider');
    assert.ok(rec.login);
    const refused = requests.find((q) => q.path === '/direct/hidden/v1/models');
    assert.equal(refused?.status, 403);
    assert.equal(refused?.errorCode, 'NO_DIRECT_GRANT');
  });
});

describe('/direct without a role', () => {
  test('403, nothing forwarded', async () => {
    const stack = await startStack((u) => configText({ openai: { baseurl: u, apikey: FAKE.providerKey, models: ['gpt-5'] } }, [{ src: ['(loopback)'], app: { [CAP]: [{ models: '**' }] } }]));
    try {
      const r = await postJson(`${stack.url}/direct/openai/v1/embeddings`, { input: 'x' });
      assert.equal(r.status, 403);
      assert.match(r.json.error.message, /no role/);
      assert.equal(stack.upstream.requests.length, 0);
    } finally {
      await stack.close();
    }
  });
});
