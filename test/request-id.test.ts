/**
 * Request ids and captured headers: the two helpers every recorded request goes through.
 * Ids must keep their shape and order (the database's primary key relies on ids that
 * grow), and a captured header set never keeps a credential or a Tailscale header.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactHeaders } from '../src/telemetry/capture.js';
import { newRequestId } from '../src/telemetry/trace.js';

test('request ids: req_, 11 hex digits of milliseconds, a 4-digit counter, a 5-digit process part; unique and growing', async () => {
  const ids: string[] = [];
  for (let i = 0; i < 70_000; i++) {
    ids.push(newRequestId());
    if (i === 35_000) await new Promise((r) => setTimeout(r, 3)); // across a millisecond boundary too
  }
  const shape = /^req_[0-9a-f]{11}[0-9a-f]{4}[0-9a-f]{5}$/;
  for (const id of [ids[0]!, ids[35_000]!, ids.at(-1)!]) assert.match(id, shape);
  const ms = (id: string) => parseInt(id.slice(4, 15), 16);
  const before = Date.now();
  assert.ok(Math.abs(ms(newRequestId()) - before) <= 5, 'the time part is now, in milliseconds');
  // The counter wraps after 65,536 ids; within one millisecond that many never happen, so
  // consecutive ids in one millisecond differ and, apart from the wrap, grow.
  assert.equal(new Set(ids).size, ids.length, 'no id twice');
  let fallsBack = 0;
  for (let i = 1; i < ids.length; i++) if (ids[i]! <= ids[i - 1]!) fallsBack++;
  assert.ok(fallsBack <= 1, `ids grow (the counter's one wrap aside): ${fallsBack} fell back`);
  assert.equal(new Set(ids.map((id) => id.slice(-5))).size, 1, 'one process part');
});

test('captured headers: credentials redacted, Tailscale headers dropped, lists joined, names lower-cased', () => {
  const out = redactHeaders({
    Authorization: 'Bearer sk-test-secret',
    'x-api-key': 'sk-ant-test-secret',
    cookie: 'a=b',
    'Tailscale-User-Login': 'alice@example.com',
    'X-Forwarded-For': ['10.0.0.1', '10.0.0.2'],
    'content-type': 'application/json',
    absent: undefined,
  });
  assert.deepEqual(out, {
    authorization: '[redacted]',
    'x-api-key': '[redacted]',
    cookie: '[redacted]',
    'x-forwarded-for': '10.0.0.1, 10.0.0.2',
    'content-type': 'application/json',
  });
  // A header called like an Object property is just a header.
  assert.deepEqual(redactHeaders(JSON.parse('{"__proto__": "x", "constructor": "y"}') as Record<string, string>), JSON.parse('{"__proto__": "x", "constructor": "y"}'));
});
