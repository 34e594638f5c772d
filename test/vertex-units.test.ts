/**
 * The pure parts of Vertex support: keyfile reading and its validation messages, Vertex
 * path parsing and rebuilding, the Gemini CLI body clean-up, the upstream name, and the
 * token cache's lifetime rules against an injected clock and a counting token server.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { compileSnapshot } from '../src/config/snapshot.js';
import { validateConfigText } from '../src/config/validate.js';
import { stripVertexRejectedFields } from '../src/formats/gemini-cli-vertex.js';
import { matchRoute } from '../src/formats/registry.js';
import { parseVertexPath } from '../src/formats/vertex-path.js';
import { GatewayError } from '../src/errors.js';
import { parseKeyfile } from '../src/upstream/credentials/keyfile.js';
import { ServiceAccountTokens } from '../src/upstream/credentials/service-account.js';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const keyJson = (extra: Record<string, unknown> = {}) => ({
  type: 'service_account',
  project_id: 'unit-project',
  private_key_id: 'test-kid',
  private_key: PEM,
  client_email: 'unit-test@unit-project.iam.gserviceaccount.com',
  token_uri: 'https://oauth2.googleapis.com/token',
  ...extra,
});
const keyfile = (json: unknown) => `keyfile::${Buffer.from(typeof json === 'string' ? json : JSON.stringify(json)).toString('base64')}`;

describe('keyfile:: apikeys', () => {
  test('parseKeyfile reads a service-account key, standard or URL-safe base64, with line breaks', () => {
    const plain = parseKeyfile(keyfile(keyJson()));
    assert.ok('keyfile' in plain);
    assert.equal(plain.keyfile.projectId, 'unit-project');
    assert.equal(plain.keyfile.clientEmail, 'unit-test@unit-project.iam.gserviceaccount.com');
    assert.equal(plain.keyfile.privateKeyId, 'test-kid');
    const urlSafe = keyfile(keyJson()).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    assert.ok('keyfile' in parseKeyfile(urlSafe));
    const wrapped = `keyfile::${Buffer.from(JSON.stringify(keyJson())).toString('base64').replace(/(.{76})/g, '$1\n')}`;
    assert.ok('keyfile' in parseKeyfile(wrapped));
    const noTokenUri = parseKeyfile(keyfile(keyJson({ token_uri: undefined })));
    assert.ok('keyfile' in noTokenUri && noTokenUri.keyfile.tokenUri === 'https://oauth2.googleapis.com/token');
  });

  test('parseKeyfile says what is wrong, never quoting the key', () => {
    const cases: Array<[string, RegExp]> = [
      ['keyfile::not base64!', /not base64/],
      [keyfile('{"client_email": '), /not JSON/],
      [keyfile('[1,2]'), /not a JSON object/],
      [keyfile(keyJson({ type: 'authorized_user' })), /"authorized_user", not "service_account"/],
      [keyfile(keyJson({ client_email: '' })), /no client_email/],
      [keyfile(keyJson({ private_key: 'sk-test-not-a-pem' })), /no private_key/],
      [keyfile(keyJson({ token_uri: 'file:///etc/passwd' })), /token_uri is not an http/],
    ];
    for (const [apikey, want] of cases) {
      const r = parseKeyfile(apikey);
      assert.ok('error' in r, apikey.slice(0, 40));
      assert.match(r.error, want);
      assert.ok(!r.error.includes(PEM.split('\n')[1]!) && !r.error.includes('sk-test'), r.error);
    }
  });

  const doc = (apikey: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      providers: { vertex: { baseurl: 'https://aiplatform.googleapis.com', apikey, models: ['gemini-2.5-flash'], compatibility: { google_generate_content: true }, ...extra } },
      grants: [{ src: ['*'], app: { 'tailscale.com/cap/aperture': [{ role: 'admin' }, { models: '**' }] } }],
    });

  test('a keyfile provider needs no authorization field and validates without warnings', () => {
    const { config, problems } = validateConfigText(doc(keyfile(keyJson())));
    assert.deepEqual(problems.filter((p) => p.severity !== 'info'), []);
    assert.equal(config!.providers[0]!.keyfile?.projectId, 'unit-project');
  });

  test('a bad keyfile is an error that names the provider: the document is refused', () => {
    const { config, problems } = validateConfigText(doc(keyfile(keyJson({ private_key: 'nope' }))));
    const p = problems.find((x) => x.severity === 'error');
    assert.ok(p);
    assert.equal(p.path, 'providers.vertex.apikey');
    assert.match(p.message, /^provider vertex has an invalid keyfile:: apikey/);
    assert.equal(config, undefined);
  });

  test('a keyfile without project_id is noted; an authorization style beside a keyfile is noted as unused', () => {
    const { problems } = validateConfigText(doc(keyfile(keyJson({ project_id: undefined })), { authorization: 'x-goog-api-key' }));
    const infos = problems.filter((p) => p.severity === 'info').map((p) => p.message);
    assert.ok(infos.some((m) => /no project_id/.test(m)));
    assert.ok(infos.some((m) => /authorization is not used with a keyfile/.test(m)));
    assert.equal(problems.filter((p) => p.severity === 'warning').length, 0);
  });

  test('compiled: no ready key header, a minted credential instead, upstream "vertex" for aiplatform hosts', () => {
    const { config, problems } = validateConfigText(doc(keyfile(keyJson())));
    const vertex = compileSnapshot('x', config!, problems).providers.get('vertex')!;
    assert.equal(vertex.keyHeader, undefined);
    assert.equal(vertex.minted?.kind, 'google-service-account');
    assert.equal(vertex.upstream, 'vertex');
    for (const host of ['us-east5-aiplatform.googleapis.com', 'aiplatform.eu.rep.googleapis.com']) {
      const c = validateConfigText(doc('sk-test-key', { baseurl: `https://${host}` })).config!;
      assert.equal(compileSnapshot('x', c, []).providers.get('vertex')!.upstream, 'vertex', host);
    }
    const gemini = validateConfigText(doc('sk-test-key', { baseurl: 'https://generativelanguage.googleapis.com' })).config!;
    assert.equal(compileSnapshot('x', gemini, []).providers.get('vertex')!.upstream, 'google');
  });
});

describe('Vertex paths', () => {
  test('full and short forms, both versions; anything else is not Vertex', () => {
    assert.deepEqual(parseVertexPath('/v1/projects/p1/locations/us-east5/publishers/anthropic/models/claude-x@2025:streamRawPredict'), {
      version: 'v1', project: 'p1', location: 'us-east5', publisher: 'anthropic', model: 'claude-x@2025', method: 'streamRawPredict',
    });
    assert.deepEqual(parseVertexPath('/v1beta1/publishers/google/models/gemini-2.5-flash:countTokens'), {
      version: 'v1beta1', project: undefined, location: undefined, publisher: 'google', model: 'gemini-2.5-flash', method: 'countTokens',
    });
    for (const path of ['/v1beta/models/x:generateContent', '/v2/projects/p/locations/l/publishers/google/models/m:generateContent', '/v1/projects/p/locations/l/publishers/google/m:generateContent', '/v1/projects/p/publishers/google/models/m:generateContent', '/v1/projects/p/locations/l/publishers/google/models/m']) {
      assert.equal(parseVertexPath(path), undefined, path);
    }
    assert.throws(() => parseVertexPath('/v1/projects/../locations/l/publishers/google/models/m:generateContent'), (e: unknown) => e instanceof GatewayError && e.code === 'BAD_PATH_SEGMENT');
    assert.throws(() => parseVertexPath('/v1/projects/p/locations/%00/publishers/google/models/m:generateContent'), (e: unknown) => e instanceof GatewayError && e.code === 'BAD_PATH_SEGMENT');
  });

  test('routes: publisher and method pick the format; count-tokens takes its model from the body', () => {
    assert.equal(matchRoute('/v1/projects/p/locations/l/publishers/google/models/m:streamGenerateContent')?.format.flag, 'google_generate_content');
    assert.equal(matchRoute('/v1/projects/p/locations/l/publishers/google/models/m:streamGenerateContent')?.urlStreams, true);
    assert.equal(matchRoute('/v1/projects/p/locations/l/publishers/anthropic/models/m:rawPredict')?.format.flag, 'google_raw_predict');
    assert.equal(matchRoute('/v1beta1/publishers/google/models/m:generateContent')?.format.flag, 'experimental_gemini_cli_vertex_compat');
    const counting = matchRoute('/v1/projects/p/locations/l/publishers/anthropic/models/count-tokens:rawPredict')!;
    assert.equal(counting.urlModel, undefined);
    assert.equal(matchRoute('/v1/projects/p/locations/l/publishers/anthropic/models/m:generateContent'), undefined);
    assert.equal(matchRoute('/v1/publishers/anthropic/models/m:rawPredict'), undefined, 'no short form for Claude');
  });
});

describe('Gemini CLI body clean-up', () => {
  test('removes id from functionCall and functionResponse parts only, without touching the parsed body', () => {
    const body = {
      contents: [
        { role: 'model', parts: [{ functionCall: { id: 'a', name: 'f', args: { id: 'kept' } } }, { text: 'x', id: 'kept-too' }] },
        { role: 'user', parts: [{ functionResponse: { id: 'a', name: 'f', response: { id: 'kept' } } }] },
      ],
      id: 'top-level-kept',
    };
    const before = JSON.stringify(body);
    const out = JSON.parse(stripVertexRejectedFields(body)!);
    assert.deepEqual(out, {
      contents: [
        { role: 'model', parts: [{ functionCall: { name: 'f', args: { id: 'kept' } } }, { text: 'x', id: 'kept-too' }] },
        { role: 'user', parts: [{ functionResponse: { name: 'f', response: { id: 'kept' } } }] },
      ],
      id: 'top-level-kept',
    });
    assert.equal(JSON.stringify(body), before);
    assert.equal(stripVertexRejectedFields({ contents: [{ parts: [{ text: 'hi' }] }] }), undefined);
    assert.equal(stripVertexRejectedFields({ contents: 'odd' }), undefined);
  });
});

describe('service-account token cache', () => {
  let server: Server;
  let tokenUri: string;
  let issued = 0;
  let failNext = false;
  let lifetime = 3600;
  let release: (() => void) | undefined;
  let held = false;

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const answer = () => {
          if (failNext) {
            failNext = false;
            res.writeHead(503, { 'content-type': 'text/plain' });
            return res.end(`overloaded ${new URLSearchParams(body).get('assertion')}`);
          }
          issued++;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ access_token: `ya29.test-unit-${issued}`, expires_in: lifetime, token_type: 'Bearer' }));
        };
        if (held) release = answer;
        else answer();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    tokenUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  /** until polls a condition (the token server answers on its own schedule under load). */
  async function until(ok: () => boolean): Promise<void> {
    for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(ok(), 'condition not met within 5 s');
  }

  const source = (clock: { t: number }) =>
    new ServiceAccountTokens({ projectId: 'p', clientEmail: 'unit@test', privateKey: PEM, privateKeyId: undefined, tokenUri }, { now: () => clock.t });

  test('fresh: cached; last quarter: renewed in the background, old token still served; expired: everyone waits for one exchange', async () => {
    issued = 0;
    lifetime = 3600;
    const clock = { t: 1_000_000 };
    const tokens = source(clock);
    assert.equal(await tokens.token(), 'ya29.test-unit-1');
    clock.t += 2_000_000; // 2000 s of 3600: fresh
    assert.equal(tokens.token(), 'ya29.test-unit-1', 'answered from the cache, synchronously');
    assert.equal(tokens.exchanges, 1);
    clock.t = 1_000_000 + 3_400_000; // within the last 5 minutes
    assert.equal(tokens.token(), 'ya29.test-unit-1', 'the old token while the new one is fetched');
    assert.equal(tokens.exchanges, 2);
    await until(() => tokens.token() === 'ya29.test-unit-2');
    assert.equal(tokens.exchanges, 2, 'requests during the renewal started no other exchange');
    clock.t += 10_000_000; // long expired
    held = true;
    const waiting = Array.from({ length: 10 }, () => tokens.token());
    assert.ok(waiting.every((w) => w instanceof Promise), 'an expired token is never served');
    await until(() => release !== undefined);
    held = false;
    release!();
    assert.deepEqual(new Set(await Promise.all(waiting)), new Set(['ya29.test-unit-3']));
    assert.equal(tokens.exchanges, 3, 'one exchange for ten waiting requests');
  });

  test('a failure reaches every waiter without the assertion, and the next call tries again', async () => {
    const tokens = source({ t: Date.now() });
    failNext = true;
    await assert.rejects(Promise.resolve(tokens.token()), (err: Error) => {
      assert.match(err.message, /refused the service account unit@test \(503\): overloaded \[assertion\]/);
      assert.ok(!err.message.includes('eyJ'));
      return true;
    });
    assert.match(await tokens.token(), /^ya29\.test-unit-/);
  });
});
