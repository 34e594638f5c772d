/**
 * `GET /v1/models/{id}` and `GET /v1beta/models/{id}` through the official SDKs'
 * `models.retrieve` / `models.get`: the model object each SDK expects, `provider/model`
 * ids (escaped by the SDKs, a plain slash from curl), the provider routing would pick, and
 * a 404 in the caller's own envelope for a model that does not exist or is not granted.
 */
import Anthropic from '@anthropic-ai/sdk';
import { ApiError, GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Identity, IdentitySource } from '../src/identity/identity.js';
import { FAKE, configText, startStack, type Stack } from './helpers.js';

const CAP = 'tailscale.com/cap/aperture';

const LOGINS: Record<string, string> = { admin: 'root@example.com', alice: 'alice@example.com' };

const byHeader: IdentitySource = {
  name: 'test-header',
  identify(req: IncomingMessage): Identity | undefined {
    const login = LOGINS[String(req.headers['x-test-as'])];
    return login ? { login, displayName: '', nodeId: '', tags: [], groups: [], loopback: false, capMap: {} } : undefined;
  },
};

const GRANTS = [
  { src: ['root@example.com'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } },
  { src: ['alice@example.com'], app: { [CAP]: [{ role: 'user' }, { models: 'anthropic/**' }] } },
];

