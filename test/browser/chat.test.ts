/**
 * The chat UI in real Chromium: a streamed answer appears piece by piece; Stop aborts the
 * upstream request (the mock sees the disconnect); passthrough-only models are absent until
 * an admin adds a fallback key; a user whose grant turns chat off is refused; conversations
 * survive a restart; nobody else can open them by id.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { configText, FAKE } from '../helpers.js';
import { browserSkip, GRANTS, shot, startBrowserStack, type BrowserStack } from './harness.js';

const skip = browserSkip();

function providers(u: string) {
  return {
    mock: { name: 'Mock AI', description: 'OpenAI-style test upstream', baseurl: u, apikey: FAKE.providerKey, models: ['mock-1'] },
    'anthropic-pt': {
      name: 'Anthropic (passthrough)',
      baseurl: u,
      authorization: 'x-api-key',
      auth_mode: 'passthrough',
      models: ['claude-opus-4-8'],
      compatibility: { anthropic_messages: true },
    },
  };
}

async function send(page: Page, text: string): Promise<void> {
  // The composer takes a message only when idle (Send, not Stop); a message typed while the
  // previous answer streams is not sent.
  await page.getByRole('button', { name: 'Send' }).waitFor();
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByLabel('Message', { exact: true }).press('Enter');
}

describe('chat', { skip }, () => {
  let stack: BrowserStack;
  let conversationId = '';
  before(async () => {
    stack = await startBrowserStack((u) => configText(providers(u), GRANTS));
  });
  after(() => stack?.close());
  afterEach(() => assert.deepEqual(stack.errors.splice(0), []));

  test('a streamed answer appears incrementally, as Markdown', async () => {
    const page = await stack.page('alice');
    await page.goto('/chat');
    await page.getByRole('button', { name: /Model: .*mock\/mock-1/ }).waitFor();
    await send(page, 'Say hello slowly MOCK:chunks=12,interval=120');
    const answer = page.locator('article[aria-label="Answer"]').last();
    const body = answer.locator('.message-body');
    // Sample the answer while it streams: it must grow through several lengths.
    const lengths = new Set<number>();
    for (let i = 0; i < 60 && (await answer.getAttribute('data-status')) !== 'complete'; i++) {
      lengths.add((await body.innerText()).length);
      await page.waitForTimeout(50);
    }
    await answer.and(page.locator('[data-status="complete"]')).waitFor();
    const partial = [...lengths].filter((n) => n > 0);
    assert.ok(partial.length >= 3, `saw ${partial.length} partial lengths: ${[...lengths].join(', ')}`);
    assert.match(await body.innerText(), /MOCK_OK/);
    await page.waitForURL(/\/chat\/conv_/);
    conversationId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    // The sidebar lists it under a title taken from the first message.
    await page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: /Say hello slowly/ }).waitFor();
    // The request went through the pipeline as the chat client, with the provider's key.
    const seen = stack.upstream.requests.at(-1)!;
    assert.equal(seen.headers.authorization, `Bearer ${FAKE.providerKey}`);
    let logged: { client: string; credentialSource: string } | undefined;
    for (let i = 0; i < 40 && !logged; i++) {
      logged = (await stack.api('alice', '/api/requests')).json?.requests?.[0];
      if (!logged) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(logged?.client, 'chat-ui');
    assert.equal(logged?.credentialSource, 'provider');
    await shot(page, 'chat');
  });

  test('Stop aborts the upstream request and keeps the partial answer', async () => {
    const page = await stack.page('alice');
    await page.goto('/chat');
    stack.upstream.reset();
    await send(page, 'A long one MOCK:chunks=200,interval=100');
    await page.waitForURL(/\/chat\/conv_/);
    const longId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    const answer = page.locator('article[aria-label="Answer"]').last();
    await answer.locator('.message-body').getByText(/\S/).first().waitFor();
    const aborted = stack.upstream.waitForAbort(5000);
    await page.getByRole('button', { name: 'Stop' }).click();
    const req = await aborted;
    assert.equal(req.aborted, true, 'the mock upstream saw the disconnect');
    await answer.and(page.locator('[data-status="stopped"]')).waitFor();
    await answer.getByText('stopped').waitFor();
    await page.getByRole('button', { name: 'Send' }).waitFor();
    // keyway kept the partial answer with status "stopped".
    let last: { status: string; content: string } | undefined;
    for (let i = 0; i < 40; i++) {
      last = (await stack.api('alice', `/api/chat/conversations/${longId}`)).json.messages.at(-1);
      if (last?.status === 'stopped') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(last?.status, 'stopped');
    assert.ok((last?.content.length ?? 0) > 0 && (last?.content.length ?? 0) < 200 * 5);
    await shot(page, 'chat-stopped');
  });

  test('retry and edit the last message; a system prompt per conversation', async () => {
    const page = await stack.page('alice');
    await page.goto(`/chat/${conversationId}`);
    await page.locator('article[aria-label="Answer"]').first().waitFor();
    await send(page, 'Quick one');
    const answer = page.locator('article[aria-label="Answer"]').last();
    await answer.and(page.locator('[data-status="complete"]')).waitFor();
    // The answer is stored before it shows as complete, so the composer takes the next message at once.
    assert.equal(await page.getByRole('button', { name: 'Send' }).isVisible(), true, 'Send is back as soon as the answer is complete');
    const before = (await stack.api('alice', `/api/chat/conversations/${conversationId}`)).json.messages.length as number;
    const upstreamBefore = stack.upstream.requests.length;
    await page.getByRole('button', { name: 'Retry' }).click();
    await answer.and(page.locator('[data-status="streaming"]')).or(answer.and(page.locator('[data-status="complete"]'))).first().waitFor();
    await answer.and(page.locator('[data-status="complete"]')).waitFor();
    assert.equal(stack.upstream.requests.length, upstreamBefore + 1, 'the retry asked the model again');
    assert.equal((await stack.api('alice', `/api/chat/conversations/${conversationId}`)).json.messages.length, before, 'a retry replaces the answer');
    await page.getByRole('button', { name: 'Edit' }).click();
    assert.equal(await page.getByLabel('Message', { exact: true }).inputValue(), 'Quick one');
    await page.getByLabel('Message', { exact: true }).fill('Edited question');
    await page.getByLabel('Message', { exact: true }).press('Enter');
    await page.locator('article[aria-label="You"]').last().getByText('Edited question').waitFor();
    await page.locator('article[aria-label="Answer"]').last().and(page.locator('[data-status="complete"]')).waitFor();
    const msgs = (await stack.api('alice', `/api/chat/conversations/${conversationId}`)).json.messages as Array<{ role: string; content: string }>;
    assert.equal(msgs.filter((m) => m.role === 'user').at(-1)?.content, 'Edited question');
    assert.equal(msgs.some((m) => m.content === 'Quick one'), false, 'the edited message was replaced');

    await page.getByRole('button', { name: 'System prompt' }).click();
    await page.getByRole('dialog', { name: 'System prompt' }).getByRole('textbox').fill('Answer in French.');
    await page.getByRole('dialog', { name: 'System prompt' }).getByRole('button', { name: 'Save' }).click();
    // Saved once the dialog has closed and the toolbar marks the prompt; a message typed
    // before then would race the save.
    await page.getByRole('dialog', { name: 'System prompt' }).waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'System prompt ✓' }).waitFor();
    stack.upstream.reset();
    const answers = await page.locator('article[aria-label="Answer"]').count();
    await send(page, 'Bonjour?');
    // Wait for the new answer, not the previous one, which is already complete.
    await page.locator('article[aria-label="Answer"]').nth(answers).and(page.locator('[data-status="complete"]')).waitFor();
    assert.equal(stack.upstream.requests.length, 1);
    assert.match(stack.upstream.requests[0]!.body, /Answer in French\./);
  });

  test('upstream errors read as the provider worded them', async () => {
    const page = await stack.page('alice');
    await page.goto(`/chat/${conversationId}`);
    await send(page, 'Fail please MOCK:error=429');
    const answer = page.locator('article[aria-label="Answer"]').last();
    await answer.and(page.locator('[data-status="error"]')).waitFor();
    const text = await answer.getByRole('alert').innerText();
    assert.match(text, /429/);
    await shot(page, 'chat-error');
  });

  test('passthrough-only models are absent, and appear once an admin adds a fallback key', async () => {
    const page = await stack.page('alice');
    await page.goto('/chat');
    await page.getByRole('button', { name: /Model:/ }).click();
    const list = page.getByRole('listbox', { name: 'Models' });
    await list.getByRole('option', { name: /mock\/mock-1/ }).waitFor();
    assert.equal(await list.getByRole('option', { name: /anthropic-pt/ }).count(), 0);
    const note = page.getByTestId('hidden-models');
    assert.match(await note.innerText(), /anthropic-pt\/claude-opus-4-8.*passthrough-only.*fallback key/s);
    await shot(page, 'chat-picker');
    await page.keyboard.press('Escape');

    // The admin adds a fallback key in the Providers form.
    const admin = await stack.page('admin');
    await admin.goto('/ui/providers');
    await admin.getByRole('list', { name: 'Providers' }).getByRole('button', { name: 'Anthropic (passthrough)' }).click();
    const form = admin.getByRole('form', { name: 'Provider anthropic-pt' });
    await form.getByLabel('Fallback key (optional)').fill('sk-ant-test-fallback-0001');
    await form.getByRole('button', { name: 'Save provider' }).click();
    await admin.getByTestId('toast-success').waitFor();

    // No restart, no page reload: opening the picker again shows it.
    await page.getByRole('button', { name: /Model:/ }).click();
    await list.getByRole('option', { name: /anthropic-pt\/claude-opus-4-8/ }).waitFor();
    await page.getByRole('combobox', { name: 'Search models' }).fill('opus');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: /Model: .*anthropic-pt\/claude-opus-4-8/ }).waitFor();
    stack.upstream.reset();
    await send(page, 'Through the fallback key');
    await page.locator('article[aria-label="Answer"]').last().and(page.locator('[data-status="complete"]')).waitFor();
    assert.equal(stack.upstream.requests.at(-1)!.headers['x-api-key'], 'sk-ant-test-fallback-0001');
  });

  test('a user whose grant turns chat off is refused, in the UI and the API', async () => {
    const page = await stack.page('bob');
    await page.goto('/chat');
    await page.getByRole('heading', { name: 'Chat is not available to you' }).waitFor();
    assert.match(await page.getByRole('alert').innerText(), /enable_chat_ui: false/);
    await shot(page, 'chat-refused');
    const models = await stack.api('bob', '/api/chat/models');
    assert.equal(models.status, 403);
    assert.equal(models.json.code, 'CHAT_DISABLED');
    const create = await stack.api('bob', '/api/chat/conversations', { method: 'POST', body: '{}' });
    assert.equal(create.status, 403);
  });

  test('another user cannot open a conversation by id, admins included', async () => {
    const page = await stack.page('admin');
    await page.goto(`/chat/${conversationId}`);
    await page.getByRole('alert').getByText(/no conversation/).waitFor();
    assert.equal(await page.getByText('Say hello slowly').count(), 0);
    await shot(page, 'chat-not-yours');
    for (const [method, path] of [
      ['GET', `/api/chat/conversations/${conversationId}`],
      ['PATCH', `/api/chat/conversations/${conversationId}`],
      ['DELETE', `/api/chat/conversations/${conversationId}`],
      ['POST', `/api/chat/conversations/${conversationId}/messages`],
    ] as const) {
      const r = await stack.api('admin', path, { method, body: method === 'GET' || method === 'DELETE' ? undefined : JSON.stringify({ title: 'mine now', content: 'hi', model: 'mock/mock-1' }) });
      assert.equal(r.status, 404, `${method} ${path}: ${r.text}`);
    }
    const list = (await stack.api('admin', '/api/chat/conversations')).json.conversations as Array<{ id: string }>;
    assert.equal(list.some((c) => c.id === conversationId), false);
  });

  test('conversations persist across a gateway restart', async () => {
    await stack.restart();
    const page = await stack.page('alice');
    await page.goto('/chat');
    await page.getByRole('navigation', { name: 'Conversations' }).getByRole('link', { name: /Say hello slowly/ }).click();
    await page.locator('article[aria-label="You"]').getByText('Edited question').waitFor();
    await page.locator('article[aria-label="Answer"]').first().getByText(/MOCK_OK/).first().waitFor();
    await shot(page, 'chat-after-restart');
  });

  test('chat_models curates the picker: only its models, in its order, under its labels', async () => {
    const current = await stack.api('admin', '/api/config');
    const doc = JSON.parse(current.json.config);
    doc.chat_models = [{ model: 'anthropic-pt/claude-opus-4-8', label: 'Claude Opus (team key)' }, 'mock/**'];
    const put = await stack.api('admin', '/api/config', { method: 'PUT', body: JSON.stringify({ config: JSON.stringify(doc, null, 2), hash: current.json.hash }) });
    assert.equal(put.status, 200, put.text);

    const page = await stack.page('alice');
    await page.goto('/chat');
    // The first entry is the default for someone who has not picked a model yet.
    await page.getByRole('button', { name: /Model: Claude Opus \(team key\)/ }).click();
    const options = page.getByRole('listbox', { name: 'Models' }).getByRole('option');
    await options.nth(1).waitFor();
    assert.equal(await options.count(), 2);
    assert.match(await options.nth(0).innerText(), /Claude Opus \(team key\)\s*anthropic-pt\/claude-opus-4-8/);
    assert.match(await options.nth(1).innerText(), /mock\/mock-1/);
    await page.getByRole('combobox', { name: 'Search models' }).fill('team');
    assert.equal(await options.count(), 1, 'the label is searchable');
    await shot(page, 'chat-picker-curated');
  });
});

