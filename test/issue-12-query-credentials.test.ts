/**
 * Issue 12, items 2 and 3: a credential in the query string is found by its decoded,
 * case-folded name (`?key=`, `?access_token=`, `?oauth_token=`, `?%6Bey=`, `?KEY=`,
 * `?access%5Ftoken=`), in every auth mode: passthrough counts it as the client's own
 * credential (no fallback key beside it), override and none take it out of the upstream
 * URL, and telemetry never records it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FORMATS } from '../src/formats/registry.js';
import { REDACTED_QUERY_PARAMS, redactQuery } from '../src/telemetry/capture.js';
import { FAKE, configText, startStack, type Stack } from './helpers.js';

const SECRET = 'AIza-test-QUERY-canary-5d1c';

/** Every spelling of a credential parameter a client could send (raw, as it appears in the URL). */
const SPELLINGS = ['key', 'access_token', 'oauth_token', '%6Bey', 'KEY', 'Key', 'access%5Ftoken', 'ACCESS_TOKEN', 'oauth%5ftoken', 'k%65y'];

type Mode = 'passthrough-fallback' | 'passthrough-only' | 'override' | 'none';
const MODES: Mode[] = ['passthrough-fallback', 'passthrough-only', 'override', 'none'];

function provider(mode: Mode, upstream: string) {
  const base = { baseurl: upstream, models: ['m'], authorization: 'x-goog-api-key', compatibility: { gemini_generate_content: true } };
  switch (mode) {
    case 'passthrough-fallback': return { ...base, auth_mode: 'passthrough', apikey: FAKE.providerKey };
    case 'passthrough-only': return { ...base, auth_mode: 'passthrough' };
    case 'override': return { ...base, auth_mode: 'override', apikey: FAKE.providerKey };
    case 'none': return { ...base, auth_mode: 'none', apikey: FAKE.providerKey };
  }
}

describe('issue 12: query-string credentials', () => {
  let stack: Stack;
  before(async () => {
    // Fake keys of every style go to the Gemini mock: its AIza prefix check is beside the point.
    stack = await startStack((u) => configText(Object.fromEntries(MODES.map((m) => [m, provider(m, u)]))), { mock: { acceptAnyKey: true } });
  });
  after(() => stack.close());

  for (const mode of MODES) {
    test(`${mode}: every spelling of a query credential is the client's credential and never travels beside or past the provider's`, async () => {
      for (const name of SPELLINGS) {
        stack.upstream.reset();
        const res = await fetch(`${stack.url}/v1beta/models/${mode}%2Fm:generateContent?alt=json&${name}=${SECRET}&x=%20y`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
        });
        await res.text();
        assert.equal(res.status, 200, `${mode} ${name}`);
        const got = stack.upstream.requests[0]!;
        if (mode.startsWith('passthrough')) {
          // The client's own key goes through as sent, and the fallback key is not added beside it.
          assert.equal(got.query, `?alt=json&${name}=${SECRET}&x=%20y`, `${mode} ${name}`);
          assert.equal(got.headers['x-goog-api-key'], undefined, `${mode} ${name}: no fallback key beside the client's`);
        } else {
          assert.ok(!got.query.includes(SECRET), `${mode} ${name}: ${got.query}`);
          // Every other parameter is kept byte for byte.
          assert.equal(got.query, '?alt=json&x=%20y', `${mode} ${name}`);
          assert.equal(got.headers['x-goog-api-key'], mode === 'override' ? FAKE.providerKey : undefined, `${mode} ${name}`);
        }
      }
    });
  }

  test('passthrough records the query credential as the client\'s (fingerprinted) and no recorded path holds it', async () => {
    const ids: string[] = [];
    for (const mode of MODES) {
      for (const name of SPELLINGS) {
        const res = await fetch(`${stack.url}/v1beta/models/${mode}%2Fm:generateContent?${name}=${SECRET}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ contents: [] }),
        });
        await res.text();
        ids.push(res.headers.get('x-keyway-request-id')!);
      }
    }
    await stack.keyway.telemetry!.recorder.flush();
    const list = await (await fetch(`${stack.url}/api/requests?limit=500`)).text();
    assert.ok(!list.includes(SECRET), 'the request list holds no query credential');
    const rows = new Map((JSON.parse(list) as { requests: any[] }).requests.map((r) => [r.id, r]));
    for (const id of ids) {
      const row = rows.get(id);
      assert.ok(row, `request ${id} is recorded`);
      assert.match(row.path, /=\[redacted\]$/, row.path);
      const detail = await (await fetch(`${stack.url}/api/requests/${id}`)).text();
      assert.ok(!detail.includes(SECRET), detail.slice(0, 300));
    }
    const passthrough = [...rows.values()].filter((r) => ids.includes(r.id) && r.provider.startsWith('passthrough'));
    assert.equal(passthrough.length, 2 * SPELLINGS.length);
    for (const r of passthrough) {
      assert.equal(r.credentialSource, 'client', r.path);
      assert.match(r.credentialFingerprint, /^kf_/);
    }
  });
});

describe('redactQuery', () => {
  test('redacts credential parameters by decoded, case-folded name and keeps everything else as sent', () => {
    const cases: Array<[string, string]> = [
      ['/p?key=S', '/p?key=[redacted]'],
      ['/p?%6Bey=S&alt=sse', '/p?%6Bey=[redacted]&alt=sse'],
      ['/p?KEY=S', '/p?KEY=[redacted]'],
      ['/p?access%5Ftoken=S', '/p?access%5Ftoken=[redacted]'],
      ['/p?oauth_token=S&key=T&key=U', '/p?oauth_token=[redacted]&key=[redacted]&key=[redacted]'],
      ['/p?api_key=S', '/p?api_key=[redacted]'],
      ['/p?alt=sse;key=S', '/p?alt=sse;key=[redacted]'],
      ['/p?k%ZZey=S', '/p?k%ZZey=S'],
      ['/p?x=%20y&monkey=1', '/p?x=%20y&monkey=1'],
      ['/p?key', '/p?key'],
      ['/p', '/p'],
      ['/p?', '/p?'],
    ];
    for (const [input, want] of cases) assert.equal(redactQuery(input), want, input);
  });

  test('every format\'s credential parameters are redacted in recorded paths', () => {
    for (const format of FORMATS) {
      for (const p of format.credentialQueryParams) assert.ok(REDACTED_QUERY_PARAMS.has(p), `${format.flag}: ${p}`);
    }
    const gemini = FORMATS.find((f) => f.flag === 'gemini_generate_content')!;
    assert.deepEqual([...gemini.credentialQueryParams].sort(), ['access_token', 'key', 'oauth_token']);
  });
});
