/**
 * The S3 export (`exporters.s3`) and `database.retention.require_export`, against a real
 * S3-compatible server on loopback (test/s3-server.ts: s3rver behind a SigV4-checking
 * gate). Every object is read back from the server and decoded (zstd, CBOR sequence).
 */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../src/log.js';
import { objectKey, retryDelayMs } from '../src/telemetry/export/exporter.js';
import { configText, postJson, startStack, type Stack } from './helpers.js';
import { startS3, type TestS3 } from './s3-server.js';

const KEY_ID = 'FAKETESTKEYWAY0001';
const SECRET = 'test-s3-secret-c4n4ry-0001';
const ENV_KEY_ID = 'FAKETESTFROMENV0002';
const ENV_SECRET = 'test-s3-env-secret-c4n4ry-0002';
const PREFIX = 'keyway/exports';
const OBJECT_KEY = /^keyway\/exports\/ts-aperture-export-(\d{10})\.cbor\.zstd$/;

function providers(u: string) {
  return {
    anthropic: { baseurl: u, authorization: 'x-api-key', apikey: 'sk-ant-test-provider-0001', models: ['claude-opus-4-8'], compatibility: { anthropic_messages: true } },
    openai: { baseurl: u, apikey: 'sk-test-provider-0002', models: ['gpt-5'], compatibility: { openai_chat: true } },
  };
}

function exportDoc(u: string, s3: TestS3, s3Extra: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): string {
  const exporter = { endpoint: s3.endpoint, bucket_name: s3.bucket, region: s3.region, prefix: PREFIX, access_key_id: KEY_ID, access_secret: SECRET, every: '1s', ...s3Extra };
  return configText(providers(u), undefined, { exporters: { s3: exporter }, ...extra });
}

/** A logger whose lines the test can read. */
function capturedLog() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLogger('debug', sink), text: () => lines.join('') };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function recordsOf(s3: TestS3, keys: string[]): Promise<Array<Record<string, any>>> {
  const out: Array<Record<string, any>> = [];
  for (const key of keys) out.push(...(await s3.records(key)));
  return out;
}

async function exportStatus(stack: Stack): Promise<any> {
  const res = await fetch(`${stack.url}/api/export`);
  assert.equal(res.status, 200);
  return res.json();
}

const chat = (stack: Stack, content: string, extra: Record<string, unknown> = {}) =>
  postJson(`${stack.url}/v1/messages`, { model: 'claude-opus-4-8', max_tokens: 64, messages: [{ role: 'user', content }], ...extra }, { 'anthropic-version': '2023-06-01', 'x-session-id': 'sess_export_test' });

