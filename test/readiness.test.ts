/**
 * /healthz and /readyz in the embedded (SQLite) mode: load balancers call them under any
 * Host name and with no identity, so they answer before both checks and say nothing
 * about the gateway but whether it is up and ready.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import type { IdentitySource } from '../src/identity/identity.js';
import { configText, startStack, type Stack } from './helpers.js';

const NOBODY: IdentitySource = { name: 'nobody', identify: () => undefined };

let stack: Stack;
before(async () => {
  stack = await startStack(() => configText({}), { identity: NOBODY });
});
after(async () => stack?.close());

function get(path: string, host: string): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const { hostname, port } = new URL(stack.url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('/readyz answers 200 once started, under any name and without an identity', async () => {
  const ready = await get('/readyz', 'lb-probe.internal');
  assert.equal(ready.status, 200);
  assert.deepEqual(JSON.parse(ready.body), { status: 'ready' });
  assert.equal(ready.headers['cache-control'], 'no-store');
  assert.equal((await get('/healthz', 'lb-probe.internal')).status, 200);
  // The same caller is refused everywhere else: the probes are the only open doors.
  assert.equal((await get('/api/whoami', '127.0.0.1')).status, 403);
  assert.equal((await get('/api/whoami', 'lb-probe.internal')).status, 421);
});
