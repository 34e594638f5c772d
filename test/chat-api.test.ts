/**
 * The chat UI's API and the dashboard's Test button, against the real pipeline: which
 * models chat offers, streamed answers, stop, retry, edit, upstream errors, ownership,
 * persistence, and telemetry records with `chat-ui` as the client.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { LOCAL_OWNER, type Identity, type IdentitySource } from '../src/identity/identity.js';
import { FAKE, configText, startStack, type Stack } from './helpers.js';

const CAP = 'tailscale.com/cap/aperture';
const people: Record<string, Identity> = {
  alice: { ...LOCAL_OWNER, login: 'alice@example.com', loopback: false },
  bob: { ...LOCAL_OWNER, login: 'bob@example.com', loopback: false },
  nochat: { ...LOCAL_OWNER, login: 'nochat@example.com', loopback: false },
};
const source: IdentitySource = { name: 'test', identify: (req: IncomingMessage) => people[String(req.headers['x-as'] ?? 'alice')] };
const GRANTS = [
  { src: ['alice@example.com'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } },
  { src: ['bob@example.com'], app: { [CAP]: [{ role: 'user' }, { models: '**' }] } },
  { src: ['nochat@example.com'], app: { [CAP]: [{ role: 'user' }, { models: '**' }, { enable_chat_ui: false }] } },
];

function providers(u: string, fallback?: string) {
  return {
    claude: { baseurl: u, authorization: 'x-api-key', auth_mode: 'passthrough', ...(fallback ? { apikey: fallback } : {}), models: ['claude-opus-4-8'], compatibility: { anthropic_messages: true } },
    openai: { baseurl: u, apikey: FAKE.providerKey, models: ['gpt-5'], compatibility: { openai_chat: true, openai_responses: true } },
    responses: { baseurl: u, apikey: FAKE.providerKey, models: ['gpt-r'], compatibility: { openai_responses: true } },
    gemini: { baseurl: u, authorization: 'x-goog-api-key', apikey: 'AIza-test-provider', models: ['gemini-2.5-flash'], compatibility: { gemini_generate_content: true } },
    bad: { baseurl: u, apikey: 'sk-test-invalid-key', models: ['gpt-bad'] },
  };
}

async function api(stack: Stack, path: string, opts: { method?: string; body?: unknown; as?: string } = {}) {
  const res = await fetch(stack.url + path, {
    method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
    headers: { 'content-type': 'application/json', 'x-as': opts.as ?? 'alice' },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as any) : undefined };
}

/** chat sends a message and collects the event stream. */
async function chat(stack: Stack, id: string, body: Record<string, unknown>, as = 'alice', signal?: AbortSignal, onDelta?: () => void) {
  const res = await fetch(`${stack.url}/api/chat/conversations/${id}/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-as': as }, body: JSON.stringify(body), signal });
  if (!res.headers.get('content-type')?.startsWith('text/event-stream')) return { status: res.status, events: [] as any[], error: (await res.json()) as any };
  const events: any[] = [];
  let buffer = '';
  try {
    for await (const chunk of res.body!) {
      buffer += Buffer.from(chunk).toString('utf8');
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const line = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (line.startsWith('data: ')) {
          const e = JSON.parse(line.slice(6));
          events.push(e);
          if (e.type === 'delta') onDelta?.();
        }
      }
    }
  } catch {
    // aborted
  }
  return { status: res.status, events, error: undefined };
}

describe('chat API', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack((u) => configText(providers(u), GRANTS), { identity: source });
  });
  after(() => stack.close());

  test('chat offers models whose provider can authenticate by itself; passthrough-only ones are hidden with a reason', async () => {
    const { json } = await api(stack, '/api/chat/models');
    assert.deepEqual(json.models.map((m: any) => m.id).sort(), ['bad/gpt-bad', 'gemini/gemini-2.5-flash', 'openai/gpt-5', 'responses/gpt-r']);
    assert.equal(json.hidden[0].id, 'claude/claude-opus-4-8');
    assert.match(json.hidden[0].reason, /passthrough-only.*fallback key/);
    assert.equal(json.models.find((m: any) => m.id === 'responses/gpt-r').format, 'openai_responses');
  });

  test('a message streams an answer, is stored, and is recorded as chat-ui traffic', async () => {
    const conv = await api(stack, '/api/chat/conversations', { body: { system_prompt: 'Be brief.' } });
    assert.equal(conv.status, 201);
    for (const model of ['openai/gpt-5', 'responses/gpt-r', 'gemini/gemini-2.5-flash']) {
      stack.upstream.reset();
      const r = await chat(stack, conv.json.id, { content: `Hello via ${model} MOCK:chunks=4`, model });
      assert.equal(r.status, 200);
      assert.equal(r.events[0].type, 'start');
      const deltas = r.events.filter((e) => e.type === 'delta');
      assert.ok(deltas.length >= 2, `${model}: ${deltas.length} deltas`);
      const [, name] = model.split('/');
      assert.match(deltas.map((d) => d.text).join(''), new RegExp(`^MOCK_OK \\(\\S+ ${name!.replace('.', '\\.')}\\)$`));
      assert.equal(r.events.at(-1).type, 'done');
      const sent = stack.upstream.requests[0]!;
      const auth = sent.headers.authorization ?? sent.headers['x-goog-api-key'];
      assert.ok(auth?.includes('test'), `${model} used the provider key`);
      assert.match(JSON.stringify(sent.json), /Be brief\./, 'the system prompt is sent');
    }
    const got = await api(stack, `/api/chat/conversations/${conv.json.id}`);
    assert.equal(got.json.conversation.title, 'Hello via openai/gpt-5 MOCK:chunks=4');
    assert.deepEqual(got.json.messages.map((m: any) => `${m.role}:${m.status}`), ['user:complete', 'assistant:complete', 'user:complete', 'assistant:complete', 'user:complete', 'assistant:complete']);
    assert.equal(got.json.messages[1].content, 'MOCK_OK (openai-chat gpt-5)');
    // The second call carried the whole conversation so far.
    await stack.keyway.telemetry!.recorder.flush();
    const rows = (await api(stack, '/api/requests?limit=50')).json.requests.filter((r: any) => r.client === 'chat-ui');
    assert.ok(rows.length >= 3);
    assert.ok(rows.every((r: any) => r.credentialSource === 'provider' && r.usage));
  });

  test('stop aborts the upstream request and keeps the partial answer', async () => {
    const conv = await api(stack, '/api/chat/conversations', { body: {} });
    const controller = new AbortController();
    const r = chat(stack, conv.json.id, { content: 'long answer MOCK:chunks=60,interval=50', model: 'openai/gpt-5' }, 'alice', controller.signal, () => controller.abort());
    await r;
    const aborted = await stack.upstream.waitForAbort(3000);
    assert.equal(aborted.aborted, true);
    let messages: any[] = [];
    for (let i = 0; i < 40; i++) {
      messages = (await api(stack, `/api/chat/conversations/${conv.json.id}`)).json.messages;
      if (messages[1]?.status !== 'streaming') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(messages[1].status, 'stopped');
    assert.ok(messages[1].content.length > 0 && messages[1].content.length < 'MOCK_OK (openai-chat gpt-5)'.length + 1);
  });

  test('retry answers the last message again; edit replaces it', async () => {
    const conv = await api(stack, '/api/chat/conversations', { body: {} });
    await chat(stack, conv.json.id, { content: 'first question', model: 'openai/gpt-5' });
    const retried = await chat(stack, conv.json.id, { retry: true, model: 'gemini/gemini-2.5-flash' });
    assert.equal(retried.events.at(-1).type, 'done');
    let messages = (await api(stack, `/api/chat/conversations/${conv.json.id}`)).json.messages;
    assert.deepEqual(messages.map((m: any) => m.content), ['first question', 'MOCK_OK (gemini gemini-2.5-flash)']);
    await chat(stack, conv.json.id, { content: 'edited question', edit: true, model: 'openai/gpt-5' });
    messages = (await api(stack, `/api/chat/conversations/${conv.json.id}`)).json.messages;
    assert.deepEqual(messages.map((m: any) => m.content), ['edited question', 'MOCK_OK (openai-chat gpt-5)']);
  });

  test('upstream errors reach the user as the provider worded them', async () => {
    const conv = await api(stack, '/api/chat/conversations', { body: {} });
    const denied = await chat(stack, conv.json.id, { content: 'hi', model: 'bad/gpt-bad' });
    assert.deepEqual(denied.events.at(-1), { type: 'error', status: 401, message: 'Incorrect API key provided' });
    const limited = await chat(stack, conv.json.id, { content: 'hi MOCK:error=429', model: 'openai/gpt-5' });
    assert.equal(limited.events.at(-1).type, 'error');
    assert.equal(limited.events.at(-1).status, 429);
    const messages = (await api(stack, `/api/chat/conversations/${conv.json.id}`)).json.messages;
    assert.equal(messages[1].status, 'error');
    assert.equal(messages[1].error, 'Incorrect API key provided');
    const passthrough = await chat(stack, conv.json.id, { content: 'hi', model: 'claude/claude-opus-4-8' });
    assert.equal(passthrough.status, 400);
    assert.equal(passthrough.error.code, 'NO_PROVIDER_KEY');
  });

  test("nobody can read another user's conversations, admins included", async () => {
    const mine = await api(stack, '/api/chat/conversations', { body: { title: 'bob private' }, as: 'bob' });
    assert.equal((await api(stack, `/api/chat/conversations/${mine.json.id}`, { as: 'alice' })).status, 404);
    assert.equal((await api(stack, `/api/chat/conversations/${mine.json.id}`, { method: 'DELETE', as: 'alice' })).status, 404);
    assert.equal((await chat(stack, mine.json.id, { content: 'x', model: 'openai/gpt-5' }, 'alice')).status, 404);
    assert.ok(!(await api(stack, '/api/chat/conversations', { as: 'alice' })).json.conversations.some((c: any) => c.id === mine.json.id));
    assert.equal((await api(stack, `/api/chat/conversations/${mine.json.id}`, { as: 'bob' })).status, 200);
    const renamed = await api(stack, `/api/chat/conversations/${mine.json.id}`, { method: 'PATCH', body: { title: 'renamed' }, as: 'bob' });
    assert.equal(renamed.json.title, 'renamed');
    assert.equal((await api(stack, `/api/chat/conversations/${mine.json.id}`, { method: 'DELETE', as: 'bob' })).status, 204);
    assert.equal((await api(stack, `/api/chat/conversations/${mine.json.id}`, { as: 'bob' })).status, 404);
  });

  test('state-changing chat, explain and test calls refuse cross-site browsers', async () => {
    for (const path of ['/api/chat/conversations', '/api/models/test', '/api/explain']) {
      const res = await fetch(stack.url + path, { method: 'POST', headers: { 'x-as': 'alice', origin: 'https://evil.example', 'content-type': 'application/json' }, body: '{}' });
      assert.equal(res.status, 403, path);
      // The front door refuses it before the CSRF check of state-changing calls is reached.
      assert.equal(((await res.json()) as { code: string }).code, 'CROSS_SITE');
    }
  });

  test('a grant with enable_chat_ui false turns chat off', async () => {
    const r = await api(stack, '/api/chat/models', { as: 'nochat' });
    assert.equal(r.status, 403);
    assert.equal(r.json.code, 'CHAT_DISABLED');
  });

  test('adding a fallback key makes a passthrough-only model appear without a restart', async () => {
    const { json } = await api(stack, '/api/config?reveal=1');
    const next = json.config.replace('"auth_mode": "passthrough",', '"auth_mode": "passthrough", "apikey": "sk-ant-test-fallback",');
    const put = await api(stack, '/api/config', { method: 'PUT', body: { config: next, hash: json.hash } });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    const models = (await api(stack, '/api/chat/models')).json.models.map((m: any) => m.id);
    assert.ok(models.includes('claude/claude-opus-4-8'));
    const conv = await api(stack, '/api/chat/conversations', { body: {} });
    stack.upstream.reset();
    const r = await chat(stack, conv.json.id, { content: 'hi', model: 'claude/claude-opus-4-8' });
    assert.equal(r.events.at(-1).type, 'done');
    assert.equal(stack.upstream.requests[0]!.headers['x-api-key'], 'sk-ant-test-fallback');
  });

  test('the Test button: an answer with a key, a refusal for passthrough-only, the provider error otherwise', async () => {
    const ok = await api(stack, '/api/models/test', { body: { provider: 'openai', model: 'gpt-5' } });
    assert.equal(ok.status, 200);
    assert.deepEqual([ok.json.ok, ok.json.status, ok.json.text], [true, 200, 'MOCK_OK (openai-chat gpt-5)']);
    const bad = await api(stack, '/api/models/test', { body: { provider: 'bad', model: 'gpt-bad' } });
    assert.deepEqual([bad.json.ok, bad.json.status, bad.json.error], [false, 401, 'Incorrect API key provided']);
    const unknown = await api(stack, '/api/models/test', { body: { provider: 'openai', model: 'nope' } });
    assert.equal(unknown.status, 404);
  });
});

describe('chat persistence', () => {
  test('conversations survive a restart', async () => {
    const stack = await startStack((u) => configText(providers(u), GRANTS), { identity: source });
    const { rm } = await import('node:fs/promises');
    try {
      const conv = await api(stack, '/api/chat/conversations', { body: { title: 'keep me' } });
      await chat(stack, conv.json.id, { content: 'remember this', model: 'openai/gpt-5' });
      await stack.keyway.close(100);
      const again = await startStack(() => '', { identity: source, upstream: stack.upstream, reuseDataDir: stack.dataDir });
      try {
        const got = await api(again, `/api/chat/conversations/${conv.json.id}`);
        assert.equal(got.json.conversation.title, 'keep me');
        assert.deepEqual(got.json.messages.map((m: any) => m.content), ['remember this', 'MOCK_OK (openai-chat gpt-5)']);
      } finally {
        await again.keyway.close(100);
      }
    } finally {
      await stack.upstream.close();
      await rm(stack.dataDir, { recursive: true, force: true });
    }
  });

  test('the Test button refuses passthrough-only providers', async () => {
    const stack = await startStack((u) => configText(providers(u), GRANTS), { identity: source });
    try {
      const r = await api(stack, '/api/models/test', { body: { provider: 'claude', model: 'claude-opus-4-8' } });
      assert.equal(r.status, 400);
      assert.equal(r.json.code, 'NO_PROVIDER_KEY');
      assert.match(r.json.error, /clients bring their own/);
    } finally {
      await stack.close();
    }
  });
});

describe('chat_models curates the chat model list', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack(
      (u) =>
        configText(providers(u, 'sk-ant-test-fallback'), GRANTS, {
          chat_models: [
            { model: 'openai/gpt-5', label: 'GPT-5 (everyday)' },
            'claude/**',
            'gemini/gemini-2.5-flash',
            { model: 'bad/gpt-bad', label: 'Broken on purpose' },
          ],
        }),
      { identity: source },
    );
  });
  after(() => stack.close());

  test('only listed models, in the order listed, with their labels; grants still decide', async () => {
    const { json } = await api(stack, '/api/chat/models');
    assert.deepEqual(
      json.models.map((m: any) => [m.id, m.label]),
      [
        ['openai/gpt-5', 'GPT-5 (everyday)'],
        ['claude/claude-opus-4-8', null],
        ['gemini/gemini-2.5-flash', null],
        ['bad/gpt-bad', 'Broken on purpose'],
      ],
    );
    assert.equal(json.models.some((m: any) => m.id === 'responses/gpt-r'), false, 'not listed: not offered');
    assert.deepEqual(json.hidden, [], 'a model left out on purpose is not reported as hidden');
  });

  test('a model chat_models leaves out cannot be chatted with', async () => {
    const conv = await api(stack, '/api/chat/conversations', { body: { model: 'responses/gpt-r' } });
    assert.equal(conv.status, 201);
    const r = await chat(stack, conv.json.id, { content: 'hi', model: 'responses/gpt-r' });
    assert.equal(r.status, 404);
    assert.match(r.error.error, /not available in chat/);
    const ok = await chat(stack, conv.json.id, { content: 'hi', model: 'openai/gpt-5' });
    assert.equal(ok.status, 200);
    assert.equal(ok.events.at(-1).type, 'done');
  });

  test('narrower grants narrow the curated list too', async () => {
    const narrow = GRANTS.map((g) => (g.src[0] === 'bob@example.com' ? { src: g.src, app: { [CAP]: [{ role: 'user' }, { models: 'gemini/**' }] } } : g));
    const saved = await stack.keyway.runtime.save(configText(providers(stack.upstream.url, 'sk-ant-test-fallback'), narrow, { chat_models: ['openai/**', 'gemini/**'] }), stack.keyway.runtime.current.hash);
    assert.equal(saved.ok, true, JSON.stringify(saved));
    assert.deepEqual((await api(stack, '/api/chat/models', { as: 'bob' })).json.models.map((m: any) => m.id), ['gemini/gemini-2.5-flash']);
    assert.deepEqual((await api(stack, '/api/chat/models')).json.models.map((m: any) => m.id), ['openai/gpt-5', 'gemini/gemini-2.5-flash']);
  });
});
