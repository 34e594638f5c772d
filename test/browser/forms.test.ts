/**
 * Providers and Grants forms in real Chromium: a passthrough provider added through the
 * form is served at once (/v1/models, no restart); the key field turns into the optional
 * fallback key; wildcard models and /v1 base URLs are flagged; a grant edit shows its
 * effect in the live preview before it is saved, then applies.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { configText, FAKE, postJson } from '../helpers.js';
import { browserSkip, GRANTS, shot, startBrowserStack, type BrowserStack } from './harness.js';

const skip = browserSkip();

describe('providers and grants forms', { skip }, () => {
  let stack: BrowserStack;
  before(async () => {
    stack = await startBrowserStack((u) => configText({ mock: { name: 'Mock AI', baseurl: u, apikey: FAKE.providerKey, models: ['mock-1'] } }, GRANTS));
  });
  after(() => stack?.close());
  afterEach(() => assert.deepEqual(stack.errors.splice(0), []));

  test('adding a passthrough provider through the form serves its models without a restart', async () => {
    const page = await stack.page('admin');
    await page.goto('/ui/providers');
    await page.getByRole('button', { name: 'Add provider' }).first().click();
    const form = page.getByRole('form', { name: 'New provider' });
    await form.getByLabel('ID', { exact: true }).fill('anthropic-pt');
    await form.getByLabel('Name', { exact: true }).fill('Anthropic (passthrough)');
    await form.getByLabel('Base URL').fill(`${stack.upstream.url}/v1`);
    // A note (keyway collapses the doubled /v1): shown at the field, which is not marked invalid.
    await form.getByText(/ends in \/v1/).waitFor();
    assert.equal(await form.getByLabel('Base URL').getAttribute('aria-invalid'), null);
    await form.getByLabel('Base URL').fill(stack.upstream.url);
    // An error (keyway would refuse it): at the field, marked invalid, and said once.
    await form.getByLabel(/^Models/).fill('claude-opus-*');
    await form.getByText(/contains a wildcard; model names are exact/).waitFor();
    assert.equal(await form.getByLabel(/^Models/).getAttribute('aria-invalid'), 'true');
    assert.equal(await form.getByText(/contains a wildcard/).count(), 1);
    await form.getByLabel(/^Models/).fill('claude-opus-4-8\nclaude-sonnet-4-6');
    assert.equal(await form.getByText(/contains a wildcard/).count(), 0);
    await form.getByLabel('Authorization header').selectOption('x-api-key');
    await form.getByLabel('API key').waitFor();
    await form.getByLabel('Auth mode').selectOption('passthrough');
    // The key field becomes the optional fallback key and says what it is for.
    const fallback = form.getByLabel('Fallback key (optional)');
    await fallback.waitFor();
    assert.equal(await form.getByLabel('API key', { exact: true }).count(), 0);
    assert.match(await form.innerText(), /Used only for requests that arrive without a credential.*Leave it empty for passthrough-only.*hidden from chat/s);
    await form.getByLabel(/OpenAI Chat/).uncheck();
    await form.getByLabel(/Anthropic Messages/).check();
    await shot(page, 'providers-form');
    await form.getByRole('button', { name: 'Add provider' }).click();
    await page.getByTestId('toast-success').waitFor();

    const models = await stack.api('alice', '/v1/models');
    const added = models.json.data.filter((m: { metadata: { provider: { id: string } } }) => m.metadata.provider.id === 'anthropic-pt');
    assert.deepEqual(added.map((m: { id: string }) => m.id), ['claude-opus-4-8', 'claude-sonnet-4-6']);
    assert.equal(added[0].metadata.provider.requires_client_auth, true);
    // And it serves: the client's own key goes through.
    const r = await postJson(`${stack.url}/v1/messages`, { model: 'anthropic-pt/claude-opus-4-8', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }, { 'x-test-as': 'alice', 'x-api-key': FAKE.anthropicKey });
    assert.equal(r.status, 200, r.text);
    const seen = stack.upstream.requests.at(-1)!;
    assert.equal(seen.headers['x-api-key'], FAKE.anthropicKey);

    // The saved document keeps the other provider and its (masked) key.
    const cfg = await stack.api('admin', '/api/config?reveal=1');
    assert.match(cfg.json.config, new RegExp(FAKE.providerKey));
    assert.match(cfg.json.config, /"auth_mode": "passthrough"/);
    await page.getByRole('list', { name: 'Providers' }).getByText('Anthropic (passthrough)').waitFor();
    await shot(page, 'providers');
  });

  test('editing a grant shows who can use what before saving, then applies', async () => {
    const page = await stack.page('admin');
    await page.goto('/ui/grants');
    const preview = page.locator('.card', { has: page.getByRole('heading', { name: 'Who can use what' }) });
    await preview.getByLabel('Caller').fill('alice@example.com');
    await preview.getByTestId('preview').getByText('mock/mock-1').waitFor();
    assert.match(await preview.getByTestId('preview').innerText(), /allowed\s*mock\/mock-1/);

    // Narrow alice and bob's grant to anthropic-pt/** (not saved yet): the preview follows.
    await page.getByRole('button', { name: 'Edit grant 2' }).click();
    const form = page.getByRole('form', { name: 'Grant 2' });
    await form.getByLabel(/^Model patterns/).fill('anthropic-pt/**');
    await preview.getByTestId('preview').locator('li', { hasText: 'mock/mock-1' }).getByText('refused').waitFor();
    assert.match(await preview.getByTestId('preview').innerText(), /allowed\s*anthropic-pt\/claude-opus-4-8/);
    assert.equal((await stack.api('alice', '/v1/models')).json.data.some((m: { id: string }) => m.id === 'mock-1'), true, 'nothing saved yet');
    await shot(page, 'grants-edit');

    await form.getByRole('button', { name: 'Save grant' }).click();
    await page.getByTestId('toast-success').waitFor();
    const ids = (await stack.api('alice', '/v1/models')).json.data.map((m: { id: string }) => m.id);
    assert.deepEqual(ids.sort(), ['claude-opus-4-8', 'claude-sonnet-4-6']);
    await page.getByRole('heading', { name: 'Grant 2' }).waitFor();
    await shot(page, 'grants');
  });
});
