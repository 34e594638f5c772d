/** GET /api/telemetry/status: admins see whether the telemetry database takes writes and the queue's counts. */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, test } from 'node:test';
import type { Identity, IdentitySource } from '../src/identity/identity.js';
import { startStack, type Stack } from './helpers.js';

const CAP = 'tailscale.com/cap/aperture';
const person = (login: string): Identity => ({ login, displayName: login, nodeId: `n-${login}`, tags: [], groups: [], loopback: false, capMap: {} });
const PEOPLE: Record<string, Identity> = { admin: person('admin@example.com'), alice: person('alice@example.com') };
const byHeader: IdentitySource = { name: 'test-header', identify: (req: IncomingMessage) => PEOPLE[String(req.headers['x-test-as'] ?? 'alice')] };

let stack: Stack;
before(async () => {
  stack = await startStack(
    () =>
      JSON.stringify({
        grants: [
          { src: ['admin@example.com'], app: { [CAP]: [{ role: 'admin' }] } },
          { src: ['alice@example.com'], app: { [CAP]: [{ role: 'user' }] } },
        ],
      }),
    { identity: byHeader },
  );
});
after(() => stack?.close());

test('an admin reads the store status: SQLite always takes writes; the queue counts are there', async () => {
  const res = await fetch(`${stack.url}/api/telemetry/status`, { headers: { 'x-test-as': 'admin' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const body = (await res.json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['available', 'backend', 'dropped_captures', 'dropped_records', 'failed_writes', 'failing_since', 'last_error', 'queued', 'retries', 'written_records']);
  assert.equal(body.backend, 'sqlite');
  assert.equal(body.available, true);
  assert.equal(body.failing_since, null);
});

test('a user gets a 403 in keyway\'s envelope', async () => {
  const res = await fetch(`${stack.url}/api/telemetry/status`, { headers: { 'x-test-as': 'alice' } });
  assert.equal(res.status, 403);
  assert.match(JSON.stringify(await res.json()), /only admins/);
});
