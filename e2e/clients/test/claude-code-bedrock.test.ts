/**
 * Claude Code in Bedrock mode (`CLAUDE_CODE_USE_BEDROCK=1`) through keyway's `/bedrock`:
 * the CLI skips AWS authentication, keyway attaches the provider's Bedrock API key. Checks
 * what the CLI printed and what the upstream received: the invoke-with-response-stream
 * path with the model ID in one segment, the bearer key, and a body without `model` or
 * `stream`; and a tool round trip.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { CLI, KEYS, clientPosts, credentials, describeRun, run, sandbox, startStack, upstreamPosts, verbose, type E2EStack, type RunResult } from './harness.js';

const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const HAIKU = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';

let stack: E2EStack;
before(async () => {
  stack = await startStack();
});
after(() => stack?.close());
beforeEach(() => stack.reset());

async function claudeOnBedrock(prompt: string, args: string[] = []): Promise<RunResult> {
  const box = await sandbox('claude-bedrock', stack.sink);
  try {
    const env: Record<string, string> = {
      ...box.env,
      CLAUDE_CODE_USE_BEDROCK: '1',
      ANTHROPIC_BEDROCK_BASE_URL: `${stack.url}/bedrock`,
      CLAUDE_CODE_SKIP_BEDROCK_AUTH: '1',
      AWS_REGION: 'us-east-1',
      ANTHROPIC_MODEL: SONNET,
      ANTHROPIC_SMALL_FAST_MODEL: HAIKU,
      ANTHROPIC_DEFAULT_HAIKU_MODEL: HAIKU,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      CLAUDE_CODE_MAX_RETRIES: '0',
    };
    const r = await run(CLI.claude, ['-p', prompt, ...args], { env, cwd: box.work, timeoutMs: 60_000 });
    verbose(`claude (bedrock) -p ${prompt}`, r, stack);
    return r;
  } finally {
    await box.cleanup();
  }
}

/** The inference requests (Claude Code may also list inference profiles first). */
function invokes() {
  return upstreamPosts(stack).filter((p) => p.path.includes('/model/'));
}

describe('Claude Code in Bedrock mode through keyway', () => {
  test('a streamed answer: invoke-with-response-stream, the model ID in one segment, the provider\'s Bedrock key', async () => {
    const r = await claudeOnBedrock('Say hi.');
    const why = describeRun(r, stack);
    assert.equal(r.timedOut, false, why);
    assert.equal(r.code, 0, why);
    assert.ok(r.stdout.includes(`MOCK_OK (bedrock-invoke ${SONNET})`), why);
    const posts = invokes();
    assert.equal(posts.length, 1, `exactly one inference request (no silent non-streaming retry)\n${why}`);
    const up = posts[0]!;
    assert.equal(up.path, `/bedrock-runtime/model/${encodeURIComponent(SONNET)}/invoke-with-response-stream`, why);
    assert.deepEqual(credentials(up.headers), { authorization: `Bearer ${KEYS.bedrockProvider}` });
    const body = up.json as Record<string, unknown>;
    assert.ok(!('model' in body) && !('stream' in body), 'Bedrock rejects model and stream in the body');
    assert.equal(typeof body.anthropic_version, 'string');
    // What Claude Code sent keyway is what the upstream got, apart from the path prefix.
    const sent = clientPosts(stack).find((p) => p.path.includes('/model/'))!;
    assert.equal(up.body, sent.body);
    // Claude Code 2.1.197 first lists the system-defined inference profiles; keyway answers.
    const profiles = stack.tap.exchanges.filter((e) => e.path === '/bedrock/inference-profiles');
    assert.deepEqual(profiles.map((e) => [e.method, e.query, e.status]), [['GET', '?type=SYSTEM_DEFINED', 200]], why);
    assert.match(profiles[0]!.responseBody, new RegExp(`"inferenceProfileId":"${SONNET.replace(/\./g, '\\.')}"`));
    // The model ID arrived with a raw ":" and went upstream as one encoded segment.
    assert.equal(sent.path, `/bedrock/model/${SONNET}/invoke-with-response-stream`);
    assert.deepEqual(stack.sink.attempts, [], `no outbound traffic\n${why}`);
  });

  test('tool call round trip (--allowedTools Bash): the command runs and its result goes back through Bedrock', async () => {
    const r = await claudeOnBedrock('Run the check. MOCK:tool', ['--allowedTools', 'Bash']);
    const why = describeRun(r, stack);
    assert.equal(r.code, 0, why);
    assert.ok(r.stdout.includes('TOOL_RESULT_SEEN: TOOL_RAN_42'), why);
    const posts = invokes();
    assert.equal(posts.length, 2, `the tool call, then the tool result\n${why}`);
    assert.ok(posts.every((p) => p.path.endsWith('/invoke-with-response-stream')), why);
    assert.match(JSON.stringify((posts[1]!.json as { messages: unknown }).messages), /tool_result.*TOOL_RAN_42/);
  });
});
