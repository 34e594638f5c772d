/**
 * Captures in blocks (migration 9, src/telemetry/db/capture-blocks.ts): one zstd block per
 * written batch, each request row pointing into it. What the request log, the purge, the
 * header filter and the S3 export read must be what they read when captures were rows,
 * and a database from before the migration keeps its captures.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { decodeMultiple } from 'cbor-x';
import { decompress } from 'zstd-napi';
import { MIGRATIONS } from '../src/telemetry/db/schema.js';
import { TelemetryDb } from '../src/telemetry/db/telemetry-db.js';
import { capture, item, record } from './capture-fixtures.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyway-blocks-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
function open(): { db: TelemetryDb; path: string } {
  const path = join(dir, `t${++n}.db`);
  return { db: new TelemetryDb(path), path };
}
/** Every block's text, decompressed: what is on disk. */
function blockText(path: string): string {
  const raw = new Database(path, { readonly: true });
  const blocks = raw.prepare('SELECT data FROM capture_blocks').pluck().all() as Buffer[];
  raw.close();
  return blocks.map((b) => decompress(b).toString('utf8')).join('\n');
}
function count(path: string, sql: string): number {
  const raw = new Database(path, { readonly: true });
  const value = raw.prepare(sql).pluck().get() as number;
  raw.close();
  return value;
}

test('a batch is one block: every capture reads back whole, requests without one have none', () => {
  const { db, path } = open();
  const now = Date.now();
  db.insert([item(record('req_a', now), capture('req_a', '{"a":"Grüße 😀"}')), item(record('req_b', now + 1), null), item(record('req_c', now + 2), capture('req_c', '{"c":1}'))]);
  db.insert([item(record('req_d', now + 3), capture('req_d', '{"d":1}'))]);
  assert.equal(count(path, 'SELECT count(*) FROM capture_blocks'), 2);
  assert.equal(count(path, 'SELECT count(*) FROM captures'), 0, 'no capture rows any more');
  const { requestId: _a, ...a } = capture('req_a', '{"a":"Grüße 😀"}');
  assert.deepEqual(db.request('req_a')!.capture, a);
  const { requestId: _c, ...c } = capture('req_c', '{"c":1}');
  assert.deepEqual(db.request('req_c')!.capture, c);
  assert.equal(db.request('req_b')!.capture, null);
  assert.equal(db.request('req_d')!.capture!.requestBody, '{"d":1}');
  db.close();
});

test('purge: a block whose captures are all old goes; one that keeps a newer capture is written again without the old', () => {
  const { db, path } = open();
  const now = Date.now();
  const old = now - 2 * 3_600_000;
  // A long stream that started two hours ago is written in the same batch as a request of now.
  db.insert([item(record('req_old', old), capture('req_old', '{"secret":"old-body-test"}')), item(record('req_new', now), capture('req_new', '{"new":"kept-body-test"}'))]);
  db.insert([item(record('req_old2', old + 1), capture('req_old2', '{"old":2}'))]);
  assert.deepEqual(db.purge(now - 3_600_000, undefined), { captures: 2, tools: 0 });
  assert.equal(db.request('req_old')!.capture, null);
  assert.equal(db.request('req_old2')!.capture, null);
  assert.equal(db.request('req_new')!.capture!.requestBody, '{"new":"kept-body-test"}', 'the kept capture moved to the start of its block');
  assert.equal(count(path, 'SELECT count(*) FROM capture_blocks'), 1, 'the all-old block is gone');
  const text = blockText(path);
  assert.ok(!text.includes('old-body-test'), 'the purged body is not on disk inside the kept block');
  assert.ok(text.includes('kept-body-test'));
  assert.deepEqual(db.purge(now - 3_600_000, undefined), { captures: 0, tools: 0 }, 'nothing twice');
  assert.deepEqual(db.purge(now + 1, undefined), { captures: 1, tools: 0 });
  assert.equal(count(path, 'SELECT count(*) FROM capture_blocks'), 0);
  assert.equal(db.requests({}, 10).requests.length, 3, 'records are never purged');
  db.close();
});

