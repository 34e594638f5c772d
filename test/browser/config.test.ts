/**
 * The Configuration screen in real Chromium: problems while typing, an invalid save that
 * changes nothing, a save keyway itself rejects, a conflicting save detected with a diff,
 * and history with rollback.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { configText, FAKE } from '../helpers.js';
import { browserSkip, GRANTS, shot, startBrowserStack, type BrowserStack } from './harness.js';

const skip = browserSkip();

/** setEditor replaces the CodeMirror document as a person would: select all, type. */
export async function setEditor(page: Page, text: string): Promise<void> {
  const content = page.locator('.cm-content').first();
  await content.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
}

async function editorText(page: Page): Promise<string> {
  return page.locator('.cm-content').first().innerText();
}

describe('configuration editor', { skip }, () => {
  let stack: BrowserStack;
  let upstream: string;
  before(async () => {
    stack = await startBrowserStack((u) => {
      upstream = u;
      return configText({ mock: { name: 'Mock AI', baseurl: u, apikey: FAKE.providerKey, models: ['mock-1'] } }, GRANTS);
    });
  });
  after(() => stack?.close());
  afterEach(() => assert.deepEqual(stack.errors.splice(0), []));

  const running = async () => (await stack.api('admin', '/api/config')).json as { config: string; hash: string };

  test('an invalid configuration shows every problem with its path and changes nothing', async () => {
    const before = await running();
    const page = await stack.page('admin');
    await page.goto('/ui/config');
    await page.locator('.cm-content').waitFor();
    assert.match(await editorText(page), /"apikey": "\*\*\*\*\*\*\*\*"/, 'secrets arrive masked');
    const bad = JSON.parse(before.config.replace('"********"', '"kept"'));
    bad.providers.odd = { baseurl: upstream, auth_mode: 'sometimes', models: ['m1'] };
    bad.providers.nourl = { apikey: 'x', models: ['m2'] };
    await setEditor(page, JSON.stringify(bad, null, 2));
    const problems = page.locator('.card', { has: page.getByRole('heading', { name: 'Problems' }) }).getByTestId('problems');
    await problems.getByText('providers.odd.auth_mode').waitFor();
    await problems.getByText('providers.nourl.baseurl').waitFor();
    assert.match(await problems.innerText(), /provider odd has invalid auth_mode: sometimes/);
    assert.match(await problems.innerText(), /provider nourl has no baseurl configured/);
    // The editor underlines them too (CodeMirror lint marks).
    assert.ok((await page.locator('.cm-lintRange-warning').count()) >= 2);
    await shot(page, 'config-problems');

    await page.getByRole('button', { name: 'Review and save…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Review your change' });
    const refused = dialog.getByTestId('review-problems');
    await refused.waitFor();
    assert.match(await refused.innerText(), /invalid auth_mode/);
    assert.match(await refused.innerText(), /no baseurl configured/);
    const save = dialog.getByRole('button', { name: 'Save and apply' });
    assert.equal(await save.isDisabled(), true);
    await save.click({ force: true });
    await shot(page, 'config-review-invalid');
    await dialog.getByRole('button', { name: 'Keep editing' }).click();
    const after = await running();
    assert.equal(after.hash, before.hash, 'the running configuration did not change');
    const models = await stack.api('admin', '/v1/models');
    assert.deepEqual(models.json.data.map((m: { id: string }) => m.id), ['mock-1']);
  });

  test('a save keyway rejects says why and leaves the running configuration alone', async () => {
    const before = await running();
    const page = await stack.page('admin');
    await page.goto('/ui/config');
    await page.locator('.cm-content').waitFor();
    // Valid on its face, but it would take the saver's own admin role away (checked on save).
    const doc = JSON.parse(before.config);
    doc.grants[0].src = ['someone-else@example.com'];
    await setEditor(page, JSON.stringify(doc, null, 2));
    await page.getByRole('button', { name: 'Review and save…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Review your change' });
    await dialog.getByText('keyway accepts this configuration.').waitFor();
    await dialog.getByRole('button', { name: 'Save and apply' }).click();
    const rejected = page.getByTestId('save-rejected');
    await rejected.waitFor();
    assert.match(await rejected.innerText(), /running configuration was not changed/);
    assert.match(await rejected.innerText(), /remove your own admin role/);
    await shot(page, 'config-rejected');
    assert.equal((await running()).hash, before.hash);
  });

  test('a concurrent edit is detected and shown as a diff, never overwritten', async () => {
    const page = await stack.page('admin');
    await page.goto('/ui/config');
    await page.locator('.cm-content').waitFor();
    const opened = await running();
    const mine = opened.config.replace('"name": "Mock AI"', '"name": "Mock AI (mine)"');
    await setEditor(page, mine);

    // Someone else saves in the meantime (through the API, like a second admin would).
    const theirs = opened.config.replace('"models": [\n        "mock-1"\n      ]', '"models": [\n        "mock-1",\n        "mock-2"\n      ]');
    assert.notEqual(theirs, opened.config);
    const put = await stack.api('admin', '/api/config', { method: 'PUT', body: JSON.stringify({ config: theirs, hash: opened.hash }) });
    assert.equal(put.status, 200, put.text);

    await page.getByRole('button', { name: 'Review and save…' }).click();
    const review = page.getByRole('dialog', { name: 'Review your change' });
    await review.getByRole('button', { name: 'Save and apply' }).click();
    const conflict = page.getByRole('dialog', { name: 'Someone else saved first' });
    await conflict.getByTestId('conflict').waitFor();
    const diffText = await conflict.locator('.cm-mergeView').innerText();
    assert.match(diffText, /mock-2/, 'their change is in the diff');
    assert.match(diffText, /Mock AI \(mine\)/, 'my change is in the diff');
    await shot(page, 'config-conflict');
    const now = await running();
    assert.equal(now.hash, put.json.hash, 'their save stands');
    assert.match(now.config, /mock-2/);

    // Keep mine: it is reviewed against theirs and only then saved.
    await conflict.getByRole('button', { name: 'Keep my edit (review it against theirs)' }).click();
    await page.getByRole('button', { name: 'Review and save…' }).click();
    await page.getByRole('dialog', { name: 'Review your change' }).getByRole('button', { name: 'Save and apply' }).click();
    await page.getByTestId('toast-success').waitFor();
    const saved = await running();
    assert.match(saved.config, /Mock AI \(mine\)/);
  });

  test('history: view, diff and roll back a saved version', async () => {
    const page = await stack.page('admin');
    await page.goto('/ui/config');
    const versions = page.getByRole('list', { name: 'Saved versions' });
    await versions.locator('li').nth(1).waitFor();
    const count = await versions.locator('li').count();
    assert.ok(count >= 3, `history has ${count} versions`);
    // The last entry is the file keyway started on (the current file is always in history);
    // the oldest save is the one before it, with mock-2 but not "(mine)".
    const oldest = versions.locator('li').nth(count - 2);
    await oldest.getByRole('button', { name: /^Compare/ }).click();
    const diff = page.getByRole('dialog', { name: /→ running/ });
    await diff.locator('.cm-mergeView').waitFor();
    assert.match(await diff.locator('.cm-mergeView').innerText(), /Mock AI \(mine\)/);
    await shot(page, 'config-history-diff');
    await diff.getByRole('button', { name: 'Close' }).click();

    await oldest.getByRole('button', { name: /^Roll back/ }).click();
    const confirm = page.getByRole('dialog', { name: 'Roll back the configuration?' });
    await confirm.getByRole('button', { name: 'Roll back' }).click();
    await page.getByTestId('toast-success').waitFor();
    const now = await running();
    assert.doesNotMatch(now.config, /\(mine\)/);
    assert.match(now.config, /mock-2/);
    await versions.locator('.badge', { hasText: /^running$/ }).waitFor();
    await shot(page, 'config');
  });
});