describe('GET /v1/models/{id} through the SDKs', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack(
      (u) =>
        configText(
          {
            anthropic: { baseurl: u, apikey: 'sk-ant-test-p', authorization: 'x-api-key', models: ['claude-opus-4-8'], compatibility: { anthropic_messages: true } },
            openai: { baseurl: u, apikey: 'sk-test-p', models: ['gpt-5'] },
            // Serves gpt-5 too and is preferred: the bare name goes here.
            backup: { baseurl: u, apikey: 'sk-test-b', models: ['gpt-5'], preference: 10 },
            // Model IDs with a slash of their own, as on OpenRouter.
            openrouter: { baseurl: u, apikey: 'sk-or-test-p', models: ['qwen/qwen3-coder'] },
            gemini: { baseurl: u, apikey: 'AIza-test-p', authorization: 'x-goog-api-key', models: ['gemini-2.5-flash'], compatibility: { gemini_generate_content: true } },
          },
          GRANTS,
        ),
      { identity: byHeader },
    );
  });
  after(() => stack.close());

  const openai = (as = 'admin') => new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: FAKE.openaiKey, maxRetries: 0, defaultHeaders: { 'x-test-as': as } });
  const anthropic = (as = 'admin') => new Anthropic({ baseURL: stack.url, apiKey: FAKE.anthropicKey, maxRetries: 0, defaultHeaders: { 'x-test-as': as } });

  test('openai models.retrieve: the model object of the provider routing picks, provider/model as asked', async () => {
    const bare = await openai().models.retrieve('gpt-5');
    assert.equal(bare.id, 'gpt-5');
    assert.equal(bare.object, 'model');
    assert.equal(bare.owned_by, 'backup', 'the preferred provider');
    assert.equal(typeof bare.created, 'number');

    const prefixed = await openai().models.retrieve('openai/gpt-5');
    assert.equal(prefixed.id, 'openai/gpt-5');
    assert.equal(prefixed.owned_by, 'openai', 'the prefix picks the provider');

    // An exact name with a slash wins over a provider/model reading, as in routing.
    assert.equal((await openai().models.retrieve('qwen/qwen3-coder')).owned_by, 'openrouter');
    assert.equal((await openai().models.retrieve('openrouter/qwen/qwen3-coder')).id, 'openrouter/qwen/qwen3-coder');
    assert.equal(stack.upstream.requests.length, 0, 'answered by keyway, not the provider');
  });

  test('the row is the listing\'s row: same fields as GET /v1/models', async () => {
    const list = (await (await fetch(`${stack.url}/v1/models`, { headers: { 'x-test-as': 'admin' } })).json()) as { data: Array<Record<string, unknown>> };
    const row = list.data.find((m) => m.id === 'claude-opus-4-8');
    const one = (await (await fetch(`${stack.url}/v1/models/claude-opus-4-8`, { headers: { 'x-test-as': 'admin' } })).json()) as Record<string, unknown>;
    assert.deepEqual(one, row);
  });

  test('a plain slash works as well as %2F (curl, not an SDK)', async () => {
    for (const path of ['/v1/models/anthropic/claude-opus-4-8', '/v1/models/anthropic%2Fclaude-opus-4-8']) {
      const res = await fetch(stack.url + path, { headers: { 'x-test-as': 'admin' } });
      assert.equal(res.status, 200, path);
      const body = (await res.json()) as { id: string; owned_by: string; metadata: { provider: { id: string } } };
      assert.equal(body.id, 'anthropic/claude-opus-4-8');
      assert.equal(body.metadata.provider.id, 'anthropic');
    }
  });

  test('@anthropic-ai/sdk models.retrieve: id, type, display_name, created_at', async () => {
    const info = await anthropic().models.retrieve('claude-opus-4-8');
    assert.equal(info.id, 'claude-opus-4-8');
    assert.equal(info.type, 'model');
    assert.equal(info.display_name, 'claude-opus-4-8');
    assert.ok(!Number.isNaN(Date.parse(info.created_at)), info.created_at);
    assert.equal((await anthropic().models.retrieve('anthropic/claude-opus-4-8')).id, 'anthropic/claude-opus-4-8');
  });

  test('unknown model: 404 in the OpenAI envelope for OpenAI\'s SDK, in Anthropic\'s for Anthropic\'s', async () => {
    await assert.rejects(openai().models.retrieve('gpt-nope'), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError, String(err));
      assert.equal((err.error as { code: string }).code, 'unknown_model');
      assert.match(err.message, /model "gpt-nope" is not available to you/);
      return true;
    });
    await assert.rejects(anthropic().models.retrieve('claude-nope'), (err: unknown) => {
      assert.ok(err instanceof Anthropic.NotFoundError, String(err));
      assert.deepEqual(err.error, { type: 'error', error: { type: 'not_found_error', message: 'model "claude-nope" is not available to you; GET /v1/models lists the models you can use' } });
      return true;
    });
    // A provider prefix that names no provider, or a model that provider does not list.
    await assert.rejects(openai().models.retrieve('nobody/gpt-5'), OpenAI.NotFoundError);
    await assert.rejects(openai().models.retrieve('anthropic/gpt-5'), OpenAI.NotFoundError);
  });

  test('a model the caller is not granted answers exactly like one that does not exist', async () => {
    assert.equal((await openai('alice').models.retrieve('anthropic/claude-opus-4-8')).id, 'anthropic/claude-opus-4-8');
    const refused = await fetch(`${stack.url}/v1/models/gpt-5`, { headers: { 'x-test-as': 'alice' } });
    const missing = await fetch(`${stack.url}/v1/models/gpt-none`, { headers: { 'x-test-as': 'alice' } });
    assert.equal(refused.status, 404);
    assert.equal(missing.status, 404);
    assert.equal((await refused.text()).replace('gpt-5', 'X'), (await missing.text()).replace('gpt-none', 'X'));
    // No identity at all: refused before anything is looked up.
    assert.equal((await fetch(`${stack.url}/v1/models/gpt-5`)).status, 403);
  });

  test('bad percent-encoding is a 400, not a crash', async () => {
    const res = await fetch(`${stack.url}/v1/models/gpt-%E0%A4%A`, { headers: { 'x-test-as': 'admin' } });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'bad_model_name');
  });

  test('@google/genai models.get: the Gemini shape, Google\'s envelope for a 404', async () => {
    const ai = new GoogleGenAI({ apiKey: FAKE.googleKey, httpOptions: { baseUrl: stack.url, headers: { 'x-test-as': 'admin' } } });
    const model = await ai.models.get({ model: 'gemini-2.5-flash' });
    assert.equal(model.name, 'models/gemini-2.5-flash');
    assert.deepEqual(model.supportedActions, ['generateContent', 'streamGenerateContent', 'countTokens']);
    assert.equal((await ai.models.get({ model: 'gpt-5' })).name, 'models/gpt-5', 'reachable through translation');
    const err = await ai.models.get({ model: 'gpt-nope' }).catch((e: unknown) => e);
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.status, 404);
    assert.match(err.message, /"status":"NOT_FOUND"/);
  });
});
