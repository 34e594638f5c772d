/**
 * Vertex AI through keyway: both publishers (Gemini by generateContent, Claude by
 * rawPredict), the project and region placeholders, path segments checked and encoded,
 * `keyfile::` service accounts exchanged for tokens at the keyfile's own token_uri (a mock
 * endpoint that verifies the JWT signature), token caching and single flight, failed
 * exchanges, passthrough with the keyfile as fallback, Gemini CLI's short paths, /v1/models,
 * the Test button, and no secret in any answer, log or the database.
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../src/log.js';
import { startMockUpstream, type IssuedKeyfile, type MockUpstream } from '../src/mock-upstream/index.js';
import { FAKE, configText, postJson, startStack, type Stack } from './helpers.js';

const P = '_aperture_auto_vertex_project_id_';
const R = '_aperture_auto_vertex_region_';
const GEMINI = 'gemini-2.5-flash';
const CLAUDE = 'claude-sonnet-4-5@20250929';
const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'x-goog-api-key', 'api-key'];

const geminiBody = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };
const claudeBody = { anthropic_version: 'vertex-2023-10-16', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] };
const vertexPath = (publisher: string, model: string, method: string, project = P, region = R, version = 'v1') =>
  `/${version}/projects/${project}/locations/${region}/publishers/${publisher}/models/${model}:${method}`;

function credentials(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(CREDENTIAL_HEADERS.filter((h) => headers[h] !== undefined).map((h) => [h, headers[h]!]));
}

/** geminiText joins the text of a Gemini SSE stream. */
function geminiText(sse: string): string {
  return sse
    .split('\r\n\r\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => JSON.parse(e.slice(6)).candidates[0].content.parts[0].text as string)
    .join('');
}

/** rawPost sends a path exactly as written (fetch would resolve `%2e%2e` segments first). */
function rawPost(base: string, path: string, body: unknown): Promise<{ status: number; text: string; json: any }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, text, json });
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** A log sink whose lines tests can search. */
function logSink() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, log: createLogger('debug', stream) };
}

