/**
 * Codex (`codex exec`, the real CLI from npm) through keyway: its own key (passthrough),
 * a provider key (override), no key (none), a ChatGPT login through `/codex`, the
 * built-in provider's WebSocket probe, a tool round trip, provider-prefixed models and
 * the error paths. Codex only speaks the Responses API.
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

/** Settings every run shares: no update check, no analytics, no plugin/apps traffic. */
const HYGIENE = `check_for_update_on_startup = false

[analytics]
enabled = false

[features]
plugins = false
apps = false
`;

/** A custom provider pointing at keyway's /v1 (Codex appends /responses), with its key in KEYWAY_API_KEY. */
function apiKeyConfig(model: string): string {
  return `model = "${model}"
model_provider = "keyway"
${HYGIENE}
[model_providers.keyway]
name = "keyway"
base_url = "${stack.url}/v1"
env_key = "KEYWAY_API_KEY"
wire_api = "responses"
supports_websockets = false
request_max_retries = 0
stream_max_retries = 0
`;
}

/** A provider that uses the ChatGPT login (auth.json) against keyway's /codex route. */
function chatgptConfig(model: string): string {
  return `model = "${model}"
model_provider = "keyway-chatgpt"
${HYGIENE}
[model_providers.keyway-chatgpt]
name = "keyway (ChatGPT subscription)"
base_url = "${stack.url}/codex"
wire_api = "responses"
requires_openai_auth = true
supports_websockets = false
request_max_retries = 0
stream_max_retries = 0
`;
}

/** The built-in OpenAI provider with its base URL moved to keyway (it probes a WebSocket first). */
function builtinConfig(model: string): string {
  return `model = "${model}"
openai_base_url = "${stack.url}/v1"
${HYGIENE}`;
}

interface CodexOptions {
  config: string;
  /** Extra `codex exec` flags. */
  args?: string[];
  env?: Record<string, string>;
  /** Files to write into CODEX_HOME (auth.json). */
  files?: Record<string, string>;
  timeoutMs?: number;
}

