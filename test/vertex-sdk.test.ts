/**
 * The official Vertex SDKs, unmodified, pointed at keyway: `@anthropic-ai/vertex-sdk`
 * (rawPredict, streamRawPredict, count-tokens, streamed tool use) and `@google/genai` with
 * `vertexai: true` (project-scoped paths under v1beta1, and express mode's short paths).
 * Both sides are asserted: what the SDK returned, and the path, body and credential the
 * upstream received. The SDKs authenticate with a stand-in Google auth client (the client's
 * own OAuth token), which keyway replaces with the keyfile's token in override mode and
 * forwards unchanged in passthrough.
 */
import { AnthropicVertex } from '@anthropic-ai/vertex-sdk';
import { GoogleGenAI } from '@google/genai';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startMockUpstream, type IssuedKeyfile, type MockUpstream } from '../src/mock-upstream/index.js';
import { configText, startStack, type Stack } from './helpers.js';

const P = '_aperture_auto_vertex_project_id_';
const R = '_aperture_auto_vertex_region_';
const CLAUDE = 'claude-sonnet-4-5@20250929';
const GEMINI = 'gemini-2.5-flash';
const CLIENT_TOKEN = 'ya29.client-test-token';

/** A stand-in for google-auth-library's AuthClient: the caller's own OAuth token, no network. */
const clientAuth = {
  projectId: undefined,
  getRequestHeaders: async () => new Headers({ authorization: `Bearer ${CLIENT_TOKEN}` }),
} as never;