describe('Vertex AI with a keyfile:: service account', () => {
  let upstream: MockUpstream;
  let stack: Stack;
  let key: IssuedKeyfile;
  let fresh: IssuedKeyfile;
  let shortLived: IssuedKeyfile;
  let failing: IssuedKeyfile;
  let mismatched: string;
  const sink = logSink();

  before(async () => {
    upstream = await startMockUpstream();
    key = upstream.oauth.issueKeyfile({ projectId: 'test-project-1' });
    fresh = upstream.oauth.issueKeyfile({ projectId: 'test-project-2' });
    shortLived = upstream.oauth.issueKeyfile({ projectId: 'test-project-3', expiresIn: 4 });
    failing = upstream.oauth.issueKeyfile({ projectId: 'test-project-4' });
    // A keyfile whose private key is not the one registered for its client_email.
    const other = upstream.oauth.issueKeyfile();
    mismatched = `keyfile::${Buffer.from(JSON.stringify({ ...key.json, private_key: other.json.private_key })).toString('base64')}`;
    const vertex = (apikey: string, extra: Record<string, unknown> = {}) => ({
      baseurl: upstream.url,
      apikey,
      models: [GEMINI, CLAUDE],
      compatibility: { google_generate_content: true, google_raw_predict: true },
      ...extra,
    });
    stack = await startStack(
      () =>
        configText({
          vertex: vertex(key.apikey, { cost_basis: 'vertex', compatibility: { google_generate_content: true, google_raw_predict: true, experimental_gemini_cli_vertex_compat: true } }),
          fresh: vertex(fresh.apikey, { models: ['gemini-2.5-pro'] }),
          short: vertex(shortLived.apikey, { models: ['gemini-2.0-flash'] }),
          forged: vertex(mismatched, { models: ['gemini-forged'] }),
          failing: vertex(failing.apikey, { models: ['gemini-failing', 'claude-failing'] }),
          unreachable: vertex(
            `keyfile::${Buffer.from(JSON.stringify({ ...key.json, token_uri: 'http://127.0.0.1:9/token' })).toString('base64')}`,
            { models: ['gemini-unreachable'] },
          ),
          pass: vertex(key.apikey, { auth_mode: 'passthrough', models: ['gemini-pass'] }),
          'pass-nokey': { baseurl: upstream.url, auth_mode: 'passthrough', models: ['gemini-nokey'], compatibility: { google_generate_content: true } },
          plain: { baseurl: upstream.url, models: ['gemini-plain'], compatibility: { google_generate_content: true } },
        }),
      { upstream, log: sink.log },
    );
  });
  after(async () => {
    await stack?.close();
    await upstream?.close();
  });

  test('generateContent: placeholders filled (keyfile project, region global), exactly one credential: the minted token', async () => {
    upstream.reset();
    const r = await postJson(`${stack.url}${vertexPath('google', GEMINI, 'generateContent')}?key=${FAKE.googleKey}&alt=json`, geminiBody, {
      authorization: 'Bearer ya29.client-test-token',
      'x-goog-api-key': FAKE.googleKey,
      'x-api-key': FAKE.anthropicKey,
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.candidates[0].content.parts[0].text, `MOCK_OK (gemini ${GEMINI})`);
    const got = upstream.requests[0]!;
    assert.equal(got.path, `/v1/projects/test-project-1/locations/global/publishers/google/models/${GEMINI}:generateContent`);
    assert.equal(got.query, '?alt=json', 'the client key is removed from the query, the rest kept');
    const issued = upstream.oauth.exchanges.filter((e) => e.ok && e.clientEmail === key.clientEmail);
    assert.equal(issued.length, 1);
    assert.deepEqual(credentials(got.headers), { authorization: `Bearer ${issued[0]!.token}` });
    // The assertion the token endpoint verified: issuer, audience, scope, lifetime.
    const claims = issued[0]!.claims!;
    assert.equal(claims.iss, key.clientEmail);
    assert.equal(claims.aud, key.json.token_uri);
    assert.ok(String(claims.scope).split(' ').includes('https://www.googleapis.com/auth/cloud-platform'));
    assert.ok(Number(claims.exp) - Number(claims.iat) <= 3600);
  });

  test('streamGenerateContent?alt=sse streams; countTokens; /v1beta1/ and a named project and region are kept', async () => {
    upstream.reset();
    const res = await fetch(`${stack.url}${vertexPath('google', GEMINI, 'streamGenerateContent', 'my-named-project', 'us-east5', 'v1beta1')}?alt=sse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(geminiBody),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const text = await res.text();
    assert.ok(text.split('data: ').length > 2, 'several events');
    assert.equal(geminiText(text), `MOCK_OK (gemini ${GEMINI})`);
    assert.equal(upstream.requests[0]!.path, `/v1beta1/projects/my-named-project/locations/us-east5/publishers/google/models/${GEMINI}:streamGenerateContent`);
    assert.equal(upstream.requests[0]!.query, '?alt=sse');

    const count = await postJson(`${stack.url}${vertexPath('google', GEMINI, 'countTokens')}`, geminiBody);
    assert.equal(count.status, 200);
    assert.ok(count.json.totalTokens > 0);
  });

  test('rawPredict: the model segment keeps its raw @, the body goes upstream byte for byte', async () => {
    upstream.reset();
    const text = `{"anthropic_version":"vertex-2023-10-16",  "max_tokens":32,"messages":[{"role":"user","content":"hi"}], "n":1.0}`;
    const res = await fetch(`${stack.url}${vertexPath('anthropic', CLAUDE, 'rawPredict')}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
    const body = (await res.json()) as { content: Array<{ text: string }>; usage: { input_tokens: number } };
    assert.equal(res.status, 200);
    assert.equal(body.content[0]!.text, `MOCK_OK (anthropic ${CLAUDE})`);
    const got = upstream.requests[0]!;
    assert.equal(got.path, `/v1/projects/test-project-1/locations/global/publishers/anthropic/models/${CLAUDE}:rawPredict`);
    assert.equal(got.body, text, 'anthropic_version kept, no model or stream added');
    assert.match(got.headers.authorization ?? '', /^Bearer ya29\.test-mock-/);
  });

  test('streamRawPredict: Anthropic events relayed as they come', async () => {
    upstream.reset();
    const res = await fetch(`${stack.url}${vertexPath('anthropic', CLAUDE, 'streamRawPredict')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...claudeBody, stream: true }),
    });
    assert.equal(res.status, 200);
    const events = await res.text();
    assert.match(events, /event: message_start/);
    assert.match(events, /event: content_block_delta/);
    assert.match(events, /event: message_stop/);
    assert.equal(upstream.requests[0]!.path, `/v1/projects/test-project-1/locations/global/publishers/anthropic/models/${CLAUDE}:streamRawPredict`);
  });

  test("Claude's count-tokens: the model is in the body (provider prefix removed), the URL keeps count-tokens", async () => {
    upstream.reset();
    const r = await postJson(`${stack.url}${vertexPath('anthropic', 'count-tokens', 'rawPredict')}`, { model: `vertex/${CLAUDE}`, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.input_tokens > 0);
    const got = upstream.requests[0]!;
    assert.equal(got.path, '/v1/projects/test-project-1/locations/global/publishers/anthropic/models/count-tokens:rawPredict');
    assert.equal((got.json as { model: string }).model, CLAUDE);
  });

  test('a provider-prefixed model in the URL, raw or encoded, reaches the upstream as one segment', async () => {
    for (const model of [`vertex/${CLAUDE}`, `vertex%2F${CLAUDE}`]) {
      upstream.reset();
      const r = await postJson(`${stack.url}${vertexPath('anthropic', model, 'rawPredict')}`, claudeBody);
      assert.equal(r.status, 200, r.text);
      assert.equal(upstream.requests[0]!.path, `/v1/projects/test-project-1/locations/global/publishers/anthropic/models/${CLAUDE}:rawPredict`);
    }
  });

  test('bad segments, unknown models and other publishers: Google error envelopes, nothing forwarded', async () => {
    upstream.reset();
    const cases: Array<[string, number, string]> = [
      [vertexPath('google', GEMINI, 'generateContent', '%2e%2e'), 400, 'INVALID_ARGUMENT'],
      [vertexPath('google', GEMINI, 'generateContent', P, 'us%2Fx'), 400, 'INVALID_ARGUMENT'],
      [vertexPath('google', GEMINI, 'generateContent', P, '%ZZ'), 400, 'INVALID_ARGUMENT'],
      [vertexPath('google', 'gemini%0Abad', 'generateContent'), 400, 'INVALID_ARGUMENT'],
      [vertexPath('google', '..', 'generateContent'), 400, 'INVALID_ARGUMENT'],
      [vertexPath('google', 'gemini-nope', 'generateContent'), 404, 'NOT_FOUND'],
      [vertexPath('anthropic', 'claude-nope@1', 'rawPredict'), 404, 'NOT_FOUND'],
      [vertexPath('meta', 'llama', 'rawPredict'), 404, 'NOT_FOUND'],
      [vertexPath('google', GEMINI, 'predict'), 404, 'NOT_FOUND'],
    ];
    for (const [path, status, googleStatus] of cases) {
      const r = await rawPost(stack.url, path, geminiBody);
      assert.equal(r.status, status, `${path}: ${r.text}`);
      assert.equal(r.json.error.code, status, path);
      assert.equal(r.json.error.status, googleStatus, path);
      assert.equal(typeof r.json.error.message, 'string');
    }
    assert.equal(upstream.requests.length, 0);
  });

  test('one exchange serves many concurrent requests', async () => {
    upstream.reset();
    upstream.oauth.delayMs = 150;
    try {
      const results = await Promise.all(Array.from({ length: 20 }, () => postJson(`${stack.url}${vertexPath('google', 'gemini-2.5-pro', 'generateContent')}`, geminiBody)));
      assert.deepEqual([...new Set(results.map((r) => r.status))], [200]);
    } finally {
      upstream.oauth.delayMs = 0;
    }
    const exchanges = upstream.oauth.exchanges.filter((e) => e.clientEmail === fresh.clientEmail);
    assert.equal(exchanges.length, 1);
    assert.equal(new Set(upstream.requests.map((r) => r.headers.authorization)).size, 1);
    assert.equal(upstream.requests[0]!.headers.authorization, `Bearer ${exchanges[0]!.token}`);
  });

  test('a token is used until shortly before expires_in, then a new one is minted', async () => {
    upstream.reset();
    const call = () => postJson(`${stack.url}${vertexPath('google', 'gemini-2.0-flash', 'generateContent')}`, geminiBody);
    assert.equal((await call()).status, 200);
    assert.equal((await call()).status, 200);
    const mine = () => upstream.oauth.exchanges.filter((e) => e.clientEmail === shortLived.clientEmail && e.ok);
    assert.equal(mine().length, 1, 'the second request reuses the token');
    await sleep(3_700); // the token lives 4 s; keyway stops using it in its last tenth (3.6 s)
    const r = await call();
    assert.equal(r.status, 200, r.text);
    assert.equal(mine().length, 2, 'a new token was minted');
    assert.equal(upstream.requests.at(-1)!.headers.authorization, `Bearer ${mine()[1]!.token}`);
  });

  test("a refused exchange is a 502 in the caller's envelope with the token server's message, and the next request retries", async () => {
    upstream.reset();
    upstream.oauth.fail = { status: 400, error: 'invalid_grant', description: 'Account disabled for the test.' };
    try {
      const gemini = await postJson(`${stack.url}${vertexPath('google', 'gemini-failing', 'generateContent')}`, geminiBody);
      assert.equal(gemini.status, 502);
      assert.equal(gemini.json.error.code, 502);
      assert.equal(gemini.json.error.status, 'UNAVAILABLE');
      assert.match(gemini.json.error.message, /provider failing/);
      assert.match(gemini.json.error.message, /\(400\): invalid_grant: Account disabled for the test\./);
      const claude = await postJson(`${stack.url}${vertexPath('anthropic', 'claude-failing', 'streamRawPredict')}`, { ...claudeBody, stream: true });
      assert.equal(claude.status, 502);
      assert.equal(claude.json.error.status, 'UNAVAILABLE', 'Google envelope on the Anthropic publisher too');
      for (const r of [gemini, claude]) {
        for (const secret of [failing.apikey.slice(20, 80), 'PRIVATE KEY', 'assertion', 'eyJ']) assert.ok(!r.text.includes(secret), secret);
      }
    } finally {
      upstream.oauth.fail = undefined;
    }
    assert.equal(upstream.requests.length, 0, 'nothing forwarded without a credential');
    const retry = await postJson(`${stack.url}${vertexPath('google', 'gemini-failing', 'generateContent')}`, geminiBody);
    assert.equal(retry.status, 200, retry.text);
  });

  test('the token endpoint verifies the signature: a keyfile signed with another key is refused', async () => {
    upstream.reset();
    const r = await postJson(`${stack.url}${vertexPath('google', 'gemini-forged', 'generateContent')}`, geminiBody);
    assert.equal(r.status, 502, r.text);
    assert.match(r.json.error.message, /invalid_grant: Invalid JWT Signature\./);
    const refused = upstream.oauth.exchanges.filter((e) => !e.ok && e.clientEmail === key.clientEmail);
    assert.equal(refused.at(-1)?.error, 'invalid_grant: Invalid JWT Signature.');
    assert.equal(upstream.requests.length, 0);
  });

  test('an unreachable token_uri is a 502 that says so', async () => {
    const r = await postJson(`${stack.url}${vertexPath('google', 'gemini-unreachable', 'generateContent')}`, geminiBody);
    assert.equal(r.status, 502);
    assert.match(r.json.error.message, /token server http:\/\/127\.0\.0\.1:9\/token could not be reached/);
  });

  test('passthrough: the client credential goes unchanged (project still from the keyfile); without one the keyfile is the fallback', async () => {
    upstream.reset();
    const before = upstream.oauth.exchanges.length;
    const own = await postJson(`${stack.url}${vertexPath('google', 'gemini-pass', 'generateContent')}`, geminiBody, { authorization: 'Bearer ya29.client-test-token' });
    assert.equal(own.status, 200, own.text);
    assert.equal(upstream.requests[0]!.path, '/v1/projects/test-project-1/locations/global/publishers/google/models/gemini-pass:generateContent');
    assert.deepEqual(credentials(upstream.requests[0]!.headers), { authorization: 'Bearer ya29.client-test-token' });
    const fallback = await postJson(`${stack.url}${vertexPath('google', 'gemini-pass', 'generateContent')}`, geminiBody);
    assert.equal(fallback.status, 200, fallback.text);
    assert.match(upstream.requests[1]!.headers.authorization ?? '', /^Bearer ya29\.test-mock-/);
    assert.ok(upstream.oauth.exchanges.length <= before + 1, 'the keyfile token is shared with provider vertex (same keyfile)');
  });

  test('the project placeholder without a keyfile project is a clear 400; a named project works', async () => {
    upstream.reset();
    const r = await postJson(`${stack.url}${vertexPath('google', 'gemini-nokey', 'generateContent')}`, geminiBody, { authorization: 'Bearer ya29.client-test-token' });
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /_aperture_auto_vertex_project_id_/);
    assert.match(r.json.error.message, /pass-nokey/);
    const named = await postJson(`${stack.url}${vertexPath('google', 'gemini-plain', 'generateContent', 'my-project', 'europe-west4')}`, geminiBody);
    assert.equal(named.status, 200);
    assert.equal(upstream.requests[0]!.path, '/v1/projects/my-project/locations/europe-west4/publishers/google/models/gemini-plain:generateContent');
  });

  test("Gemini CLI's short paths: rewritten to the keyfile's project, the ids Vertex rejects removed", async () => {
    upstream.reset();
    const body = {
      contents: [
        { role: 'user', parts: [{ text: 'list files' }] },
        { role: 'model', parts: [{ functionCall: { id: 'call-1', name: 'list_directory', args: { dir_path: '.' } }, thoughtSignature: 'skip_thought_signature_validator' }] },
        { role: 'user', parts: [{ functionResponse: { id: 'call-1', name: 'list_directory', response: { output: 'a.txt' } } }] },
      ],
      generationConfig: { temperature: 1, thinkingConfig: { includeThoughts: true } },
    };
    const res = await fetch(`${stack.url}/v1beta1/publishers/google/models/${GEMINI}:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': 'not-needed' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    assert.equal(geminiText(await res.text()), 'TOOL_RESULT_SEEN: a.txt');
    const got = upstream.requests[0]!;
    assert.equal(got.path, `/v1beta1/projects/test-project-1/locations/global/publishers/google/models/${GEMINI}:streamGenerateContent`);
    assert.equal(got.query, '?alt=sse');
    assert.deepEqual(Object.keys(credentials(got.headers)), ['authorization'], 'the placeholder key is gone, the minted token is there');
    const sent = got.json as typeof body;
    assert.deepEqual(sent.contents[1]!.parts[0], { functionCall: { name: 'list_directory', args: { dir_path: '.' } }, thoughtSignature: 'skip_thought_signature_validator' });
    assert.deepEqual(sent.contents[2]!.parts[0], { functionResponse: { name: 'list_directory', response: { output: 'a.txt' } } });
    assert.deepEqual(sent.generationConfig, body.generationConfig);

    // A body without such ids goes through byte for byte.
    upstream.reset();
    const plain = `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],  "generationConfig":{"temperature":1.0}}`;
    const r = await fetch(`${stack.url}/v1/publishers/google/models/${GEMINI}:generateContent`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: plain });
    assert.equal(r.status, 200);
    assert.equal(upstream.requests[0]!.body, plain);
    assert.equal(upstream.requests[0]!.path, `/v1/projects/test-project-1/locations/global/publishers/google/models/${GEMINI}:generateContent`);
  });

  test('short paths need the compatibility flag', async () => {
    const r = await postJson(`${stack.url}/v1beta1/publishers/google/models/gemini-2.5-pro:generateContent`, geminiBody);
    assert.equal(r.status, 404);
    assert.equal(r.json.error.status, 'NOT_FOUND');
  });

  test('/v1/models: the reference endpoint strings, upstream vertex, prices', async () => {
    const res = await fetch(`${stack.url}/v1/models`);
    const rows = ((await res.json()) as { data: any[] }).data.filter((r) => r.metadata.provider.id === 'vertex');
    assert.deepEqual(rows.map((r) => r.id), [GEMINI, CLAUDE]);
    assert.deepEqual(rows[0].supported_endpoints, [
      '/v1/projects/{project}/locations/{region}/publishers/google/models/{model}:generateContent',
      '/v1/projects/{project}/locations/{region}/publishers/anthropic/models/{model}:rawPredict',
      '/v1beta1/publishers/google/models/{model}:generateContent',
    ]);
    assert.equal(rows[0].metadata.provider.upstream, 'vertex');
    assert.ok(Number(rows[0].pricing.input) > 0, 'Gemini priced from the Vertex price list');
    assert.ok(Number(rows[1].pricing.output) > 0, 'Claude on Vertex priced too');
  });

  test('the Test button speaks generateContent to Gemini and rawPredict to Claude, with the minted token', async () => {
    for (const [model, path] of [
      [GEMINI, `/v1/projects/test-project-1/locations/global/publishers/google/models/${GEMINI}:generateContent`],
      [CLAUDE, `/v1/projects/test-project-1/locations/global/publishers/anthropic/models/${CLAUDE}:rawPredict`],
    ] as const) {
      upstream.reset();
      const r = await postJson(`${stack.url}/api/models/test`, { provider: 'vertex', model });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.ok, true, r.text);
      assert.match(r.json.text, /MOCK_OK/);
      assert.equal(upstream.requests[0]!.path, path);
      assert.match(upstream.requests[0]!.headers.authorization ?? '', /^Bearer ya29\.test-mock-/);
      if (model === CLAUDE) assert.equal((upstream.requests[0]!.json as { anthropic_version: string }).anthropic_version, 'vertex-2023-10-16');
    }
    const failing = await postJson(`${stack.url}/api/models/test`, { provider: 'unreachable', model: 'gemini-unreachable' });
    assert.equal(failing.status, 200);
    assert.equal(failing.json.ok, false);
    assert.match(failing.json.error, /could not be reached/);
  });

  test('chat streams from both publishers, each in its own API', async () => {
    const models = (await (await fetch(`${stack.url}/api/chat/models`)).json()) as { models: Array<{ id: string; format: string }> };
    assert.equal(models.models.find((m) => m.id === `vertex/${CLAUDE}`)?.format, 'google_raw_predict');
    assert.equal(models.models.find((m) => m.id === `vertex/${GEMINI}`)?.format, 'google_generate_content');
    const conv = (await postJson(`${stack.url}/api/chat/conversations`, {})).json as { id: string };
    for (const [model, path, query] of [
      [CLAUDE, `/v1/projects/test-project-1/locations/global/publishers/anthropic/models/${CLAUDE}:streamRawPredict`, ''],
      [GEMINI, `/v1/projects/test-project-1/locations/global/publishers/google/models/${GEMINI}:streamGenerateContent`, '?alt=sse'],
    ] as const) {
      upstream.reset();
      const res = await fetch(`${stack.url}/api/chat/conversations/${conv.id}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'hello MOCK:chunks=4', model: `vertex/${model}` }),
      });
      assert.equal(res.status, 200);
      const events = (await res.text()).split('\n\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
      const deltas = events.filter((e) => e.type === 'delta');
      assert.ok(deltas.length >= 2, `${model}: ${deltas.length} deltas`);
      assert.match(deltas.map((d) => d.text).join(''), /^MOCK_OK \((anthropic|gemini) /);
      assert.equal(events.at(-1).type, 'done');
      assert.equal(upstream.requests[0]!.path, path);
      assert.equal(upstream.requests[0]!.query, query);
    }
  });

  test('usage and cost are recorded with cost basis vertex; no token or key anywhere', async () => {
    await stack.keyway.telemetry!.recorder.flush();
    const list = (await (await fetch(`${stack.url}/api/requests?limit=500&provider=vertex`)).json()) as { requests: any[] };
    const gemini = list.requests.find((r) => r.format === 'google_generate_content' && r.status === 200 && r.usage);
    const claude = list.requests.find((r) => r.format === 'google_raw_predict' && r.status === 200 && r.usage);
    assert.ok(gemini && claude);
    assert.ok(gemini.usage.inputTokens > 0 && gemini.usage.outputTokens > 0);
    assert.match(gemini.costBasis, /^vertex\//);
    assert.ok(gemini.costUsd > 0);
    assert.match(claude.costBasis, /^vertex\/claude/);
    assert.equal(claude.credentialSource, 'provider');

    const tokens = upstream.oauth.exchanges.filter((e) => e.token).map((e) => e.token!);
    assert.ok(tokens.length >= 3);
    const secrets = [...tokens, key.apikey.slice(9, 200), key.json.private_key.split('\n')[1]!, fresh.json.private_key.split('\n')[2]!];
    const files = (await readdir(stack.dataDir)).filter((f) => f.startsWith('keyway.db'));
    const haystacks = [sink.lines.join('\n'), ...(await Promise.all(files.map((f) => readFile(join(stack.dataDir, f), 'latin1'))))];
    for (const path of ['/api/requests?limit=500', '/v1/models', '/api/providers', '/api/config', '/aperture/config']) {
      haystacks.push(await (await fetch(`${stack.url}${path}`)).text());
    }
    for (const secret of secrets) {
      for (const h of haystacks) assert.ok(!h.includes(secret), `a secret (${secret.slice(0, 12)}…) leaked`);
    }
    assert.ok(sink.lines.some((l) => l.includes('"provider":"vertex"')), 'the logs do cover these requests');
  });
});

describe('keyfile:: in the configuration', () => {
  test('the admin API masks the keyfile, and a masked save keeps it working', async () => {
    const upstream = await startMockUpstream();
    const key = upstream.oauth.issueKeyfile({ projectId: 'masked-project' });
    const stack = await startStack(() => configText({ vertex: { baseurl: upstream.url, apikey: key.apikey, models: [GEMINI], compatibility: { google_generate_content: true } } }), { upstream });
    try {
      const read = (await (await fetch(`${stack.url}/api/config`)).json()) as { config: string; hash: string };
      assert.ok(!read.config.includes(key.apikey.slice(9, 60)));
      assert.ok(read.config.includes('"apikey": "********"'));
      const edited = read.config.replace(`"${GEMINI}"`, `"${GEMINI}", "gemini-2.5-pro"`);
      const put = await fetch(`${stack.url}/api/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config: edited, hash: read.hash }) });
      assert.equal(put.status, 200, await put.text());
      const r = await postJson(`${stack.url}${vertexPath('google', 'gemini-2.5-pro', 'generateContent')}`, geminiBody);
      assert.equal(r.status, 200, r.text);
      assert.equal(upstream.requests.at(-1)!.path, '/v1/projects/masked-project/locations/global/publishers/google/models/gemini-2.5-pro:generateContent');
      assert.ok((await readFile(stack.configPath, 'utf8')).includes(key.apikey), 'the real keyfile stays on disk');
    } finally {
      await stack.close();
      await upstream.close();
    }
  });
});