// Each test writes under its own prefix, so they run side by side against one server.
describe('S3 export', { concurrency: true }, () => {
  let s3: TestS3;
  before(async () => {
    s3 = await startS3({ bucket: 'audit-bucket', region: 'eu-west-3', keys: { [KEY_ID]: SECRET, [ENV_KEY_ID]: ENV_SECRET } });
  });
  after(() => s3.close());

  test('objects are SigV4-signed for the region, path-style, named <prefix>/ts-aperture-export-<unix seconds>.cbor.zstd, with the reference fields', async () => {
    const logs = capturedLog();
    const stack = await startStack((u) => exportDoc(u, s3), { log: logs.log });
    try {
      const before = Math.floor(Date.now() / 1000);
      const tools = [{ name: 'bash', description: 'run a command', input_schema: { type: 'object', properties: { command: { type: 'string' } } } }];
      // `MOCK:tool` makes the mock upstream answer with a call of the tool.
      const first = await chat(stack, 'hello export MOCK:tool', { tools });
      assert.equal(first.status, 200);
      const second = await postJson(`${stack.url}/v1/chat/completions`, { model: 'gpt-5', messages: [{ role: 'user', content: 'second' }] });
      assert.equal(second.status, 200);
      const keys = await waitFor('the records to be exported', async () => {
        const k = (await s3.keys()).filter((key) => key.startsWith(`${PREFIX}/`));
        return (await recordsOf(s3, k)).length >= 2 && k;
      });
      for (const key of keys) {
        const m = OBJECT_KEY.exec(key);
        assert.ok(m, `object key ${key}`);
        assert.ok(Number(m[1]) >= before && Number(m[1]) <= Date.now() / 1000 + 1, 'the key is the unix time of the export');
      }
      for (const r of s3.requests) {
        assert.ok(r.path.startsWith('/audit-bucket/'), `path-style: ${r.path}`);
        assert.equal(r.host, new URL(s3.endpoint).host, 'the bucket is not in the host name');
      }
      const mine = s3.requests.filter((r) => r.path.startsWith(`/audit-bucket/${PREFIX}/`));
      assert.ok(mine.length >= 1);
      for (const r of mine) {
        assert.equal(r.verdict, 'ok', `${r.method} ${r.path}: ${r.verdict}`);
        assert.match(r.path, /^\/audit-bucket\/keyway\/exports\/ts-aperture-export-\d+\.cbor\.zstd\?x-id=PutObject$/, 'only export objects under the prefix');
      }

      const [a, b] = await recordsOf(s3, keys);
      assert.ok(a && b);
      assert.ok(Number.isInteger(a.id) && b.id > a.id, 'ids are integers in the order the records were written');
      assert.equal(a.ver, 2);
      assert.ok(a.timestamp instanceof Date && Math.abs(a.timestamp.getTime() - Date.now()) < 60_000);
      assert.equal(a.request_id, first.headers.get('x-keyway-request-id'));
      assert.deepEqual(a.identity, { login_name: 'local-owner', stable_node_id: '', tags: [] });
      assert.equal(a.model, 'claude-opus-4-8');
      assert.equal(a.api_type, 'ant_messages');
      assert.equal(b.api_type, 'oai_completions');
      assert.ok(a.usage.input_tokens > 0 && a.usage.output_tokens > 0, JSON.stringify(a.usage));
      for (const k of ['cached_tokens', 'cache_creation_input_tokens', 'reasoning_tokens']) assert.equal(typeof a.usage[k], 'number', k);
      assert.equal(typeof a.estimated_cost, 'number', 'claude-opus-4-8 has a price');
      assert.ok(a.duration_ms >= 0);
      assert.equal(a.session_id, 'sess_export_test');
      assert.equal(a.path, '/v1/messages');
      assert.equal(a.status_code, 200);
      assert.equal(a.capture_id, a.request_id);
      assert.deepEqual(a.capture.request.body, { model: 'claude-opus-4-8', max_tokens: 64, messages: [{ role: 'user', content: 'hello export MOCK:tool' }], tools }, 'the request body, as JSON');
      assert.equal(a.capture.request.headers['x-api-key'], undefined, 'the client sent no key');
      assert.equal(a.capture.response.body.type, 'message');
      assert.deepEqual(a.capture.tool_use, [{ name: 'bash', input: { command: 'echo TOOL_RAN_42' } }]);

      const status = await exportStatus(stack);
      assert.equal(status.state, 'idle');
      assert.equal(status.exported_records, 2);
      assert.equal(status.pending_records, 0);
      assert.equal(status.lag_seconds, 0);
      assert.deepEqual(status.destination, { endpoint: s3.endpoint, bucket: 'audit-bucket', region: 'eu-west-3', prefix: PREFIX, key_pattern: `${PREFIX}/ts-aperture-export-<unix seconds>.cbor.zstd` });
      assert.match(status.last_object_key, OBJECT_KEY);
      const metrics = await (await fetch(`${stack.url}/metrics`)).text();
      assert.match(metrics, /keyway_export_records_total 2\b/);
      assert.match(metrics, /keyway_export_objects_total\{result="ok"\} [1-9]/);
      assert.match(metrics, /keyway_export_pending_records 0\b/);
      assert.match(metrics, /keyway_export_consecutive_failures 0\b/);

      // The secret is masked in the config read and appears in no answer and no log line.
      const config = await (await fetch(`${stack.url}/api/config`)).text();
      for (const text of [config, JSON.stringify(status), metrics, logs.text()]) assert.ok(!text.includes(SECRET), 'the S3 secret leaked');
      assert.match(logs.text(), /telemetry exported to S3/);
    } finally {
      await stack.close();
    }
  });

  test('the server checks SigV4: a wrong secret or a signature for another region is refused, and the export says so', async () => {
    for (const [s3Extra, why] of [
      [{ prefix: 'bad-secret', access_secret: 'test-s3-wrong-secret' }, /SignatureDoesNotMatch/],
      [{ prefix: 'bad-region', region: 'us-east-1' }, /SignatureDoesNotMatch/],
    ] as const) {
      const stack = await startStack((u) => exportDoc(u, s3, s3Extra));
      try {
        await chat(stack, 'refused upload');
        const status = await waitFor('a refused upload', async () => {
          const st = await exportStatus(stack);
          return st.consecutive_failures >= 1 && st;
        });
        assert.match(status.last_error.message, why);
        assert.ok(!status.last_error.message.includes('test-s3-wrong-secret'));
        assert.deepEqual((await s3.keys()).filter((k) => k.startsWith(`${s3Extra.prefix}/`)), []);
      } finally {
        await stack.close();
      }
    }
    assert.ok(s3.requests.some((r) => r.verdict === 'SignatureDoesNotMatch'));
  });

  test('at most `limit` records an object, in the order they were written, each exactly once; credentials from the AWS environment', async () => {
    const prefix = 'split';
    const stack = await startStack((u) => exportDoc(u, s3, { prefix, limit: 2, access_key_id: undefined, access_secret: undefined }), {
      env: { AWS_ACCESS_KEY_ID: ENV_KEY_ID, AWS_SECRET_ACCESS_KEY: ENV_SECRET },
    });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await chat(stack, `message ${i}`)).headers.get('x-keyway-request-id')!);
      const mine = async () => (await s3.keys()).filter((k) => k.startsWith(`${prefix}/`));
      const keys = await waitFor('five records in objects of two', async () => {
        const k = await mine();
        let n = 0;
        for (const key of k) n += (await s3.records(key)).length;
        return n >= 5 && k;
      }, 12_000);
      assert.ok(keys.length >= 3, `${keys.length} objects for 5 records at limit 2`);
      const seq: Array<Record<string, any>> = [];
      for (const key of keys) {
        const records = await s3.records(key);
        assert.ok(records.length >= 1 && records.length <= 2, `${key} holds ${records.length} records`);
        seq.push(...records);
      }
      assert.deepEqual(seq.map((r) => r.request_id), ids, 'every record once, in order, across objects in key order');
      for (let i = 1; i < seq.length; i++) assert.ok(seq[i]!.id > seq[i - 1]!.id);
      assert.ok(s3.requests.some((r) => r.path.startsWith(`/audit-bucket/${prefix}/`) && r.verdict === 'ok'), 'signed with the key pair from the environment');
    } finally {
      await stack.close();
    }
  });

  test('an outage moves nothing and never slows inference: errors in the log (no secret), /metrics and /api/export; after a restart and recovery everything goes out once', async () => {
    const prefix = 'outage';
    const logs = capturedLog();
    s3.setMode(prefix, 'outage');
    const first = await startStack((u) => exportDoc(u, s3, { prefix }), { log: logs.log });
    let stack = first;
    const mine = async () => (await s3.keys()).filter((k) => k.startsWith(`${prefix}/`));
    try {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const r = await chat(stack, `during the outage ${i}`);
        assert.equal(r.status, 200);
        assert.ok(performance.now() - t0 < 2000, 'inference answers during the outage');
        ids.push(r.headers.get('x-keyway-request-id')!);
      }
      const failing = await waitFor('the export to fail', async () => {
        const s = await exportStatus(stack);
        return s.consecutive_failures >= 2 && s;
      });
      assert.equal(failing.state, 'failing');
      assert.match(failing.last_error.message, /ServiceUnavailable|outage/);
      assert.equal(failing.pending_records, 3);
      assert.ok(failing.oldest_pending_at);
      assert.deepEqual(await mine(), [], 'nothing was stored');
      const metrics = await (await fetch(`${stack.url}/metrics`)).text();
      assert.match(metrics, /keyway_export_objects_total\{result="error"\} [1-9]/);
      assert.match(metrics, /keyway_export_pending_records 3\b/);
      assert.match(metrics, /keyway_export_consecutive_failures [1-9]/);
      assert.match(logs.text(), /S3 export failed/);
      // A retry in flight is still failing: the dashboard's banner does not blink out while it runs.
      s3.setMode(prefix, 'hold');
      await waitFor('a retry to be in flight', async () => s3.held(prefix) > 0);
      const retrying = await exportStatus(stack);
      assert.equal(retrying.state, 'failing');
      assert.ok(retrying.consecutive_failures >= 2);
      s3.setMode(prefix, 'outage'); // answers the held upload with an error

      // A restart during the outage: the cursor is in the database.
      stack = await restart(first, logs.log);
      s3.setMode(prefix, 'pass');
      await waitFor('the backlog to go out', async () => (await exportStatus(stack)).pending_records === 0);
      for (let i = 0; i < 2; i++) ids.push((await chat(stack, `after recovery ${i}`)).headers.get('x-keyway-request-id')!);
      await waitFor('the new records to go out', async () => (await exportStatus(stack)).exported_records === 5);
      const exported: string[] = [];
      for (const key of await mine()) exported.push(...(await s3.records(key)).map((r) => r.request_id as string));
      assert.deepEqual(exported, ids, 'recorded during the outage, exported after it, each once');
      assert.equal((await exportStatus(stack)).state, 'idle');
      assert.ok(!logs.text().includes(SECRET), 'the S3 secret is in the log');
    } finally {
      s3.setMode(prefix, 'pass');
      await closeBoth(first, stack);
    }
  });

  test('a failing export backs off: 1 s, 2 s, 4 s … up to `every` or five minutes', async () => {
    assert.deepEqual([1, 2, 3, 4, 9, 10, 50].map((n) => retryDelayMs(n, 3_600_000)), [1000, 2000, 4000, 8000, 256_000, 300_000, 300_000]);
    assert.deepEqual([1, 2, 3].map((n) => retryDelayMs(n, 1500)), [1000, 1500, 1500], 'never longer than every');
    assert.equal(objectKey('', 1_800_000_000), 'ts-aperture-export-1800000000.cbor.zstd');
    const prefix = 'backoff';
    s3.setMode(prefix, 'outage');
    // A record written before the export is configured: an hourly export with nothing
    // exported yet tries at once, then after 1 s, then 2 s.
    const first = await startStack((u) => configText(providers(u)));
    await chat(first, 'wait for me');
    await writeFile(first.configPath, exportDoc(first.upstream.url, s3, { prefix, every: '1h' }));
    const stack = await restart(first);
    try {
      const s = await waitFor('two failures', async () => {
        const st = await exportStatus(stack);
        return st.consecutive_failures >= 2 && st;
      });
      const wait = Date.parse(s.next_attempt_at) - Date.parse(s.last_error.at);
      assert.ok(wait >= 1800 && wait <= 2200, `the second retry waits about 2 s, not ${wait} ms`);
      assert.equal(s.every_seconds, 3600);
    } finally {
      s3.setMode(prefix, 'pass');
      await closeBoth(first, stack);
    }
  });

  test('an upload stored but answered with an error goes out again under the same key: one object, not two', async () => {
    const prefix = 'retry-same-key';
    s3.setMode(prefix, 'store-then-fail');
    const stack = await startStack((u) => exportDoc(u, s3, { prefix }));
    try {
      await chat(stack, 'stored twice?');
      await waitFor('a failed attempt', async () => (await exportStatus(stack)).consecutive_failures >= 1);
      await new Promise((r) => setTimeout(r, 1500));
      s3.setMode(prefix, 'pass');
      await waitFor('the export to succeed', async () => (await exportStatus(stack)).pending_records === 0);
      const keys = (await s3.keys()).filter((k) => k.startsWith(`${prefix}/`));
      assert.equal(keys.length, 1, `one object: ${keys.join(', ')}`);
      const puts = new Set(s3.requests.filter((r) => r.path.includes(`/${prefix}/`)).map((r) => r.path));
      assert.equal(puts.size, 1, 'every attempt used the same key');
      assert.equal((await s3.records(keys[0]!)).length, 1);
    } finally {
      s3.setMode(prefix, 'pass');
      await stack.close();
    }
  });

  test('require_export with duration "0": captures are kept until exported, across a restart and its purge, then purged', async () => {
    const prefix = 'held';
    s3.setMode(prefix, 'outage');
    const retention = { database: { retention: { duration: '0', require_export: true } } };
    const first = await startStack((u) => exportDoc(u, s3, { prefix }, retention));
    let stack = first;
    const capture = async (id: string) => ((await (await fetch(`${stack.url}/api/requests/${id}`)).json()) as any).capture;
    try {
      const id = (await chat(stack, 'keep me until exported')).headers.get('x-keyway-request-id')!;
      await stack.keyway.telemetry!.recorder.flush();
      assert.ok(await capture(id), 'with require_export, "0" still captures: the body waits for the export');
      assert.deepEqual(await stack.keyway.telemetry!.purgeNow(stack.keyway.runtime.current), { captures: 0, tools: 0 }, 'the purge keeps an unexported capture');
      assert.equal((await exportStatus(stack)).require_export, true);
      // Restart: the purge that runs at start keeps it too.
      stack = await restart(first);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await capture(id)).requestBody, JSON.stringify({ model: 'claude-opus-4-8', max_tokens: 64, messages: [{ role: 'user', content: 'keep me until exported' }] }));
      s3.setMode(prefix, 'pass');
      await waitFor('the capture to be purged once exported', async () => (await capture(id)) === null);
      const keys = (await s3.keys()).filter((k) => k.startsWith(`${prefix}/`));
      const [record] = await s3.records(keys[0]!);
      assert.equal(record!.request_id, id);
      assert.equal(record!.capture.request.body.messages[0].content, 'keep me until exported', 'the export has the body the purge then removed');
      const detail = (await (await fetch(`${stack.url}/api/requests/${id}`)).json()) as any;
      assert.equal(detail.request.status, 200, 'the metrics stay');
    } finally {
      s3.setMode(prefix, 'pass');
      await closeBoth(first, stack);
    }
  });
});

/** restart stops a stack's keyway and starts another on the same data folder and upstream. */
async function restart(first: Stack, log?: ReturnType<typeof createLogger>): Promise<Stack> {
  await first.keyway.close(100);
  return startStack(() => '', { reuseDataDir: first.dataDir, upstream: first.upstream, log });
}

/** closeBoth ends a test that restarted: the second keyway, then what the first stack owns. */
async function closeBoth(first: Stack, current: Stack): Promise<void> {
  if (current === first) return first.close();
  await current.close();
  await first.upstream.close();
  await rm(first.dataDir, { recursive: true, force: true });
}
