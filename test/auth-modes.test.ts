/**
 * The heart of keyway: which credential reaches the upstream, for every auth_mode ×
 * API format × credential style the clients use. Asserts the exact credential headers
 * the (real, loopback) mock upstream received.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FAKE, configText, startStack, type Stack } from './helpers.js';

const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'x-goog-api-key', 'api-key'];

interface FormatCase {
  name: string;
  flag: string;
  authorization: string;
  /** Request path for provider-prefixed model `p/m`. */
  path: (provider: string) => string;
  body: (provider: string) => unknown;
  /** The path the upstream must receive, for formats whose model is in the URL. */
  upstreamPath?: string;
}

const FORMATS: FormatCase[] = [
  { name: 'anthropic_messages', flag: 'anthropic_messages', authorization: 'x-api-key', path: () => '/v1/messages?beta=true', body: (p) => ({ model: `${p}/m`, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }) },
  { name: 'openai_chat', flag: 'openai_chat', authorization: 'bearer', path: () => '/v1/chat/completions', body: (p) => ({ model: `${p}/m`, messages: [{ role: 'user', content: 'hi' }] }) },
  { name: 'openai_responses', flag: 'openai_responses', authorization: 'bearer', path: () => '/v1/responses', body: (p) => ({ model: `${p}/m`, input: 'hi' }) },
  { name: 'gemini_generate_content', flag: 'gemini_generate_content', authorization: 'x-goog-api-key', path: (p) => `/v1beta/models/${p}/m:generateContent`, body: () => ({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }), upstreamPath: '/v1beta/models/m:generateContent' },
  // Vertex AI with a static key (an access token from a macro); keyfile:: keys: vertex.test.ts.
  { name: 'google_generate_content', flag: 'google_generate_content', authorization: 'bearer', path: (p) => `/v1/projects/test-project/locations/us-east5/publishers/google/models/${p}%2Fm:generateContent`, body: () => ({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }), upstreamPath: '/v1/projects/test-project/locations/us-east5/publishers/google/models/m:generateContent' },
  { name: 'google_raw_predict', flag: 'google_raw_predict', authorization: 'bearer', path: (p) => `/v1/projects/test-project/locations/global/publishers/anthropic/models/${p}/m:rawPredict`, body: () => ({ anthropic_version: 'vertex-2023-10-16', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }), upstreamPath: '/v1/projects/test-project/locations/global/publishers/anthropic/models/m:rawPredict' },
];

type Mode = 'override' | 'default' | 'passthrough-fallback' | 'passthrough-only' | 'none';
const MODES: Mode[] = ['override', 'default', 'passthrough-fallback', 'passthrough-only', 'none'];

function providerFor(format: FormatCase, mode: Mode, upstream: string) {
  const base = { baseurl: upstream, models: ['m'], authorization: format.authorization, compatibility: { [format.flag]: true } };
  switch (mode) {
    case 'override': return { ...base, auth_mode: 'override', apikey: FAKE.providerKey };
    case 'default': return { ...base, apikey: FAKE.providerKey };
    case 'passthrough-fallback': return { ...base, auth_mode: 'passthrough', apikey: FAKE.providerKey };
    case 'passthrough-only': return { ...base, auth_mode: 'passthrough' };
    case 'none': return { ...base, auth_mode: 'none', apikey: FAKE.providerKey };
  }
}

const STYLES: Array<{ name: string; headers: Record<string, string> }> = [
  { name: 'no credential', headers: {} },
  { name: 'x-api-key', headers: { 'x-api-key': FAKE.anthropicKey } },
  { name: 'bearer API key', headers: { authorization: `Bearer ${FAKE.openaiKey}` } },
  { name: 'bearer OAuth token', headers: { authorization: `Bearer ${FAKE.anthropicOauth}`, 'anthropic-beta': 'oauth-2025-04-20' } },
  { name: 'x-goog-api-key', headers: { 'x-goog-api-key': FAKE.googleKey } },
];

function providerKeyHeader(format: FormatCase): Record<string, string> {
  if (format.authorization === 'x-api-key') return { 'x-api-key': FAKE.providerKey };
  if (format.authorization === 'x-goog-api-key') return { 'x-goog-api-key': FAKE.providerKey };
  return { authorization: `Bearer ${FAKE.providerKey}` };
}

