/**
 * Claude Code and Gemini CLI in their Vertex AI modes, through keyway's provider `vertex`
 * (a service-account keyfile; the mock's token endpoint verifies the signed assertion):
 *
 * - Claude Code: CLAUDE_CODE_USE_VERTEX=1, ANTHROPIC_VERTEX_BASE_URL=http://HOST/v1,
 *   CLAUDE_CODE_SKIP_VERTEX_AUTH=1, ANTHROPIC_VERTEX_PROJECT_ID and CLOUD_ML_REGION set to
 *   keyway's placeholders (as the Aperture CLI does).
 * - Gemini CLI: selectedType "vertex-ai", GOOGLE_VERTEX_BASE_URL, GOOGLE_API_KEY=placeholder
 *   (express mode's short paths, which experimental_gemini_cli_vertex_compat rewrites).
 *
 * Each test checks what the CLI printed, what it sent (the tap), and what the upstream got:
 * the full Vertex path with the keyfile's project, and the minted token as the only credential.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  CLI,
  KEYS,
  VERTEX_PROJECT,
  clientPosts,
  credentials,
  describeRun,
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

const PROJECT_PLACEHOLDER = '_aperture_auto_vertex_project_id_';
const REGION_PLACEHOLDER = '_aperture_auto_vertex_region_';
const CLAUDE = 'claude-sonnet-4-5@20250929';

let stack: E2EStack;
before(async () => {
  stack = await startStack();
});
after(() => stack?.close());
beforeEach(() => stack.reset());

/** The tokens the mock issued to keyway for the e2e keyfile. */
function mintedTokens(): string[] {
  return stack.upstream.oauth.exchanges.filter((e) => e.ok && e.clientEmail === stack.vertexKey.clientEmail).map((e) => `Bearer ${e.token}`);
}

async function claudeVertex(prompt: string, args: string[] = [], region = 'global'): Promise<RunResult> {
  const box = await sandbox('claude-vertex', stack.sink);
  try {
    const env: Record<string, string> = {
      ...box.env,
      CLAUDE_CODE_USE_VERTEX: '1',
      ANTHROPIC_VERTEX_BASE_URL: `${stack.url}/v1`,
      CLAUDE_CODE_SKIP_VERTEX_AUTH: '1',
      ANTHROPIC_VERTEX_PROJECT_ID: PROJECT_PLACEHOLDER,
      CLOUD_ML_REGION: region,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      CLAUDE_CODE_MAX_RETRIES: '0',
    };
    const r = await run(CLI.claude, ['-p', prompt, '--model', CLAUDE, ...args], { env, cwd: box.work, timeoutMs: 60_000 });
    verbose(`claude (vertex) ${prompt}`, r, stack);
    return r;
  } finally {
    await box.cleanup();
  }
}

const GEMINI_SETTINGS = {
  security: { auth: { selectedType: 'vertex-ai' } },
  general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
  privacy: { usageStatisticsEnabled: false },
  telemetry: { enabled: false },
};

async function geminiVertex(prompt: string, args: string[] = []): Promise<RunResult> {
  const box = await sandbox('gemini-vertex', stack.sink);
  try {
    await mkdir(join(box.home, '.gemini'));
    await writeFile(join(box.home, '.gemini', 'settings.json'), JSON.stringify(GEMINI_SETTINGS, null, 2));
    const env: Record<string, string> = {
      ...box.env,
      GEMINI_CLI_HOME: box.home,
      GEMINI_CLI_TRUST_WORKSPACE: 'true',
      GOOGLE_VERTEX_BASE_URL: stack.url,
      GOOGLE_API_KEY: KEYS.placeholder,
    };
    const r = await run(CLI.gemini, ['-m', 'gemini-2.5-flash', '-p', prompt, ...args], { env, cwd: box.work, timeoutMs: 60_000 });
    verbose(`gemini (vertex) ${prompt}`, r, stack);
    return r;
  } finally {
    await box.cleanup();
  }
}

/** The Claude model requests (not the token counter) the upstream received. */
function claudeTurns() {
  return upstreamPosts(stack).filter((p) => p.path.includes(':streamRawPredict') || (p.path.endsWith(':rawPredict') && !p.path.includes('/count-tokens:')));
}

