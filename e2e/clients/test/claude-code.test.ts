/**
 * Claude Code (`claude -p`, the real CLI from npm) through keyway, in every auth mode.
 * Each test checks what the CLI printed, what it sent to keyway (the tap) and what the
 * upstream received (the mock's log: Claude Code silently retries without streaming when
 * a stream breaks, so the printed answer alone proves little).
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startMockMcpServer, type MockMcpServer } from '../../../src/mock-upstream/mcp-server.js';
import {
  CLI,
  KEYS,
  clientPosts,
  credentials,
  describeRun,
  headerDiff,
  run,
  sandbox,
  sseData,
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

interface ClaudeRun extends RunResult {
  /** The --debug-file log, where Claude Code writes raw API errors. */
  debugLog: string;
}

interface ClaudeExtra {
  args?: string[];
  env?: Record<string, string>;
  /** Files to write under the fresh HOME (e.g. `.claude/settings.json`). */
  files?: Record<string, string>;
  /** Variables to leave out of the environment (set through settings.json instead). */
  unset?: string[];
  timeoutMs?: number;
  /** Runs in the same sandbox and environment before `claude -p` (e.g. `claude mcp add`). */
  prepare?: (env: Record<string, string>, cwd: string) => Promise<void>;
}

/** claude runs `claude -p PROMPT [--model MODEL]` with the given credential variables. */
async function claude(prompt: string, model: string | undefined, auth: Record<string, string>, extra: ClaudeExtra = {}): Promise<ClaudeRun> {
  const box = await sandbox('claude', stack.sink);
  try {
    const debugFile = join(box.home, 'claude-debug.log');
    for (const [name, text] of Object.entries(extra.files ?? {})) {
      await mkdir(join(box.home, name, '..'), { recursive: true });
      await writeFile(join(box.home, name), text, { mode: 0o600 });
    }
    const env: Record<string, string> = {
      ...box.env,
      ANTHROPIC_BASE_URL: stack.url, // no /v1: Claude Code appends /v1/messages itself
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      CLAUDE_CODE_MAX_RETRIES: '0', // 401/429/529 are otherwise retried for minutes
      ...auth,
      ...extra.env,
    };
    for (const name of extra.unset ?? []) delete env[name];
    await extra.prepare?.(env, box.work);
    const args = ['-p', prompt, ...(model === undefined ? [] : ['--model', model]), '--debug-file', debugFile, ...(extra.args ?? [])];
    const r = await run(CLI.claude, args, { env, cwd: box.work, timeoutMs: extra.timeoutMs ?? 60_000 });
    const debugLog = await readFile(debugFile, 'utf8').catch(() => '');
    verbose(`claude ${args.join(' ')}`, r, stack);
    return { ...r, debugLog };
  } finally {
    await box.cleanup();
  }
}

/** The common success checks: exit 0, answer printed, one streaming request end to end, nothing went online. */
function assertOneStreamedAnswer(r: RunResult, expectedText: string, upstreamPath: string) {
  const why = describeRun(r, stack);
  assert.equal(r.timedOut, false, why);
  assert.equal(r.code, 0, why);
  assert.ok(r.stdout.includes(expectedText), `answer printed\n${why}`);
  const posts = upstreamPosts(stack);
  assert.equal(posts.length, 1, `exactly one upstream request (no silent non-streaming retry)\n${why}`);
  const up = posts[0]!;
  assert.equal(up.path, upstreamPath, why);
  assert.equal(up.query, '?beta=true', why);
  assert.equal((up.json as { stream?: unknown }).stream, true, `the request streams\n${why}`);
  assert.equal(clientPosts(stack).length, 1, why);
  assert.equal(clientPosts(stack)[0]!.status, 200, why);
  assert.deepEqual(stack.sink.attempts, [], `no outbound traffic\n${why}`);
  return up;
}