/** expected returns the credential headers the upstream must receive. */
function expected(format: FormatCase, mode: Mode, sent: Record<string, string>): Record<string, string> {
  const clientCreds = Object.fromEntries(Object.entries(sent).filter(([k]) => CREDENTIAL_HEADERS.includes(k)));
  switch (mode) {
    case 'override':
    case 'default':
      return providerKeyHeader(format);
    case 'passthrough-fallback':
      return Object.keys(clientCreds).length > 0 ? clientCreds : providerKeyHeader(format);
    case 'passthrough-only':
      return clientCreds;
    case 'none':
      return {};
  }
}

describe('credentials per auth_mode × format × credential style', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((upstream) => {
      const providers: Record<string, unknown> = {};
      for (const f of FORMATS) for (const m of MODES) providers[`${f.name}-${m}`] = providerFor(f, m, upstream);
      return configText(providers);
      // The matrix sends every credential style to every format (an OpenAI key to Anthropic,
      // one provider key for all): it checks what is forwarded, not whether the key would be
      // valid there, so the mock's per-provider prefix check is off.
    }, { mock: { acceptAnyKey: true } });
  });
  after(() => stack.close());

  for (const format of FORMATS) {
    for (const mode of MODES) {
      for (const style of STYLES) {
        test(`${format.name} / ${mode} / ${style.name}`, async () => {
          stack.upstream.reset();
          const provider = `${format.name}-${mode}`;
          const res = await fetch(stack.url + format.path(provider), {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...style.headers },
            body: JSON.stringify(format.body(provider)),
          });
          await res.text();
          if (mode === 'passthrough-only' && style.name === 'no credential') {
            // Nothing to authenticate with: keyway answers 401 itself (issue 12, item 10).
            assert.equal(res.status, 401);
            assert.equal(stack.upstream.requests.length, 0, 'nothing sent upstream');
            return;
          }
          assert.equal(stack.upstream.requests.length, 1, 'exactly one upstream request');
          const got = stack.upstream.requests[0]!;
          const creds = Object.fromEntries(CREDENTIAL_HEADERS.filter((h) => got.headers[h] !== undefined).map((h) => [h, got.headers[h]!]));
          assert.deepEqual(creds, expected(format, mode, style.headers));
          // The provider prefix is stripped wherever the model lives.
          if (format.upstreamPath) assert.equal(got.path, format.upstreamPath);
          else assert.equal((got.json as { model: string }).model, 'm');
          // Other client headers (here the OAuth beta flag) travel unchanged.
          if (style.headers['anthropic-beta']) assert.equal(got.headers['anthropic-beta'], 'oauth-2025-04-20');
          assert.equal(res.status, 200);
        });
      }
    }
  }

  test('gemini ?key= is the client credential in passthrough and is removed otherwise', async () => {
    for (const [mode, keepsQueryKey, header] of [
      ['passthrough-fallback', true, undefined],
      ['override', false, FAKE.providerKey],
      ['none', false, undefined],
    ] as const) {
      stack.upstream.reset();
      const res = await fetch(`${stack.url}/v1beta/models/gemini_generate_content-${mode}%2Fm:generateContent?key=${FAKE.googleKey}&alt=json`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [] }),
      });
      await res.text();
      const got = stack.upstream.requests[0]!;
      assert.equal(got.query.includes(FAKE.googleKey), keepsQueryKey, `${mode}: ${got.query}`);
      assert.ok(got.query.includes('alt=json'), 'other query parameters are kept');
      assert.equal(got.headers['x-goog-api-key'], header, mode);
    }
  });

  test('a deliberately invalid client key is rejected by the upstream, proving passthrough', async () => {
    stack.upstream.reset();
    const res = await fetch(`${stack.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'sk-ant-test-invalid-key', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(FORMATS[0]!.body('anthropic_messages-passthrough-fallback')),
    });
    assert.equal(res.status, 401);
    const body = (await res.json()) as { type: string; error: { type: string } };
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'authentication_error');
    assert.equal(stack.upstream.requests[0]!.headers['x-api-key'], 'sk-ant-test-invalid-key');
  });
});