describe('Vertex SDKs through keyway', () => {
  let upstream: MockUpstream;
  let stack: Stack;
  let key: IssuedKeyfile;

  before(async () => {
    upstream = await startMockUpstream();
    key = upstream.oauth.issueKeyfile({ projectId: 'sdk-project' });
    const compatibility = { google_generate_content: true, google_raw_predict: true, experimental_gemini_cli_vertex_compat: true };
    stack = await startStack(
      () =>
        configText({
          vertex: { baseurl: upstream.url, apikey: key.apikey, models: [CLAUDE, GEMINI], compatibility },
          mine: { baseurl: upstream.url, apikey: key.apikey, auth_mode: 'passthrough', models: ['claude-opus-4-1@20250805'], compatibility },
        }),
      { upstream },
    );
  });
  after(async () => {
    await stack?.close();
    await upstream?.close();
  });

  const minted = () => upstream.oauth.exchanges.filter((e) => e.ok).map((e) => `Bearer ${e.token}`);

  test('@anthropic-ai/vertex-sdk: stream and non-stream, placeholders as Claude Code sends them', async () => {
    const client = new AnthropicVertex({ baseURL: `${stack.url}/v1`, region: R, projectId: P, authClient: clientAuth, maxRetries: 0 });
    upstream.reset();
    const stream = client.messages.stream({ model: CLAUDE, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    let deltas = 0;
    stream.on('text', () => deltas++);
    const final = await stream.finalMessage();
    assert.equal(final.content[0]?.type === 'text' && final.content[0].text, `MOCK_OK (anthropic ${CLAUDE})`);
    assert.ok(deltas >= 2);
    assert.ok(final.usage.output_tokens > 0);
    const got = upstream.requests[0]!;
    assert.equal(got.path, `/v1/projects/sdk-project/locations/global/publishers/anthropic/models/${CLAUDE}:streamRawPredict`);
    const body = got.json as Record<string, unknown>;
    assert.equal(body.model, undefined, 'Vertex takes the model from the URL');
    assert.equal(typeof body.anthropic_version, 'string');
    assert.ok(minted().includes(got.headers.authorization!), 'override: the keyfile token, not the client one');
    assert.notEqual(got.headers.authorization, `Bearer ${CLIENT_TOKEN}`);

    const plain = await client.messages.create({ model: CLAUDE, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(plain.content[0]?.type === 'text' && plain.content[0].text, `MOCK_OK (anthropic ${CLAUDE})`);
    assert.equal(upstream.requests[1]!.path, `/v1/projects/sdk-project/locations/global/publishers/anthropic/models/${CLAUDE}:rawPredict`);
  });

  test('@anthropic-ai/vertex-sdk: countTokens and a streamed tool call', async () => {
    const client = new AnthropicVertex({ baseURL: `${stack.url}/v1`, region: 'global', projectId: P, authClient: clientAuth, maxRetries: 0 });
    upstream.reset();
    const count = await client.messages.countTokens({ model: CLAUDE, messages: [{ role: 'user', content: 'hi' }] });
    assert.ok(count.input_tokens > 0);
    assert.equal(upstream.requests[0]!.path, '/v1/projects/sdk-project/locations/global/publishers/anthropic/models/count-tokens:rawPredict');
    assert.equal((upstream.requests[0]!.json as { model: string }).model, CLAUDE);

    const final = await client.messages
      .stream({
        model: CLAUDE,
        max_tokens: 64,
        tools: [{ name: 'get_weather', description: 'weather', input_schema: { type: 'object', properties: { location: { type: 'string' } } } }],
        messages: [{ role: 'user', content: 'weather? MOCK:tool' }],
      })
      .finalMessage();
    const tool = final.content.find((b) => b.type === 'tool_use');
    assert.ok(tool && tool.type === 'tool_use');
    assert.deepEqual(tool.input, { location: 'Paris' });
    assert.equal(final.stop_reason, 'tool_use');
  });

  test('@anthropic-ai/vertex-sdk on a passthrough provider: the SDK’s own token goes upstream', async () => {
    const client = new AnthropicVertex({ baseURL: `${stack.url}/v1`, region: 'us-east5', projectId: 'users-own-project', authClient: clientAuth, maxRetries: 0 });
    upstream.reset();
    const msg = await client.messages.create({ model: 'claude-opus-4-1@20250805', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(msg.content[0]?.type === 'text' && msg.content[0].text, 'MOCK_OK (anthropic claude-opus-4-1@20250805)');
    const got = upstream.requests[0]!;
    assert.equal(got.path, '/v1/projects/users-own-project/locations/us-east5/publishers/anthropic/models/claude-opus-4-1@20250805:rawPredict');
    assert.equal(got.headers.authorization, `Bearer ${CLIENT_TOKEN}`);
  });

  test('@google/genai vertexai: generateContentStream, generateContent, countTokens under v1beta1', async () => {
    const ai = new GoogleGenAI({ vertexai: true, project: P, location: R, googleAuthOptions: { authClient: clientAuth }, httpOptions: { baseUrl: stack.url } });
    upstream.reset();
    let text = '';
    for await (const chunk of await ai.models.generateContentStream({ model: GEMINI, contents: 'hi' })) text += chunk.text ?? '';
    assert.equal(text, `MOCK_OK (gemini ${GEMINI})`);
    const got = upstream.requests[0]!;
    assert.equal(got.path, `/v1beta1/projects/sdk-project/locations/global/publishers/google/models/${GEMINI}:streamGenerateContent`);
    assert.equal(got.query, '?alt=sse');
    assert.ok(minted().includes(got.headers.authorization!));
    assert.match(got.headers['x-goog-api-client'] ?? '', /google-genai-sdk/, 'client headers travel');

    const plain = await ai.models.generateContent({ model: GEMINI, contents: 'hi' });
    assert.equal(plain.text, `MOCK_OK (gemini ${GEMINI})`);
    assert.ok((plain.usageMetadata?.promptTokenCount ?? 0) > 0);
    const count = await ai.models.countTokens({ model: GEMINI, contents: 'hi' });
    assert.ok((count.totalTokens ?? 0) > 0);
    assert.equal(upstream.requests[2]!.path, `/v1beta1/projects/sdk-project/locations/global/publishers/google/models/${GEMINI}:countTokens`);
  });

  test('@google/genai vertexai express mode (as Gemini CLI): short paths rewritten, the placeholder key dropped', async () => {
    const ai = new GoogleGenAI({ vertexai: true, apiKey: 'not-needed', httpOptions: { baseUrl: stack.url } });
    upstream.reset();
    let text = '';
    for await (const chunk of await ai.models.generateContentStream({ model: GEMINI, contents: 'hi' })) text += chunk.text ?? '';
    assert.equal(text, `MOCK_OK (gemini ${GEMINI})`);
    const got = upstream.requests[0]!;
    assert.equal(got.path, `/v1beta1/projects/sdk-project/locations/global/publishers/google/models/${GEMINI}:streamGenerateContent`);
    assert.equal(got.headers['x-goog-api-key'], undefined);
    assert.ok(minted().includes(got.headers.authorization!));
  });

  test("@google/genai vertexai: keyway's errors arrive as the SDK's ApiError with status and message", async () => {
    const ai = new GoogleGenAI({ vertexai: true, project: P, location: R, googleAuthOptions: { authClient: clientAuth }, httpOptions: { baseUrl: stack.url, retryOptions: { attempts: 1 } } });
    await assert.rejects(ai.models.generateContent({ model: 'gemini-nope', contents: 'hi' }), (err: Error & { status?: number }) => {
      assert.equal(err.status, 404);
      assert.match(err.message, /gemini-nope/);
      return true;
    });
  });
});