test('require_export: only captures at or before the export cursor are purged, whatever their age', () => {
  const { db, path } = open();
  const old = Date.now() - 3_600_000;
  db.insert([item(record('req_1', old), capture('req_1', '{"n":"one-test"}')), item(record('req_2', old + 1), capture('req_2', '{"n":"two-test"}'))]);
  const raw = new Database(path);
  const first = raw.prepare("SELECT rowid FROM requests WHERE id = 'req_1'").pluck().get() as number;
  raw.prepare('UPDATE export_cursor SET after_rowid = ?').run(first);
  raw.close();
  assert.deepEqual(db.purge(Date.now(), undefined, true), { captures: 1, tools: 0 });
  assert.equal(db.request('req_1')!.capture, null);
  assert.equal(db.request('req_2')!.capture!.requestBody, '{"n":"two-test"}', 'not exported yet: kept');
  assert.ok(!blockText(path).includes('one-test'));
  db.close();
});

test('the header filter reads captures in blocks, across blocks, and old capture rows', () => {
  const { db, path } = open();
  const now = Date.now();
  db.insert([item(record('req_p', now), capture('req_p', '{}', 'platform')), item(record('req_d', now + 1), capture('req_d', '{}', 'data'))]);
  db.insert([item(record('req_p2', now + 2), capture('req_p2', '{}', 'platform')), item(record('req_none', now + 3), null)]);
  // A capture written before migration 9, as a row of `captures`.
  db.insert([item(record('req_legacy', now + 4), null)]);
  const raw = new Database(path);
  raw.prepare("INSERT INTO captures VALUES ('req_legacy', ?, ?, '{}', 0, '{}', '{}', 0, NULL, NULL)").run(now + 4, JSON.stringify({ 'x-team': 'platform' }));
  raw.close();
  const ids = (value: string) => db.requests({ header: { name: 'x-team', value } }, 10).requests.map((r) => r.id);
  assert.deepEqual(ids('platform'), ['req_legacy', 'req_p2', 'req_p']);
  assert.deepEqual(ids('data'), ['req_d']);
  assert.deepEqual(ids('nobody'), []);
  assert.deepEqual(db.requests({ header: { name: 'constructor', value: 'x' } }, 10).requests, [], 'a name is a key, not a property lookup');
  assert.equal(db.usage({ header: { name: 'x-team', value: 'platform' } }, undefined).totals.requests, 3);
  db.close();
});

test('a database from before migration 9 keeps its captures: read, exported and purged from `captures`', async () => {
  const path = join(dir, 'v8.db');
  const raw = new Database(path);
  raw.pragma('journal_mode = WAL');
  for (const m of MIGRATIONS.slice(0, 8)) raw.exec(m);
  raw.pragma('user_version = 8');
  const old = Date.now() - 2 * 3_600_000;
  raw.prepare(`INSERT INTO requests (id, started_at, duration_ms, login, node_id, tags, user_agent, client, format, path, requested_model, status, stream, has_usage,
    input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, web_search_count, tool_call_count, session_id, credential_source)
    VALUES ('req_v8', ?, 5, 'alice@example.com', '', '', 'test', 'api', 'openai_chat', '/v1/chat/completions', 'gpt-test', 200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 's', 'provider')`).run(old);
  raw.prepare("INSERT INTO captures VALUES ('req_v8', ?, '{\"x-team\":\"v8\"}', '{\"before\":\"migration-test\"}', 0, '{}', '{}', 0, NULL, NULL)").run(old);
  raw.close();
  const db = new TelemetryDb(path);
  db.insert([item(record('req_v9', Date.now()), capture('req_v9', '{"after":"migration-test"}'))]);
  assert.equal(db.request('req_v8')!.capture!.requestBody, '{"before":"migration-test"}');
  assert.deepEqual(db.requests({ header: { name: 'x-team', value: 'v8' } }, 10).requests.map((r) => r.id), ['req_v8']);
  const batch = (await db.exports.next(100, Date.now()))!;
  const records = decodeMultiple(decompress(Buffer.from(batch.body))) as Array<Record<string, any>>;
  assert.deepEqual(records.map((r) => r.capture?.request?.body), [{ before: 'migration-test' }, { after: 'migration-test' }], 'both kinds of capture go out, in rowid order');
  assert.deepEqual(db.purge(Date.now() - 3_600_000, undefined), { captures: 1, tools: 0 });
  assert.equal(db.request('req_v8')!.capture, null);
  assert.equal(db.request('req_v9')!.capture!.requestBody, '{"after":"migration-test"}');
  db.close();
});
