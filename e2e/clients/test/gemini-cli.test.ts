/**
 * Gemini CLI (`gemini -p`, the real CLI from npm) through keyway's
 * gemini_generate_content route: x-goog-api-key per auth mode, streaming with ?alt=sse,
 * a tool round trip, provider-prefixed models and the error paths.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  CLI,
  KEYS,
  clientPosts,
  credentials,
  describeRun,
  headerDiff,
  run,
  sandbox,
  startStack,
  upstreamPosts,
  upstreamSaw,
  verbose,
  type E2EStack,
  type RunResult,
} from './harness.js';

let stack: E2EStack;
before(async () => {
  stack = await startStack();
});
after(() => stack?.close());
beforeEach(() => stack.reset());

/**
 * ~/.gemini/settings.json. selectedType is required: with GOOGLE_GEMINI_BASE_URL set and no
 * selected type, Gemini CLI 0.61 picks its "gateway" auth type and then rejects it.
 */
const SETTINGS = {
  security: { auth: { selectedType: 'gemini-api-key' } },
  general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
  privacy: { usageStatisticsEnabled: false },
  telemetry: { enabled: false },
};

async function gemini(prompt: string, model: string | undefined, apiKey: string | undefined, extra: { args?: string[]; settings?: unknown; baseUrl?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const box = await sandbox('gemini', stack.sink);
  try {
    await mkdir(join(box.home, '.gemini'));
    await writeFile(join(box.home, '.gemini', 'settings.json'), JSON.stringify(extra.settings ?? SETTINGS, null, 2));
    const env: Record<string, string> = {
      ...box.env,
      GEMINI_CLI_HOME: box.home,
      GEMINI_CLI_TRUST_WORKSPACE: 'true',
      GOOGLE_GEMINI_BASE_URL: extra.baseUrl ?? stack.url, // no /v1beta: the SDK appends /v1beta/models/…
    };
    if (apiKey !== undefined) env.GEMINI_API_KEY = apiKey;
    const args = [...(model === undefined ? [] : ['-m', model]), '-p', prompt, ...(extra.args ?? [])];
    const r = await run(CLI.gemini, args, { env, cwd: box.work, timeoutMs: extra.timeoutMs ?? 60_000 });
    verbose(`gemini ${args.join(' ')}`, r, stack);
    return r;
  } finally {
    await box.cleanup();
  }
}

function assertOneStreamedAnswer(r: RunResult, expectedText: string, upstreamPath: string) {
  const why = describeRun(r, stack);
  assert.equal(r.timedOut, false, why);
  assert.equal(r.code, 0, why);
  assert.ok(r.stdout.includes(expectedText), `answer printed\n${why}`);
  const posts = upstreamPosts(stack);
  assert.equal(posts.length, 1, `exactly one upstream request\n${why}`);
  const up = posts[0]!;
  assert.equal(up.path, upstreamPath, why);
  assert.equal(up.query, '?alt=sse', `streams as SSE\n${why}`);
  assert.equal(clientPosts(stack).length, 1, why);
  assert.deepEqual(stack.sink.attempts, [], `no outbound traffic\n${why}`);
  return up;
}

describe('Gemini CLI through keyway', () => {
  test('GEMINI_API_KEY through a passthrough provider: x-goog-api-key and the client headers arrive unchanged, streamed with ?alt=sse', async () => {
    const r = await gemini('Say hi.', 'gemini-2.5-flash', KEYS.googleClient);
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (gemini gemini-2.5-flash)', '/gemini-passthrough/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    const sent = clientPosts(stack)[0]!;
    assert.equal(sent.path, '/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    assert.deepEqual(credentials(up.headers), { 'x-goog-api-key': KEYS.googleClient });
    assert.deepEqual(headerDiff(sent.headers, up.headers), []);
    assert.match(up.headers['user-agent'] ?? '', /^GeminiCLI(-[a-z]+)?\/0\.61\.0\//);
    assert.match(up.headers['x-goog-api-client'] ?? '', /google-genai-sdk\//);
    assert.equal(up.headers['x-gemini-api-privileged-user-id'], undefined, 'usage statistics off: no installation id');
    assert.equal(up.body, sent.body);
    // The last SSE chunk carries finishReason (without it Gemini CLI retries and prints the text again).
    assert.match(sent.responseBody, /"finishReason":"STOP"/);
  });

  test('model from settings.json (model.name) instead of -m: no model-router call, one request', async () => {
    const r = await gemini('Say hi.', undefined, KEYS.googleClient, { settings: { ...SETTINGS, model: { name: 'gemini-2.5-flash' } } });
    assertOneStreamedAnswer(r, 'MOCK_OK (gemini gemini-2.5-flash)', '/gemini-passthrough/v1beta/models/gemini-2.5-flash:streamGenerateContent');
  });

  test('placeholder key through an override provider: replaced by the provider key', async () => {
    const r = await gemini('Say hi.', 'gemini-2.5-pro', KEYS.placeholder);
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (gemini gemini-2.5-pro)', '/gemini/v1beta/models/gemini-2.5-pro:streamGenerateContent');
    assert.equal(clientPosts(stack)[0]!.headers['x-goog-api-key'], KEYS.placeholder);
    assert.deepEqual(credentials(up.headers), { 'x-goog-api-key': KEYS.googleProvider });
    assert.equal(upstreamSaw(stack, KEYS.placeholder), false);
    assert.deepEqual(headerDiff(clientPosts(stack)[0]!.headers, up.headers, ['x-goog-api-key']), []);
  });

  test('auth_mode none: no x-goog-api-key reaches the upstream', async () => {
    const r = await gemini('Say hi.', 'gemma-local-1', KEYS.googleClient);
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (gemini gemma-local-1)', '/gemini-none/v1beta/models/gemma-local-1:streamGenerateContent');
    assert.deepEqual(credentials(up.headers), {});
    assert.equal(upstreamSaw(stack, KEYS.googleClient), false);
  });

  test('tool call round trip (--yolo): Gemini CLI runs the shell command and sends the functionResponse back', async () => {
    const r = await gemini('Run the check. MOCK:tool', 'gemini-2.5-flash', KEYS.googleClient, { args: ['--yolo'] });
    const why = describeRun(r, stack);
    assert.equal(r.code, 0, why);
    assert.match(r.stdout, /TOOL_RESULT_SEEN: .*TOOL_RAN_42/s, why);
    const posts = upstreamPosts(stack);
    assert.equal(posts.length, 2, why);
    assert.ok(posts.every((p) => p.query === '?alt=sse'));
    const contents = (posts[1]!.json as { contents: Array<{ parts?: Array<{ functionResponse?: unknown; functionCall?: { name?: string } }> }> }).contents;
    const parts = contents.flatMap((c) => c.parts ?? []);
    assert.equal(parts.find((p) => p.functionCall)?.functionCall?.name, 'run_shell_command');
    assert.match(JSON.stringify(parts.find((p) => p.functionResponse)), /TOOL_RAN_42/, why);
    assert.ok(posts.every((p) => p.headers['x-goog-api-key'] === KEYS.googleClient));
  });

  test('on a model served only through OpenAI chat (translation): a streamed answer, then a shell round trip', async () => {
    const r = await gemini('Say hi.', 'gpt-chat-only', KEYS.placeholder);
    const why = describeRun(r, stack);
    assert.equal(r.code, 0, why);
    assert.ok(r.stdout.includes('MOCK_OK (openai-chat gpt-chat-only)'), why);
    assert.equal(r.stdout.split('MOCK_OK').length - 1, 1, `printed once (no retry)\n${why}`);
    const posts = upstreamPosts(stack);
    assert.equal(posts.length, 1, why);
    const up = posts[0]!;
    assert.equal(up.path, '/openai-chat-only/v1/chat/completions', why);
    assert.equal(up.query, '', 'no Gemini query string toward OpenAI');
    assert.equal((up.json as { stream?: boolean }).stream, true);
    assert.deepEqual(credentials(up.headers), { authorization: `Bearer ${KEYS.openaiProvider}` });
    assert.equal(upstreamSaw(stack, KEYS.placeholder), false);
    const sent = clientPosts(stack)[0]!;
    assert.equal(sent.path, '/v1beta/models/gpt-chat-only:streamGenerateContent');
    assert.match(sent.responseBody, /"finishReason":"STOP"/);

    stack.reset();
    const tool = await gemini('Run the check. MOCK:tool', 'gpt-chat-only', KEYS.placeholder, { args: ['--yolo'] });
    const toolWhy = describeRun(tool, stack);
    assert.equal(tool.code, 0, toolWhy);
    assert.match(tool.stdout, /TOOL_RESULT_SEEN: .*TOOL_RAN_42/s, toolWhy);
    const turns = upstreamPosts(stack);
    assert.equal(turns.length, 2, toolWhy);
    const messages = (turns[1]!.json as { messages: Array<{ role: string; content?: unknown; tool_calls?: Array<{ function: { name: string } }> }> }).messages;
    assert.equal(messages.find((m) => m.tool_calls)?.tool_calls?.[0]?.function.name, 'run_shell_command');
    assert.match(String(messages.find((m) => m.role === 'tool')?.content), /TOOL_RAN_42/, toolWhy);
  });

  test('provider-prefixed model (gemini/gemini-2.5-flash) reaches that provider with the prefix stripped from the URL', async () => {
    // The bare gemini-2.5-flash goes to gemini-passthrough; the prefix picks the override provider.
    const r = await gemini('Say hi.', 'gemini/gemini-2.5-flash', KEYS.placeholder);
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (gemini gemini-2.5-flash)', '/gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent');
    assert.equal(clientPosts(stack)[0]!.path, '/v1beta/models/gemini/gemini-2.5-flash:streamGenerateContent');
    assert.deepEqual(credentials(up.headers), { 'x-goog-api-key': KEYS.googleProvider });
  });

  test('pitfall: without security.auth.selectedType, GOOGLE_GEMINI_BASE_URL selects the "gateway" auth type, which Gemini CLI rejects', async () => {
    const { security: _omitted, ...withoutAuthType } = SETTINGS;
    const r = await gemini('Say hi.', 'gemini-2.5-flash', KEYS.googleClient, { settings: withoutAuthType });
    const why = describeRun(r, stack);
    assert.equal(r.code, 41, why);
    assert.match(r.stdout + r.stderr, /Invalid auth method selected/, why);
    assert.equal(stack.tap.exchanges.length, 0, 'nothing was sent');
  });

  test('pitfall: a base URL ending in /v1beta doubles the segment, and keyway says no such endpoint', async () => {
    const r = await gemini('Say hi.', 'gemini-2.5-flash', KEYS.googleClient, { baseUrl: `${stack.url}/v1beta` });
    const why = describeRun(r, stack);
    assert.equal(r.code, 1, why);
    assert.equal(clientPosts(stack)[0]?.path, '/v1beta/v1beta/models/gemini-2.5-flash:streamGenerateContent', why);
    assert.equal(clientPosts(stack)[0]?.status, 404, why);
    assert.match(r.stderr, /no such endpoint/, why);
    assert.equal(stack.upstream.requests.length, 0);
  });

  test('an invalid key is rejected by the upstream and Gemini CLI shows the upstream\'s own error', async () => {
    const r = await gemini('Say hi.', 'gemini-2.5-flash', KEYS.invalid);
    const why = describeRun(r, stack);
    assert.equal(r.timedOut, false, why);
    assert.equal(r.code, 1, why);
    assert.match(r.stderr, /\{"error":\{"code":401,"message":"API key not valid","status":"UNAUTHENTICATED"\}\}/, why);
    assert.equal(upstreamPosts(stack).length, 1, '401 is not retried');
    assert.equal(upstreamPosts(stack)[0]!.headers['x-goog-api-key'], KEYS.invalid);
  });

  test('an unknown model gets keyway\'s readable Google-format 404', async () => {
    const r = await gemini('Say hi.', 'gemini-nope', KEYS.googleClient);
    const why = describeRun(r, stack);
    assert.equal(r.timedOut, false, why);
    assert.equal(r.code, 1, why);
    assert.match(r.stderr, /model "gemini-nope" is not available/, why);
    assert.equal(upstreamPosts(stack).length, 0);
  });

  test('control, without keyway: straight against an upstream that dies mid-stream, Gemini CLI fails at once with exit 1', async () => {
    const box = await sandbox('gemini-direct', stack.sink);
    try {
      await mkdir(join(box.home, '.gemini'));
      await writeFile(join(box.home, '.gemini', 'settings.json'), JSON.stringify(SETTINGS));
      const env = { ...box.env, GEMINI_CLI_HOME: box.home, GEMINI_CLI_TRUST_WORKSPACE: 'true', GOOGLE_GEMINI_BASE_URL: stack.upstream.url, GEMINI_API_KEY: KEYS.googleClient };
      const r = await run(CLI.gemini, ['-m', 'gemini-2.5-flash', '-p', 'Say hi. MOCK:die-midstream'], { env, cwd: box.work, timeoutMs: 60_000 });
      const why = describeRun(r, stack);
      assert.equal(r.timedOut, false, why);
      assert.equal(r.code, 1, why);
      assert.match(r.stderr, /terminated|UND_ERR_SOCKET|other side closed/, why);
      assert.equal(upstreamPosts(stack).length, 1, why);
    } finally {
      await box.cleanup();
    }
  });

  test('an upstream that dies mid-stream: a clean failure (non-zero exit, no repeated partial answer), not a hang', async () => {
    const r = await gemini('Say hi. MOCK:die-midstream', 'gemini-2.5-flash', KEYS.googleClient, { timeoutMs: 60_000 });
    const why = describeRun(r, stack);
    assert.equal(r.timedOut, false, why);
    // Straight against the upstream, Gemini CLI fails at once with exit 1 ("terminated").
    // A gateway must not turn the broken stream into one that looks complete.
    assert.notEqual(r.code, 0, `a failed answer must not exit 0\n${why}`);
    assert.equal(upstreamPosts(stack).length, 1, `no retries of a broken stream as if it were merely short\n${why}`);
  });
});
