/**
 * Serving the built UI: content types, cache headers, the index.html fallback for
 * client-side routes, the browser redirect from `/`, identity before any file, and no way
 * out of the web root. Plain HTTP (node:http, so `..` reaches the server unnormalised).
 */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createStaticUi } from '../../src/server/static.js';
import { configText, startStack, type Stack } from '../helpers.js';
import { asHeader } from './harness.js';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** raw sends the path exactly as written (fetch would normalise `..` away). */
function raw(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('static UI serving', () => {
  let stack: Stack;
  let root: string;
  before(async () => {
    // A tiny fake build, so this test does not depend on `npm run build`.
    root = await mkdtemp(join(tmpdir(), 'keyway-web-'));
    await mkdir(join(root, 'assets'));
    await writeFile(join(root, 'index.html'), '<!doctype html><title>keyway</title><div id="root"></div>');
    await writeFile(join(root, 'assets', 'index-AbC123.js'), `console.log(${JSON.stringify('x'.repeat(4000))});`);
    await writeFile(join(root, 'assets', 'index-AbC123.css'), 'body{margin:0}');
    await writeFile(join(root, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(join(root, '.secret'), 'hidden');
    await writeFile(join(tmpdir(), 'keyway-outside.txt'), 'outside the web root');
    stack = await startStack((u) => configText({ p: { baseurl: u, apikey: 'k', models: ['m'] } }, [{ src: ['admin@example.com'], app: { 'tailscale.com/cap/aperture': [{ role: 'admin' }] } }]), { identity: asHeader });
  });
  after(async () => {
    await stack.close();
    await rm(root, { recursive: true, force: true });
    await rm(join(tmpdir(), 'keyway-outside.txt'), { force: true });
  });

  const me = { 'x-test-as': 'admin' };

  test('the built app (dist/web) is served at /ui/ with no-cache and a CSP', async () => {
    const r = await raw(stack.url, '/ui/', me);
    // The real build may be missing in a checkout that was not built; the fake root below covers the rules.
    if (r.status === 404) return;
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/html/);
    assert.equal(r.headers['cache-control'], 'no-cache');
    assert.match(String(r.headers['content-security-policy']), /script-src 'self'/);
    assert.match(r.body, /<div id="root">/);
  });

  test('GET / redirects browsers to /ui/; other clients keep the JSON answer', async () => {
    const browser = await raw(stack.url, '/', { ...me, accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
    assert.equal(browser.status, 302);
    assert.equal(browser.headers.location, '/ui/');
    const cli = await raw(stack.url, '/', { ...me, accept: '*/*' });
    assert.equal(cli.status, 200);
    assert.equal(JSON.parse(cli.body).name, 'keyway');
    const head = await raw(stack.url, '/', me, 'HEAD');
    assert.equal(head.status, 200);
  });

  test('UI pages need an identity like every other route', async () => {
    for (const path of ['/ui/', '/ui/models', '/chat', '/ui/favicon.svg']) {
      const r = await raw(stack.url, path);
      assert.equal(r.status, 403, path);
      assert.match(r.body, /peer_refused/i, path);
      assert.doesNotMatch(r.body, /<div id="root">/, path);
    }
  });

  describe('with a fake build', () => {
    let base: string;
    let server: import('node:http').Server;
    before(async () => {
      const ui = createStaticUi(root);
      const { createServer } = await import('node:http');
      server = createServer((req, res) => {
        const pathname = (req.url ?? '/').split('?')[0]!;
        ui.serve(req, res, pathname).then(
          (handled) => {
            if (!handled) res.writeHead(418).end('not mine');
          },
          (err: { status?: number; message: string }) => res.writeHead(err.status ?? 500).end(err.message),
        );
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    test('content types and cache headers', async () => {
      const js = await raw(base, '/ui/assets/index-AbC123.js');
      assert.equal(js.status, 200);
      assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
      assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.equal(js.headers['x-content-type-options'], 'nosniff');
      const css = await raw(base, '/ui/assets/index-AbC123.css');
      assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
      const svg = await raw(base, '/ui/favicon.svg');
      assert.equal(svg.headers['content-type'], 'image/svg+xml');
      assert.equal(svg.headers['cache-control'], 'no-cache');
      const html = await raw(base, '/ui/');
      assert.equal(html.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(html.headers['cache-control'], 'no-cache');
    });

    test('client-side routes fall back to index.html; missing files are 404', async () => {
      for (const path of ['/ui', '/ui/models', '/ui/dashboard/alice%40example.com', '/chat', '/chat/c_123', '/ui/assets']) {
        const r = await raw(base, path);
        assert.equal(r.status, 200, path);
        assert.match(r.body, /<div id="root">/, path);
      }
      assert.equal((await raw(base, '/ui/assets/missing-123.js')).status, 404);
      assert.equal((await raw(base, '/ui/nope.png')).status, 404);
      assert.equal((await raw(base, '/api/whatever')).status, 418, 'other paths are not the UI’s');
    });

    test('ETag revalidation and compression', async () => {
      const first = await raw(base, '/ui/assets/index-AbC123.js');
      const again = await raw(base, '/ui/assets/index-AbC123.js', { 'if-none-match': String(first.headers.etag) });
      assert.equal(again.status, 304);
      const gz = await raw(base, '/ui/assets/index-AbC123.js', { 'accept-encoding': 'gzip' });
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.ok(Number(gz.headers['content-length']) < 4000);
      const br = await raw(base, '/ui/assets/index-AbC123.js', { 'accept-encoding': 'gzip, deflate, br' });
      assert.equal(br.headers['content-encoding'], 'br');
      assert.equal(br.headers.vary, 'accept-encoding');
    });

    test('no directory traversal, no dotfiles', async () => {
      const attempts = [
        '/ui/../package.json',
        '/ui/../../keyway-outside.txt',
        '/ui/..%2f..%2fkeyway-outside.txt',
        '/ui/%2e%2e/%2e%2e/keyway-outside.txt',
        '/ui/assets/..%2f..%2f..%2fkeyway-outside.txt',
        '/ui/..%5c..%5ckeyway-outside.txt',
        '/ui/%2fetc%2fpasswd.txt',
        '/ui//etc/hostname.txt',
        '/ui/.secret',
        '/ui/assets/%2e%2e/.secret',
        '/ui/index.html%00.js',
        '/ui/%E0%A4%A.js',
      ];
      for (const path of attempts) {
        const r = await raw(base, path);
        assert.ok(r.status === 404 || (r.status === 200 && r.body.includes('<div id="root">')), `${path} → ${r.status} ${r.body.slice(0, 80)}`);
        assert.ok(!r.body.includes('outside the web root') && !r.body.includes('hidden') && !r.body.includes('"name"'), `${path} leaked a file`);
      }
    });
  });
});
