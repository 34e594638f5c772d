/**
 * The S3 export in the dashboard, in real Chromium: while the export fails an admin sees
 * a banner on every screen and the overview's export card with the backlog; once the
 * server is back the banner goes and the card says the export is up to date. Users see
 * neither (GET /api/export is for admins).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { FAKE, postJson } from '../helpers.js';
import { startS3, type TestS3 } from '../s3-server.js';
import { browserSkip, GRANTS, shot, startBrowserStack, type BrowserStack } from './harness.js';

const skip = browserSkip();
const SECRET = 'test-s3-browser-secret-0001';

describe('S3 export in the dashboard', { skip }, () => {
  let s3: TestS3;
  let stack: BrowserStack;
  before(async () => {
    s3 = await startS3({ bucket: 'dash-bucket', region: 'us-east-1', keys: { FAKETESTDASH: SECRET } });
    s3.setMode('dash', 'outage');
    stack = await startBrowserStack((u) =>
      JSON.stringify({
        providers: { mock: { baseurl: u, apikey: FAKE.providerKey, models: ['gpt-4o'] } },
        grants: GRANTS,
        exporters: { s3: { endpoint: s3.endpoint, bucket_name: 'dash-bucket', prefix: 'dash', access_key_id: 'FAKETESTDASH', access_secret: SECRET, every: '1s' } },
        database: { retention: { duration: '720h', require_export: true } },
      }),
    );
    assert.equal((await postJson(`${stack.url}/v1/chat/completions`, { model: 'gpt-4o', messages: [{ role: 'user', content: 'archive me' }] }, { 'x-test-as': 'alice' })).status, 200);
  });
  after(async () => {
    await stack?.close();
    await s3?.close();
  });
  afterEach(() => assert.deepEqual(stack.errors.splice(0), []));

  test('a failing export shows a banner on every admin screen and the backlog on the overview; recovery clears it', async () => {
    const page = await stack.page('admin');
    await page.goto('/ui/');
    // The first attempt comes a second after start; the banner appears on the next poll or load.
    for (let i = 0; i < 50 && (await stack.api('admin', '/api/export')).json.state !== 'failing'; i++) await new Promise((r) => setTimeout(r, 100));
    await page.reload();
    const banner = page.getByTestId('export-banner');
    await banner.getByText('The S3 export is failing').waitFor();
    assert.match((await banner.textContent()) ?? '', /ServiceUnavailable.*1 record waits.*Captures are kept until they are exported/s);
    assert.ok(!((await banner.textContent()) ?? '').includes(SECRET));
    const card = page.getByTestId('export-card');
    await card.getByText('dash-bucket').waitFor();
    assert.match((await card.textContent()) ?? '', /dash\/ts-aperture-export-<unix seconds>\.cbor\.zstd/);
    await shot(page, 'export-failing');
    // Every screen, not only the overview.
    await page.goto('/ui/logs');
    await page.getByTestId('export-banner').waitFor();

    s3.setMode('dash', 'pass');
    for (let i = 0; i < 50 && (await stack.api('admin', '/api/export')).json.pending_records !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    await page.goto('/ui/');
    await page.getByTestId('export-card').getByText('Nothing waits: the export is up to date.').waitFor();
    assert.equal(await page.getByTestId('export-banner').count(), 0);
    assert.equal((await s3.keys()).filter((k) => k.startsWith('dash/')).length, 1);
  });

  test('users see no banner and cannot read the export status', async () => {
    s3.setMode('dash', 'outage');
    assert.equal((await stack.api('alice', '/api/export')).status, 403);
    const page = await stack.page('alice');
    await page.goto('/ui/');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    assert.equal(await page.getByTestId('export-banner').count(), 0);
    assert.equal(await page.getByTestId('export-card').count(), 0);
  });
});