describe('Claude Code on Vertex AI through keyway', () => {
  test('a streamed answer: the placeholders become the keyfile project and region, the minted token is the only credential', async () => {
    const r = await claudeVertex('Say hi.', [], REGION_PLACEHOLDER);
    const why = describeRun(r, stack);
    assert.equal(r.timedOut, false, why);
    assert.equal(r.code, 0, why);
    assert.ok(r.stdout.includes(`MOCK_OK (anthropic ${CLAUDE})`), why);
    const sent = clientPosts(stack).find((e) => e.path.endsWith(`/models/${CLAUDE}:streamRawPredict`));
    assert.ok(sent, `Claude Code streamed with streamRawPredict\n${why}`);
    assert.equal(sent.path, `/v1/projects/${PROJECT_PLACEHOLDER}/locations/${REGION_PLACEHOLDER}/publishers/anthropic/models/${CLAUDE}:streamRawPredict`);
    const turns = claudeTurns();
    assert.equal(turns.length, 1, why);
    const up = turns[0]!;
    assert.equal(up.path, `/vertex/v1/projects/${VERTEX_PROJECT}/locations/global/publishers/anthropic/models/${CLAUDE}:streamRawPredict`);
    assert.equal((up.json as { model?: unknown }).model, undefined, 'the model stays in the URL');
    assert.match(String((up.json as { anthropic_version?: unknown }).anthropic_version), /^vertex-/);
    assert.ok(mintedTokens().includes(credentials(up.headers).authorization!), why);
    assert.deepEqual(Object.keys(credentials(up.headers)), ['authorization']);
    assert.equal(up.body, sent.body, 'the body is forwarded byte for byte');
    assert.match(sent.responseBody, /event: message_stop/);
    assert.deepEqual(stack.sink.attempts, [], `no outbound traffic\n${why}`);
  });

  test('a tool round trip (--allowedTools Bash): the command runs and its result goes back through rawPredict', async () => {
    const r = await claudeVertex('Run the check. MOCK:tool', ['--allowedTools', 'Bash']);
    const why = describeRun(r, stack);
    assert.equal(r.code, 0, why);
    assert.ok(r.stdout.includes('TOOL_RESULT_SEEN: TOOL_RAN_42'), why);
    const turns = claudeTurns();
    assert.equal(turns.length, 2, why);
    const events = sseData(clientPosts(stack).find((e) => e.path.includes(':streamRawPredict'))!.responseBody) as Array<{ delta?: { type?: string } }>;
    assert.ok(events.filter((e) => e.delta?.type === 'input_json_delta').length >= 2, 'input_json_delta streamed through');
    assert.match(turns[1]!.body, /TOOL_RAN_42/);
    assert.ok(turns.every((t) => mintedTokens().includes(t.headers.authorization!)));
  });
});

describe('Gemini CLI on Vertex AI through keyway', () => {
  test('express-mode short paths rewritten to the keyfile project; the placeholder key never travels', async () => {
    const r = await geminiVertex('Say hi.');
    const why = describeRun(r, stack);
    assert.equal(r.timedOut, false, why);
    assert.equal(r.code, 0, why);
    assert.ok(r.stdout.includes('MOCK_OK (gemini gemini-2.5-flash)'), why);
    const sent = clientPosts(stack).at(-1)!;
    assert.match(sent.path, /^\/v1(beta1)?\/publishers\/google\/models\/gemini-2\.5-flash:streamGenerateContent$/, why);
    const up = upstreamPosts(stack).at(-1)!;
    assert.equal(up.path, `/vertex${sent.path.startsWith('/v1beta1/') ? '/v1beta1' : '/v1'}/projects/${VERTEX_PROJECT}/locations/global/publishers/google/models/gemini-2.5-flash:streamGenerateContent`);
    assert.equal(up.query, '?alt=sse');
    assert.deepEqual(Object.keys(credentials(up.headers)), ['authorization']);
    assert.ok(mintedTokens().includes(up.headers.authorization!));
    assert.equal(upstreamSaw(stack, KEYS.placeholder), false);
    assert.match(sent.responseBody, /"finishReason":"STOP"/);
  });

  test('a tool round trip (--yolo): the function call and response go back without the ids Vertex rejects', async () => {
    const r = await geminiVertex('Run the check. MOCK:tool', ['--yolo']);
    const why = describeRun(r, stack);
    assert.equal(r.code, 0, why);
    assert.match(r.stdout, /TOOL_RESULT_SEEN: .*TOOL_RAN_42/s, why);
    const posts = upstreamPosts(stack);
    assert.ok(posts.length >= 2, why);
    const last = posts.at(-1)!.json as { contents: Array<{ parts?: Array<Record<string, { id?: unknown } | undefined>> }> };
    const parts = last.contents.flatMap((c) => c.parts ?? []);
    const call = parts.find((p) => p.functionCall)?.functionCall;
    const response = parts.find((p) => p.functionResponse)?.functionResponse;
    assert.ok(call && response, why);
    // Gemini CLI sent them (to match the result to the call); Vertex gets neither.
    const sentParts = (JSON.parse(clientPosts(stack).at(-1)!.body) as typeof last).contents.flatMap((c) => c.parts ?? []);
    assert.equal(typeof sentParts.find((p) => p.functionCall)?.functionCall?.id, 'string', 'the client sent a functionCall id');
    assert.equal(typeof sentParts.find((p) => p.functionResponse)?.functionResponse?.id, 'string', 'the client sent a functionResponse id');
    assert.equal(call.id, undefined);
    assert.equal(response.id, undefined);
    assert.match(JSON.stringify(response), /TOOL_RAN_42/);
  });
});