async function codex(prompt: string, opts: CodexOptions): Promise<RunResult> {
  const box = await sandbox('codex', stack.sink);
  try {
    const codexHome = join(box.home, '.codex');
    await mkdir(codexHome);
    await writeFile(join(codexHome, 'config.toml'), opts.config);
    for (const [name, text] of Object.entries(opts.files ?? {})) await writeFile(join(codexHome, name), text, { mode: 0o600 });
    const env = { ...box.env, CODEX_HOME: codexHome, ...opts.env };
    // --strict-config: an unknown key in our config (or in docs/clients.md) is an error, not a silent no-op.
    const args = ['exec', '--skip-git-repo-check', '--strict-config', '--color', 'never', ...(opts.args ?? []), prompt];
    const r = await run(CLI.codex, args, { env, cwd: box.work, timeoutMs: opts.timeoutMs ?? 60_000 });
    verbose(`codex ${prompt}`, r, stack);
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
  assert.equal((up.json as { stream?: unknown }).stream, true, `the request streams\n${why}`);
  assert.equal(clientPosts(stack).length, 1, why);
  return up;
}

/** A JWT-shaped token (unsigned; Codex only decodes the claims). */
function fakeJwt(claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}.${Buffer.from('e2e-not-a-signature').toString('base64url')}`;
}

/** auth.json as `codex login` writes it for a ChatGPT subscription, with fake tokens. */
function chatgptAuth(accountId: string): { json: string; accessToken: string } {
  const now = Math.floor(Date.now() / 1000);
  const auth = { chatgpt_plan_type: 'pro', chatgpt_account_id: accountId, chatgpt_user_id: 'user-e2e', user_id: 'user-e2e' };
  const base = { iss: 'https://auth.openai.com', sub: 'user-e2e', email: 'e2e@example.com', iat: now, exp: now + 86_400, 'https://api.openai.com/auth': auth };
  const idToken = fakeJwt({ ...base, aud: ['app_e2e'] });
  const accessToken = fakeJwt({ ...base, aud: ['https://api.openai.com/v1'] });
  const json = JSON.stringify({
    auth_mode: 'chatgpt',
    OPENAI_API_KEY: null,
    tokens: { id_token: idToken, access_token: accessToken, refresh_token: 'rt-e2e-not-a-token', account_id: accountId },
    last_refresh: new Date().toISOString(),
  });
  return { json, accessToken };
}

describe('Codex through keyway', () => {
  test('own key (passthrough) on /v1/responses: the bearer and the client headers arrive unchanged', async () => {
    const r = await codex('Say hi.', { config: apiKeyConfig('gpt-5-codex'), env: { KEYWAY_API_KEY: KEYS.openaiClient } });
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (openai-responses gpt-5-codex)', '/openai-passthrough/v1/responses');
    const sent = clientPosts(stack)[0]!;
    assert.equal(sent.path, '/v1/responses');
    assert.deepEqual(credentials(up.headers), { authorization: `Bearer ${KEYS.openaiClient}` });
    assert.deepEqual(headerDiff(sent.headers, up.headers), []);
    assert.match(up.headers['user-agent'] ?? '', /^codex_exec\/0\.171\.0 /);
    assert.ok(up.headers['session-id'], 'Codex session header kept');
    assert.equal(up.body, sent.body);
    assert.deepEqual(stack.sink.attempts, [], 'no outbound traffic');
  });

  test('provider key (override): the client\'s placeholder is replaced', async () => {
    const r = await codex('Say hi.', { config: apiKeyConfig('gpt-5'), env: { KEYWAY_API_KEY: KEYS.placeholder } });
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (openai-responses gpt-5)', '/openai/v1/responses');
    assert.equal(clientPosts(stack)[0]!.headers.authorization, `Bearer ${KEYS.placeholder}`);
    assert.deepEqual(credentials(up.headers), { authorization: `Bearer ${KEYS.openaiProvider}` });
    assert.equal(upstreamSaw(stack, KEYS.placeholder), false);
    assert.deepEqual(headerDiff(clientPosts(stack)[0]!.headers, up.headers, ['authorization']), []);
    assert.deepEqual(stack.sink.attempts, []);
  });

  test('auth_mode none: no credential reaches the upstream', async () => {
    const r = await codex('Say hi.', { config: apiKeyConfig('local-coder'), env: { KEYWAY_API_KEY: KEYS.openaiClient } });
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (openai-responses local-coder)', '/openai-none/v1/responses');
    assert.deepEqual(credentials(up.headers), {});
    assert.equal(upstreamSaw(stack, KEYS.openaiClient), false);
  });

  test('ChatGPT login through http://HOST/codex: the upstream path is /backend-api/codex/responses and the bearer arrives unchanged', async () => {
    const accountId = 'acct-e2e-0001';
    const { json, accessToken } = chatgptAuth(accountId);
    const r = await codex('Say hi.', { config: chatgptConfig('gpt-5.5'), files: { 'auth.json': json } });
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (openai-responses gpt-5.5)', '/backend-api/codex/responses');
    const sent = clientPosts(stack)[0]!;
    assert.equal(sent.path, '/codex/responses');
    assert.deepEqual(credentials(up.headers), { authorization: `Bearer ${accessToken}` });
    assert.equal(up.headers['chatgpt-account-id'], accountId);
    assert.deepEqual(headerDiff(sent.headers, up.headers), []);
    // Only inference goes through keyway; Codex checks the account with chatgpt.com itself.
    const hosts = new Set(stack.sink.attempts.map((a) => a.host));
    assert.ok([...hosts].every((h) => h === 'chatgpt.com'), `only chatgpt.com account calls leave: ${[...hosts].join(', ')}`);
  });

  test('built-in provider with openai_base_url: the WebSocket probe gets 426 from keyway and Codex falls back to HTTP at once', async () => {
    const r = await codex('Say hi.', { config: builtinConfig('gpt-5'), env: { CODEX_API_KEY: KEYS.placeholder } });
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (openai-responses gpt-5)', '/openai/v1/responses');
    const probes = stack.tap.exchanges.filter((e) => e.upgrade);
    assert.ok(probes.length >= 1, `Codex tried a WebSocket\n${describeRun(r, stack)}`);
    for (const p of probes) {
      assert.equal(p.path, '/v1/responses');
      assert.equal(p.status, 426, 'answered 426 Upgrade Required');
    }
    assert.ok(stack.upstream.requests.every((q) => q.method === 'POST'), 'the probe never reaches the upstream');
    // A 404/405/501 would cost about 6 s of retries before the fallback.
    assert.ok(r.ms < 5_000, `took ${r.ms} ms`);
    assert.deepEqual(credentials(up.headers), { authorization: `Bearer ${KEYS.openaiProvider}` });
  });

  test('tool call round trip: Codex runs exec_command and sends the function_call_output back', async () => {
    // Codex's own sandbox (bubblewrap) needs user namespaces, which many CI containers refuse;
    // the only command here is the mock's `echo`, so run it unsandboxed.
    const r = await codex('Run the check. MOCK:tool', { config: apiKeyConfig('gpt-5-codex'), env: { KEYWAY_API_KEY: KEYS.openaiClient }, args: ['--dangerously-bypass-approvals-and-sandbox'] });
    const why = describeRun(r, stack);
    assert.equal(r.code, 0, why);
    assert.match(r.stdout, /TOOL_RESULT_SEEN: .*TOOL_RAN_42/s, why);
    const posts = upstreamPosts(stack);
    assert.equal(posts.length, 2, why);
    const input = (posts[1]!.json as { input: Array<{ type?: string; output?: unknown }> }).input;
    const output = input.find((i) => i.type === 'function_call_output');
    assert.match(String(output?.output), /TOOL_RAN_42/, why);
    assert.ok(posts.every((p) => p.headers.authorization === `Bearer ${KEYS.openaiClient}`));
  });

  test('on a model served only through Anthropic Messages (translation): an answer, then an exec_command round trip', async () => {
    const r = await codex('Say hi.', { config: apiKeyConfig('claude-for-codex'), env: { KEYWAY_API_KEY: KEYS.placeholder } });
    const why = describeRun(r, stack);
    assert.equal(r.code, 0, why);
    assert.ok(r.stdout.includes('MOCK_OK (anthropic claude-for-codex)'), why);
    const posts = upstreamPosts(stack);
    assert.equal(posts.length, 1, why);
    const up = posts[0]!;
    assert.equal(up.path, '/anthropic-only/v1/messages', why);
    const body = up.json as Record<string, unknown>;
    assert.equal(body.stream, true);
    assert.equal(typeof body.max_tokens, 'number');
    for (const key of ['input', 'reasoning', 'store', 'include', 'instructions', 'prompt_cache_key']) assert.ok(!(key in body), `no ${key} in an Anthropic body`);
    assert.ok(Array.isArray(body.system), "Codex's developer messages became Anthropic's system prompt");
    assert.deepEqual(credentials(up.headers), { 'x-api-key': KEYS.anthropicProvider });
    assert.equal(up.headers['anthropic-version'], '2023-06-01');
    assert.match(clientPosts(stack)[0]!.responseBody, /response\.completed/);

    stack.reset();
    const tool = await codex('Run the check. MOCK:tool', { config: apiKeyConfig('claude-for-codex'), env: { KEYWAY_API_KEY: KEYS.placeholder }, args: ['--dangerously-bypass-approvals-and-sandbox'] });
    const toolWhy = describeRun(tool, stack);
    assert.equal(tool.code, 0, toolWhy);
    assert.match(tool.stdout, /TOOL_RESULT_SEEN: .*TOOL_RAN_42/s, toolWhy);
    const turns = upstreamPosts(stack);
    assert.equal(turns.length, 2, toolWhy);
    const messages = (turns[1]!.json as { messages: Array<{ role: string; content: Array<{ type: string; id?: string; tool_use_id?: string; content?: unknown }> }> }).messages;
    const blocks = messages.flatMap((m) => m.content);
    const use = blocks.find((b) => b.type === 'tool_use');
    const result = blocks.find((b) => b.type === 'tool_result');
    assert.equal(result?.tool_use_id, use?.id, 'the call id went back unchanged');
    assert.match(JSON.stringify(result?.content), /TOOL_RAN_42/, toolWhy);
  });

  test('provider-prefixed models (openai-passthrough/gpt-5, openai/gpt-5-mini) reach that provider with the prefix stripped', async () => {
    // The bare gpt-5 goes to `openai` (higher preference); the prefix picks the passthrough provider.
    const r = await codex('Say hi.', { config: apiKeyConfig('openai-passthrough/gpt-5'), env: { KEYWAY_API_KEY: KEYS.openaiClient } });
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (openai-responses gpt-5)', '/openai-passthrough/v1/responses');
    assert.equal((JSON.parse(clientPosts(stack)[0]!.body) as { model: string }).model, 'openai-passthrough/gpt-5');
    assert.equal((up.json as { model: string }).model, 'gpt-5');
    assert.deepEqual(credentials(up.headers), { authorization: `Bearer ${KEYS.openaiClient}` });

    stack.reset();
    const r2 = await codex('Say hi.', { config: apiKeyConfig('openai/gpt-5-mini'), env: { KEYWAY_API_KEY: KEYS.placeholder } });
    const up2 = assertOneStreamedAnswer(r2, 'MOCK_OK (openai-responses gpt-5-mini)', '/openai/v1/responses');
    assert.equal((up2.json as { model: string }).model, 'gpt-5-mini');
    assert.deepEqual(credentials(up2.headers), { authorization: `Bearer ${KEYS.openaiProvider}` });
  });

  test('an invalid key is rejected by the upstream and Codex shows the upstream\'s own error', async () => {
    const r = await codex('Say hi.', { config: apiKeyConfig('gpt-5-codex'), env: { KEYWAY_API_KEY: KEYS.invalid } });
    const why = describeRun(r, stack);
    assert.equal(r.timedOut, false, why);
    assert.equal(r.code, 1, why);
    assert.match(r.stderr, /401 Unauthorized: Incorrect API key provided/, why);
    assert.equal(upstreamPosts(stack).length, 1, 'request_max_retries = 0: no retry');
    assert.equal(upstreamPosts(stack)[0]!.headers.authorization, `Bearer ${KEYS.invalid}`);
  });

  test('an unknown model gets keyway\'s readable OpenAI-format 404', async () => {
    const r = await codex('Say hi.', { config: apiKeyConfig('gpt-nope'), env: { KEYWAY_API_KEY: KEYS.openaiClient } });
    const why = describeRun(r, stack);
    assert.equal(r.code, 1, why);
    assert.match(r.stderr, /404 Not Found: model "gpt-nope" is not available for \/v1\/responses/, why);
    assert.equal(upstreamPosts(stack).length, 0);
  });

  test('an upstream that dies mid-stream: a clean failure, not a hang', async () => {
    const r = await codex('Say hi. MOCK:die-midstream', { config: apiKeyConfig('gpt-5-codex'), env: { KEYWAY_API_KEY: KEYS.openaiClient }, timeoutMs: 30_000 });
    const why = describeRun(r, stack);
    assert.equal(r.timedOut, false, why);
    assert.equal(r.code, 1, why);
    assert.match(r.stderr, /stream disconnected before completion/, why);
    assert.equal(upstreamPosts(stack).length, 1, 'stream_max_retries = 0: no retry');
    assert.match(clientPosts(stack)[0]!.responseBody, /event: error\n/);
  });
});