describe('Claude Code through keyway', () => {
  test('API key (ANTHROPIC_API_KEY) through a passthrough provider: x-api-key and the client headers arrive unchanged', async () => {
    const r = await claude('Say hi.', 'claude-opus-4-8', { ANTHROPIC_API_KEY: KEYS.anthropicClient });
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (anthropic claude-opus-4-8)', '/anthropic-passthrough/v1/messages');
    const sent = clientPosts(stack)[0]!;
    // The client's own key, not the provider's fallback key, and nothing beside it.
    assert.deepEqual(credentials(up.headers), { 'x-api-key': KEYS.anthropicClient });
    // Every header the client sent reaches the upstream unchanged (and nothing is added).
    assert.deepEqual(headerDiff(sent.headers, up.headers), []);
    assert.equal(up.headers['anthropic-version'], '2023-06-01');
    assert.match(up.headers['anthropic-beta'] ?? '', /claude-code-20250219/);
    assert.match(up.headers['user-agent'] ?? '', /^claude-cli\/2\.1\.197 /);
    assert.ok(Object.keys(up.headers).some((h) => h.startsWith('x-stainless-')), 'x-stainless-* headers');
    // No model prefix to strip, so the 80 KB body is forwarded byte for byte.
    assert.equal(up.body, sent.body);
    // The SSE stream reached the client whole: Claude Code needs event: lines and content_block_stop.
    assert.match(sent.responseBody, /event: content_block_stop/);
    assert.match(sent.responseBody, /event: message_stop/);
  });

  test('subscription OAuth token (CLAUDE_CODE_OAUTH_TOKEN) through a passthrough provider with a fallback key: the bearer arrives unchanged and no x-api-key is added', async () => {
    const r = await claude('Say hi.', 'claude-opus-4-8', { CLAUDE_CODE_OAUTH_TOKEN: KEYS.anthropicOauth });
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (anthropic claude-opus-4-8)', '/anthropic-passthrough/v1/messages');
    const sent = clientPosts(stack)[0]!;
    assert.deepEqual(credentials(up.headers), { authorization: `Bearer ${KEYS.anthropicOauth}` });
    assert.equal(upstreamSaw(stack, KEYS.anthropicFallback), false, 'the fallback key never travels beside a client credential');
    assert.ok((up.headers['anthropic-beta'] ?? '').split(',').includes('oauth-2025-04-20'), `OAuth beta flag kept: ${up.headers['anthropic-beta']}`);
    assert.deepEqual(headerDiff(sent.headers, up.headers), []);
  });

  test('stored subscription login (~/.claude/.credentials.json) and only ANTHROPIC_BASE_URL: the login\'s OAuth token passes through', async () => {
    const token = 'sk-ant-test-oauth-e2e-stored-login-token-0002';
    const credentialsFile = JSON.stringify({
      claudeAiOauth: { accessToken: token, refreshToken: 'sk-ant-test-refresh-e2e-not-a-token', expiresAt: Date.now() + 86_400_000, scopes: ['user:inference', 'user:profile'], subscriptionType: 'max' },
    });
    const r = await claude('Say hi.', 'claude-opus-4-8', {}, { files: { '.claude/.credentials.json': credentialsFile } });
    const why = describeRun(r, stack);
    assert.equal(r.code, 0, why);
    assert.ok(r.stdout.includes('MOCK_OK (anthropic claude-opus-4-8)'), why);
    const posts = upstreamPosts(stack);
    assert.equal(posts.length, 1, why);
    assert.deepEqual(credentials(posts[0]!.headers), { authorization: `Bearer ${token}` });
    assert.ok((posts[0]!.headers['anthropic-beta'] ?? '').split(',').includes('oauth-2025-04-20'));
    assert.deepEqual(headerDiff(clientPosts(stack)[0]!.headers, posts[0]!.headers), []);
    // Account calls of a logged-in Claude Code go to Anthropic directly, never through keyway.
    assert.ok(stack.sink.attempts.every((a) => a.host === 'api.anthropic.com'), why);
  });

  test('ANTHROPIC_API_KEY next to a subscription login wins: the key, not the subscription token, reaches the upstream', async () => {
    const credentialsFile = JSON.stringify({
      claudeAiOauth: { accessToken: 'sk-ant-test-oauth-e2e-unused-login-0003', refreshToken: 'sk-ant-test-refresh-e2e-not-a-token', expiresAt: Date.now() + 86_400_000, scopes: ['user:inference'], subscriptionType: 'max' },
    });
    const r = await claude('Say hi.', 'claude-opus-4-8', { ANTHROPIC_API_KEY: KEYS.anthropicClient }, { files: { '.claude/.credentials.json': credentialsFile } });
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (anthropic claude-opus-4-8)', '/anthropic-passthrough/v1/messages');
    assert.deepEqual(credentials(up.headers), { 'x-api-key': KEYS.anthropicClient });
    assert.equal(upstreamSaw(stack, 'sk-ant-test-oauth-e2e-unused-login-0003'), false);
  });

  test('configured through ~/.claude/settings.json (env block) instead of environment variables', async () => {
    const settings = JSON.stringify({ env: { ANTHROPIC_BASE_URL: stack.url, ANTHROPIC_MODEL: 'claude-opus-4-8', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' } });
    const r = await claude('Say hi.', undefined, { ANTHROPIC_API_KEY: KEYS.anthropicClient }, { files: { '.claude/settings.json': settings }, unset: ['ANTHROPIC_BASE_URL', 'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC'] });
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (anthropic claude-opus-4-8)', '/anthropic-passthrough/v1/messages');
    assert.deepEqual(credentials(up.headers), { 'x-api-key': KEYS.anthropicClient });
  });

  test('gateway bearer token (ANTHROPIC_AUTH_TOKEN) through a passthrough provider with a fallback key: the bearer arrives unchanged and no x-api-key is added', async () => {
    const r = await claude('Say hi.', 'claude-opus-4-8', { ANTHROPIC_AUTH_TOKEN: KEYS.anthropicGatewayToken });
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (anthropic claude-opus-4-8)', '/anthropic-passthrough/v1/messages');
    assert.deepEqual(credentials(up.headers), { authorization: `Bearer ${KEYS.anthropicGatewayToken}` });
    assert.ok(!(up.headers['anthropic-beta'] ?? '').includes('oauth-'), 'a plain bearer, not the OAuth path');
    assert.deepEqual(headerDiff(clientPosts(stack)[0]!.headers, up.headers), []);
  });

  test('placeholder key through an override provider: the placeholder never reaches the upstream, the provider key does', async () => {
    const r = await claude('Say hi.', 'claude-haiku-4-5', { ANTHROPIC_API_KEY: KEYS.placeholder });
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (anthropic claude-haiku-4-5)', '/anthropic/v1/messages');
    assert.equal(clientPosts(stack)[0]!.headers['x-api-key'], KEYS.placeholder, 'the client did send the placeholder');
    assert.deepEqual(credentials(up.headers), { 'x-api-key': KEYS.anthropicProvider });
    assert.equal(upstreamSaw(stack, KEYS.placeholder), false);
    // Only the credential changed.
    assert.deepEqual(headerDiff(clientPosts(stack)[0]!.headers, up.headers, ['x-api-key']), []);
  });

  test('placeholder bearer (ANTHROPIC_AUTH_TOKEN) through an override provider: replaced by the provider key', async () => {
    const r = await claude('Say hi.', 'claude-haiku-4-5', { ANTHROPIC_AUTH_TOKEN: KEYS.placeholder });
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (anthropic claude-haiku-4-5)', '/anthropic/v1/messages');
    assert.deepEqual(credentials(up.headers), { 'x-api-key': KEYS.anthropicProvider });
    assert.equal(upstreamSaw(stack, KEYS.placeholder), false);
  });

  test('auth_mode none: no credential at all reaches the upstream', async () => {
    const r = await claude('Say hi.', 'claude-local-1', { ANTHROPIC_API_KEY: KEYS.anthropicClient });
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (anthropic claude-local-1)', '/anthropic-none/v1/messages');
    assert.deepEqual(credentials(up.headers), {});
    assert.equal(upstreamSaw(stack, KEYS.anthropicClient), false);
    assert.equal(upstreamSaw(stack, KEYS.anthropicNone), false);
  });

  test('tool call round trip (--allowedTools Bash): input_json_delta streams through, the command runs, its result goes back', async () => {
    const r = await claude('Run the check. MOCK:tool', 'claude-opus-4-8', { ANTHROPIC_API_KEY: KEYS.anthropicClient }, { args: ['--allowedTools', 'Bash'] });
    const why = describeRun(r, stack);
    assert.equal(r.code, 0, why);
    assert.ok(r.stdout.includes('TOOL_RESULT_SEEN: TOOL_RAN_42'), why);
    const posts = upstreamPosts(stack);
    assert.equal(posts.length, 2, `the tool call, then the tool result\n${why}`);
    assert.ok(posts.every((p) => (p.json as { stream?: unknown }).stream === true), 'both turns stream');
    // Turn 1: the tool_use block reached Claude Code as input_json_delta events.
    const events = sseData(clientPosts(stack)[0]!.responseBody) as Array<{ type?: string; delta?: { type?: string; partial_json?: string }; content_block?: { type?: string; name?: string } }>;
    const start = events.find((e) => e.type === 'content_block_start');
    assert.equal(start?.content_block?.type, 'tool_use');
    assert.equal(start?.content_block?.name, 'Bash');
    const deltas = events.filter((e) => e.delta?.type === 'input_json_delta');
    assert.ok(deltas.length >= 2, `several input_json_delta events (got ${deltas.length})`);
    assert.deepEqual(JSON.parse(deltas.map((d) => d.delta!.partial_json).join('')), { command: 'echo TOOL_RAN_42' });
    // Turn 2: the Bash output went back as a tool_result.
    const messages = (posts[1]!.json as { messages: Array<{ role: string; content: unknown }> }).messages;
    const results = messages.flatMap((m) => (Array.isArray(m.content) ? (m.content as Array<{ type?: string; content?: unknown }>) : [])).filter((b) => b.type === 'tool_result');
    assert.equal(results.length, 1, why);
    assert.match(JSON.stringify(results[0]!.content), /TOOL_RAN_42/);
    assert.deepEqual(credentials(posts[1]!.headers), { 'x-api-key': KEYS.anthropicClient });
    assert.deepEqual(stack.sink.attempts, []);
  });

  test('on a model served only through OpenAI chat (translation): a streamed answer, then a Bash tool round trip', async () => {
    const r = await claude('Say hi.', 'gpt-chat-only', { ANTHROPIC_API_KEY: KEYS.anthropicClient });
    const why = describeRun(r, stack);
    assert.equal(r.code, 0, why);
    assert.ok(r.stdout.includes('MOCK_OK (openai-chat gpt-chat-only)'), why);
    const posts = upstreamPosts(stack);
    assert.equal(posts.length, 1, `exactly one upstream request (no silent non-streaming retry)\n${why}`);
    const up = posts[0]!;
    assert.equal(up.path, '/openai-chat-only/v1/chat/completions', why);
    const body = up.json as { stream?: boolean; stream_options?: unknown; messages: Array<{ role: string }>; thinking?: unknown; system?: unknown };
    assert.equal(body.stream, true);
    assert.deepEqual(body.stream_options, { include_usage: true });
    assert.equal(body.messages[0]!.role, 'system', "Claude Code's system prompt, as OpenAI's system message");
    assert.equal(body.thinking, undefined);
    assert.equal(body.system, undefined);
    assert.deepEqual(credentials(up.headers), { authorization: `Bearer ${KEYS.openaiProvider}` });
    assert.equal(up.headers['anthropic-beta'], undefined, "Anthropic's headers stay with Anthropic");
    const client = clientPosts(stack)[0]!;
    assert.equal(client.status, 200);
    assert.match(client.responseBody, /event: message_start/);
    assert.match(client.responseBody, /event: message_stop/);
    assert.deepEqual(stack.sink.attempts, [], `no outbound traffic\n${why}`);

    stack.reset();
    const tool = await claude('Run the check. MOCK:tool', 'gpt-chat-only', { ANTHROPIC_API_KEY: KEYS.anthropicClient }, { args: ['--allowedTools', 'Bash'] });
    const toolWhy = describeRun(tool, stack);
    assert.equal(tool.code, 0, toolWhy);
    assert.ok(tool.stdout.includes('TOOL_RESULT_SEEN: TOOL_RAN_42'), toolWhy);
    const turns = upstreamPosts(stack);
    assert.equal(turns.length, 2, `the tool call, then the tool result\n${toolWhy}`);
    const events = sseData(clientPosts(stack)[0]!.responseBody) as Array<{ type?: string; delta?: { type?: string; partial_json?: string }; content_block?: { type?: string; name?: string; id?: string } }>;
    const start = events.find((e) => e.content_block?.type === 'tool_use');
    assert.equal(start?.content_block?.name, 'Bash');
    assert.deepEqual(JSON.parse(events.filter((e) => e.delta?.type === 'input_json_delta').map((e) => e.delta!.partial_json).join('')), { command: 'echo TOOL_RAN_42' });
    const messages = (turns[1]!.json as { messages: Array<{ role: string; content?: unknown; tool_call_id?: string; tool_calls?: Array<{ id: string }> }> }).messages;
    const call = messages.find((m) => m.tool_calls)?.tool_calls?.[0];
    const result = messages.find((m) => m.role === 'tool');
    assert.equal(call?.id, start?.content_block?.id, 'the call id went back unchanged');
    assert.equal(result?.tool_call_id, call?.id);
    assert.match(String(result?.content), /TOOL_RAN_42/);
    assert.deepEqual(stack.sink.attempts, []);
  });

  test('provider-prefixed model (anthropic-passthrough/claude-sonnet-4-5) reaches that provider with the prefix stripped', async () => {
    // The bare name would go to the override provider `anthropic` (higher preference).
    const r = await claude('Say hi.', 'anthropic-passthrough/claude-sonnet-4-5', { ANTHROPIC_API_KEY: KEYS.anthropicClient });
    const up = assertOneStreamedAnswer(r, 'MOCK_OK (anthropic claude-sonnet-4-5)', '/anthropic-passthrough/v1/messages');
    assert.equal((JSON.parse(clientPosts(stack)[0]!.body) as { model: string }).model, 'anthropic-passthrough/claude-sonnet-4-5');
    assert.equal((up.json as { model: string }).model, 'claude-sonnet-4-5');
    assert.deepEqual(credentials(up.headers), { 'x-api-key': KEYS.anthropicClient });
    // The bare name, for contrast: the override provider.
    stack.reset();
    const bare = await claude('Say hi.', 'claude-sonnet-4-5', { ANTHROPIC_API_KEY: KEYS.anthropicClient });
    const upBare = assertOneStreamedAnswer(bare, 'MOCK_OK (anthropic claude-sonnet-4-5)', '/anthropic/v1/messages');
    assert.deepEqual(credentials(upBare.headers), { 'x-api-key': KEYS.anthropicProvider });
  });

  test('pitfall: ANTHROPIC_BASE_URL ending in /v1 doubles the segment (/v1/v1/messages), and keyway says no such endpoint', async () => {
    const r = await claude('Say hi.', 'claude-opus-4-8', { ANTHROPIC_API_KEY: KEYS.anthropicClient }, { env: { ANTHROPIC_BASE_URL: `${stack.url}/v1` }, args: ['--output-format', 'json'] });
    const why = describeRun(r, stack);
    assert.equal(r.code, 1, why);
    assert.equal(clientPosts(stack)[0]?.path, '/v1/v1/messages', why);
    assert.equal(clientPosts(stack)[0]?.status, 404, why);
    assert.match(r.debugLog, /no such endpoint: POST \/v1\/v1\/messages/, why);
    assert.equal(stack.upstream.requests.length, 0);
  });

  test('an invalid key is rejected by the upstream, and Claude Code received the upstream\'s own error', async () => {
    const r = await claude('Say hi.', 'claude-opus-4-8', { ANTHROPIC_API_KEY: KEYS.invalid }, { args: ['--output-format', 'json'] });
    const why = describeRun(r, stack);
    assert.equal(r.timedOut, false, why);
    assert.equal(r.code, 1, why);
    const result = JSON.parse(r.stdout) as { is_error: boolean; api_error_status: number; result: string };
    assert.equal(result.is_error, true);
    assert.equal(result.api_error_status, 401);
    assert.match(result.result, /Invalid API key/); // Claude Code's own wording for a 401
    // The upstream's body, verbatim, is what Claude Code got (it logs it in its debug file).
    assert.match(r.debugLog, /401 \{"type":"error","error":\{"type":"authentication_error","message":"invalid x-api-key"\}\}/, why);
    const posts = upstreamPosts(stack);
    assert.equal(posts.length, 1, why);
    assert.equal(posts[0]!.headers['x-api-key'], KEYS.invalid, 'the client key went upstream, not the fallback');
    assert.equal(clientPosts(stack)[0]!.status, 401);
  });

  test('an unknown model gets a readable Anthropic-format 404 from keyway, and nothing goes upstream', async () => {
    const r = await claude('Say hi.', 'claude-nope-9', { ANTHROPIC_API_KEY: KEYS.anthropicClient }, { args: ['--output-format', 'json'] });
    const why = describeRun(r, stack);
    assert.equal(r.code, 1, why);
    const result = JSON.parse(r.stdout) as { is_error: boolean; api_error_status: number; result: string };
    assert.equal(result.api_error_status, 404);
    assert.match(result.result, /issue with the selected model \(claude-nope-9\)/);
    assert.match(r.debugLog, /404 \{"type":"error","error":\{"type":"not_found_error","message":"model \\"claude-nope-9\\" is not available/, why);
    assert.equal(upstreamPosts(stack).length, 0);
  });

  test('an upstream that dies mid-stream: a clean failure with keyway\'s error event, not a hang', async () => {
    // With the non-streaming fallback off, Claude Code reports the stream's own error event.
    const r = await claude('Say hi. MOCK:die-midstream', 'claude-opus-4-8', { ANTHROPIC_API_KEY: KEYS.anthropicClient }, { env: { CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK: '1' }, timeoutMs: 30_000 });
    const why = describeRun(r, stack);
    assert.equal(r.timedOut, false, why);
    assert.equal(r.code, 1, why);
    assert.match(r.stdout + r.stderr, /API Error: upstream provider connection failed/, why);
    assert.equal(upstreamPosts(stack).length, 1, why);
    assert.match(clientPosts(stack)[0]!.responseBody, /event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);
  });

  test('an upstream that dies mid-stream, default settings: Claude Code retries without streaming, which also fails cleanly', async () => {
    const r = await claude('Say hi. MOCK:die-midstream', 'claude-opus-4-8', { ANTHROPIC_API_KEY: KEYS.anthropicClient }, { timeoutMs: 30_000 });
    const why = describeRun(r, stack);
    assert.equal(r.timedOut, false, why);
    assert.equal(r.code, 1, why);
    assert.match(r.stdout + r.stderr, /API Error/, why);
    const posts = upstreamPosts(stack);
    // The upstream log shows what the printed message hides: a second, non-streaming request.
    assert.equal(posts.length, 2, why);
    assert.equal((posts[0]!.json as { stream?: unknown }).stream, true);
    assert.notEqual((posts[1]!.json as { stream?: unknown }).stream, true);
  });
});

describe('Claude Code with keyway as its MCP server (claude mcp add --transport http)', () => {
  let weather: MockMcpServer;
  let original: string;
  before(async () => {
    weather = await startMockMcpServer({
      tools: [
        {
          name: 'weather',
          description: 'The weather at a place',
          inputSchema: { type: 'object', properties: { location: { type: 'string', description: 'a city' } }, required: ['location'] },
          run: (args) => ({ content: [{ type: 'text', text: `MCP_TOOL_RAN_77 sunny in ${String(args.location)}` }] }),
        },
      ],
    });
    const runtime = stack.keyway.runtime;
    original = runtime.current.text;
    const doc = JSON.parse(original) as { grants: Array<{ app: Record<string, unknown[]> }>; mcp?: unknown };
    doc.mcp = { servers: { local: { url: weather.url } } };
    doc.grants[0]!.app['tailscale.com/cap/aperture']!.push({ mcp_tools: '**' });
    const saved = await runtime.save(JSON.stringify(doc, null, 2), runtime.current.hash);
    assert.equal(saved.ok, true, JSON.stringify(saved));
    await stack.keyway.mcp.ready();
  });
  after(async () => {
    await stack.keyway.runtime.save(original, stack.keyway.runtime.current.hash);
    await weather?.close();
  });

  test('the mock model asks for the MCP tool; Claude Code lists and calls it through keyway, and the result goes back', async () => {
    const tool = 'mcp__keyway__local_weather';
    const r = await claude(`What is the weather? MOCK:tool=${tool}`, 'claude-opus-4-8', { ANTHROPIC_API_KEY: KEYS.anthropicClient }, {
      args: ['--allowedTools', tool],
      timeoutMs: 90_000,
      prepare: async (env, cwd) => {
        const added = await run(CLI.claude, ['mcp', 'add', '--transport', 'http', '--scope', 'user', 'keyway', `${stack.url}/v1/mcp`], { env, cwd, timeoutMs: 30_000 });
        assert.equal(added.code, 0, `claude mcp add: ${added.stdout}\n${added.stderr}`);
      },
    });
    const why = describeRun(r, stack);
    assert.equal(r.code, 0, why);
    assert.ok(r.stdout.includes('TOOL_RESULT_SEEN: MCP_TOOL_RAN_77 sunny in Paris'), why);
    // The model saw keyway's tool among Claude Code's tools, named as Claude Code names MCP tools.
    const first = upstreamPosts(stack)[0]!.json as { tools?: Array<{ name: string; description?: string }> };
    assert.ok(first.tools?.some((t) => t.name === tool), why);
    // The call reached the upstream with keyway's prefix stripped.
    assert.deepEqual(weather.calls, [{ name: 'weather', arguments: { location: 'Paris' } }]);
    // Claude Code spoke MCP to keyway (through the tap), and nothing went online.
    const mcp = stack.tap.exchanges.filter((e) => e.path.startsWith('/v1/mcp'));
    assert.ok(mcp.some((e) => e.method === 'POST' && e.body.includes('"tools/call"')), why);
    assert.ok(mcp.every((e) => e.status < 500), why);
    assert.deepEqual(stack.sink.attempts, [], why);
    // No client credential went to the MCP server.
    assert.ok(weather.requests.every((q) => q.headers['x-api-key'] === undefined && q.headers.authorization === undefined));
  });
});
