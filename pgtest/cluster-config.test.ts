/**
 * Configuration shared by real replicas (`keyway serve --database URL` processes) on one
 * PostgreSQL: one seeded version however many start at once, a save on one in force on
 * the others within a second, the 409 across replicas, a replica killed with -9 rejoining
 * on the current version, a stored version a replica cannot use, `keyway config import`,
 * and readiness while the database is away.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startMockUpstream } from '../src/mock-upstream/index.js';
import type { MockUpstream } from '../src/mock-upstream/types.js';
import { configText, FAKE } from '../test/helpers.js';
import { usePostgres } from './use-postgres.js';
import { startReplica, startReplicas, stopAll, type Replica } from './replicas.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));

const server = usePostgres();
let upstream: MockUpstream;
let scratch: string;
before(async () => {
  upstream = await startMockUpstream();
  scratch = await mkdtemp(join(tmpdir(), 'keyway-cluster-test-'));
});
after(async () => {
  await upstream?.close();
  await rm(scratch, { recursive: true, force: true });
});

const provider = (models: string[]) => ({
  anthropic: { baseurl: upstream.url, authorization: 'x-api-key', auth_mode: 'passthrough', models, compatibility: { anthropic_messages: true } },
});
const withModels = (...models: string[]) => configText(provider(models));

let files = 0;
async function configFile(text: string): Promise<string> {
  const file = join(scratch, `config-${files++}.hujson`);
  await writeFile(file, text);
  return file;
}

interface ConfigRead {
  hash: string;
  config: string;
  refused: { source: string; problems: { message: string }[] } | null;
}

async function readConfig(replica: Replica): Promise<ConfigRead> {
  const res = await fetch(`${replica.url}/api/config?reveal=1`);
  assert.equal(res.status, 200);
  return (await res.json()) as ConfigRead;
}

async function save(replica: Replica, text: string, hash: string): Promise<{ status: number; body: { hash?: string; code?: string } }> {
  const res = await fetch(`${replica.url}/api/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config: text, hash }) });
  return { status: res.status, body: (await res.json()) as { hash?: string; code?: string } };
}

async function models(replica: Replica): Promise<string[]> {
  const res = await fetch(`${replica.url}/v1/models`);
  return ((await res.json()) as { data: { id: string }[] }).data.map((m) => m.id);
}

/** waitUntil polls `check` every 10 ms and returns how long it took to hold; it fails after `ms`. */
async function waitUntil(what: string, check: () => Promise<boolean>, ms = 5_000): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await check()) return performance.now() - start;
    if (performance.now() - start > ms) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function versions(url: string): Promise<{ id: string; hash: string; source: string }[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query('SELECT id::text, hash, source FROM keyway_config_versions ORDER BY id')).rows;
  } finally {
    await client.end();
  }
}

function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('three replicas started at once on an empty database: one starter version, one hash, all ready', async () => {
  const url = await server.freshDatabase();
  const replicas = await startReplicas(3, { databaseUrl: url });
  try {
    const stored = await versions(url);
    assert.equal(stored.length, 1, 'exactly one version was seeded');
    assert.equal(stored[0]!.source, 'seed-starter');
    const hashes = await Promise.all(replicas.map(async (r) => (await readConfig(r)).hash));
    assert.deepEqual(hashes, [stored[0]!.hash, stored[0]!.hash, stored[0]!.hash]);
    for (const r of replicas) {
      const ready = await fetch(`${r.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { status: 'ready' });
      const history = (await (await fetch(`${r.url}/api/config/history`)).json()) as { versions: { id: string; hash: string; source: string }[] };
      assert.deepEqual(history.versions.map((v) => [v.id, v.hash, v.source]), [[stored[0]!.id, stored[0]!.hash.slice(0, 12), 'seed-starter']]);
    }
    assert.equal(replicas.filter((r) => r.logs.some((l) => l.includes('seeded the empty database'))).length, 1, 'one replica seeded');
  } finally {
    await stopAll(replicas);
  }
});

test('a --config file seeds an empty database once; later it is ignored, said in the log', async () => {
  const url = await server.freshDatabase();
  const file = await configFile(withModels('claude-seeded'));
  const replicas = await startReplicas(3, { databaseUrl: url, args: ['--config', file] });
  try {
    const stored = await versions(url);
    assert.deepEqual(stored.map((v) => v.source), ['seed-file']);
    assert.deepEqual(await models(replicas[1]!), ['claude-seeded']);
    const other = await configFile(withModels('claude-other'));
    const late = await startReplica({ databaseUrl: url, args: ['--config', other] });
    replicas.push(late);
    assert.deepEqual(await models(late), ['claude-seeded'], 'the database wins over a later --config file');
    assert.ok(late.logs.some((l) => l.includes('"level":40') && l.includes('the --config file is ignored') && l.includes('keyway config import')), late.logs.join('\n'));
    assert.equal((await versions(url)).length, 1);
  } finally {
    await stopAll(replicas);
  }
});

test('a save on one replica is in force on the others within 1 s, with the same hash', async () => {
  const url = await server.freshDatabase();
  const replicas = await startReplicas(3, { databaseUrl: url, args: ['--config', await configFile(withModels('claude-a'))] });
  try {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const base = await readConfig(a);
      const saved = await save(a, withModels('claude-a', `claude-new-${i}`), base.hash);
      assert.equal(saved.status, 200);
      const started = performance.now();
      await Promise.all(
        [b, c].map((r) =>
          waitUntil(`replica ${r.url} has claude-new-${i}`, async () => (await models(r)).includes(`claude-new-${i}`) && (await readConfig(r)).hash === saved.body.hash, 1_000),
        ),
      );
      times.push(performance.now() - started);
    }
    // The change is in force: a request for the new model is served by another replica.
    const res = await fetch(`${c.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': FAKE.anthropicKey, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-new-4', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const hashes = new Set(await Promise.all(replicas.map(async (r) => (await readConfig(r)).hash)));
    assert.equal(hashes.size, 1);
    console.log(`# propagation to both other replicas: ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
    assert.ok(Math.max(...times) < 1_000);
  } finally {
    await stopAll(replicas);
  }
});

test('two saves on one base hash through two replicas: one 200, one 409 with the winner\'s hash', async () => {
  const url = await server.freshDatabase();
  const replicas = await startReplicas(3, { databaseUrl: url, args: ['--config', await configFile(withModels('claude-a'))] });
  try {
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    for (let round = 0; round < 3; round++) {
      const base = (await readConfig(a)).hash;
      assert.equal((await readConfig(b)).hash, base);
      const results = await Promise.all([save(a, withModels(`claude-from-a-${round}`), base), save(b, withModels(`claude-from-b-${round}`), base)]);
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 409], JSON.stringify(results));
      const winner = results.find((r) => r.status === 200)!;
      const loser = results.find((r) => r.status === 409)!;
      assert.equal(loser.body.code, 'CONFIG_CONFLICT');
      assert.equal(loser.body.hash, winner.body.hash, 'the 409 names the version that won');
      await waitUntil('every replica on the winner', async () => (await Promise.all(replicas.map(readConfig))).every((r) => r.hash === winner.body.hash), 1_000);
    }
    // A save based on a version another replica stored a moment ago works on any replica.
    const fromC = await readConfig(c);
    const onA = await save(a, withModels('claude-after'), fromC.hash);
    assert.equal(onA.status, 200);
    assert.equal((await versions(url)).length, 1 + 3 + 1);
  } finally {
    await stopAll(replicas);
  }
});

test('a replica killed with -9 rejoins on the version saved while it was down', async () => {
  const url = await server.freshDatabase();
  const replicas = await startReplicas(3, { databaseUrl: url, args: ['--config', await configFile(withModels('claude-a'))] });
  try {
    const [a, , c] = replicas as [Replica, Replica, Replica];
    assert.equal(await c.kill('SIGKILL'), 'SIGKILL');
    const saved = await save(a, withModels('claude-while-down'), (await readConfig(a)).hash);
    assert.equal(saved.status, 200);
    const again = await startReplica({ databaseUrl: url, dataDir: c.dataDir, args: ['--config', await configFile(withModels('claude-stale-file'))] });
    replicas[2] = again;
    assert.equal((await readConfig(again)).hash, saved.body.hash);
    assert.deepEqual(await models(again), ['claude-while-down']);
    // And it follows later saves like the others.
    const next = await save(a, withModels('claude-later'), saved.body.hash!);
    await waitUntil('the restarted replica follows', async () => (await readConfig(again)).hash === next.body.hash, 1_000);
  } finally {
    await stopAll(replicas);
  }
});

test('keyway config import: validated, stored as a new version, applied by running replicas; invalid files and masked secrets', async () => {
  const url = await server.freshDatabase();
  const replicas = await startReplicas(2, { databaseUrl: url, args: ['--config', await configFile(withModels('claude-a'))] });
  try {
    const file = await configFile(withModels('claude-imported'));
    const ok = await runCli(['config', 'import', file, '--database', url]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /imported .* as version 2 \([0-9a-f]{12}\); running replicas apply it within a second/);
    for (const r of replicas) await waitUntil('imported version applied', async () => (await models(r)).includes('claude-imported'), 1_000);
    assert.deepEqual((await versions(url)).map((v) => v.source), ['seed-file', 'import']);

    const same = await runCli(['config', 'import', file], { KEYWAY_DATABASE_URL: url });
    assert.equal(same.code, 0);
    assert.match(same.stdout, /current configuration already/);

    const bad = await configFile('{"providers": {"x": {"baseurl": 7}}}');
    const refused = await runCli(['config', 'import', bad, '--database', url]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /config-\d+\.hujson:\d+:\d+: error: /);
    assert.match(refused.stderr, /is not valid; nothing was imported/);
    assert.equal((await versions(url)).length, 2);

    // "********" keeps a stored secret, as a save does; where none is stored it is an error.
    const masked = await configFile(JSON.stringify({ ...JSON.parse(withModels('claude-masked')), providers: { anthropic: { ...provider(['claude-masked']).anthropic, apikey: '********' } } }));
    const unmasked = await runCli(['config', 'import', masked, '--database', url]);
    assert.equal(unmasked.code, 1);
    assert.match(unmasked.stderr, /providers\.anthropic\.apikey is masked but no secret is stored there/);
    assert.equal((await versions(url)).length, 2);

    const usage = await runCli(['config', 'import', file], { KEYWAY_DATABASE_URL: '' });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /needs --database URL/);

    const down = await runCli(['config', 'import', file, '--database', 'postgres://keyway:test-secret-pw@127.0.0.1:1/keyway']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /database "keyway" on 127\.0\.0\.1:1 as keyway/);
    assert.doesNotMatch(down.stderr + down.stdout, /test-secret-pw/);
  } finally {
    await stopAll(replicas);
  }
});

test('a stored version a replica cannot use is refused there, logged, and the running one stays', async () => {
  const url = await server.freshDatabase();
  const replicas = await startReplicas(2, { databaseUrl: url, args: ['--config', await configFile(withModels('claude-a'))] });
  try {
    const before = await readConfig(replicas[0]!);
    // Valid where it is imported (the variable is set there), not on the replicas.
    const text = JSON.stringify({ ...JSON.parse(withModels('claude-macro')), providers: { anthropic: { ...provider(['claude-macro']).anthropic, apikey: '${KEYWAY_TEST_ONLY_KEY}' } } });
    const imported = await runCli(['config', 'import', await configFile(text), '--database', url], { KEYWAY_TEST_ONLY_KEY: 'sk-ant-test-import-0001' });
    assert.equal(imported.code, 0, imported.stderr);
    for (const r of replicas) {
      await waitUntil('refusal visible', async () => (await readConfig(r)).refused !== null, 2_000);
      const read = await readConfig(r);
      assert.equal(read.hash, before.hash, 'the running configuration stays');
      assert.equal(read.refused?.source, 'database');
      assert.match(JSON.stringify(read.refused?.problems), /KEYWAY_TEST_ONLY_KEY/);
      assert.deepEqual(await models(r), ['claude-a']);
      assert.ok(r.logs.some((l) => l.includes('configuration change rejected')), 'logged');
      // Reported once, not on every re-read of the hash.
      await new Promise((res) => setTimeout(res, 1_500));
      assert.equal(r.logs.filter((l) => l.includes('configuration change rejected')).length, 1);
    }
  } finally {
    await stopAll(replicas);
  }
});

test('the database away after start: /readyz 503, inference still served, reads and saves 503; back: ready, and saves propagate again', async () => {
  const url = await server.freshDatabase();
  const name = new URL(url).pathname.slice(1);
  const replicas = await startReplicas(2, { databaseUrl: url, args: ['--config', await configFile(withModels('claude-a'))] });
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  try {
    const [a, b] = replicas as [Replica, Replica];
    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
    await waitUntil('not ready', async () => (await fetch(`${b.url}/readyz`)).status === 503, 5_000);
    const res = await fetch(`${b.url}/readyz`);
    assert.deepEqual(await res.json(), { status: 'not ready', reason: 'database unreachable' });
    const answer = await fetch(`${b.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': FAKE.anthropicKey, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-a', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(answer.status, 200, 'inference does not wait on the database');
    await answer.arrayBuffer();
    assert.equal((await fetch(`${b.url}/healthz`)).status, 200, 'alive all the same');
    // What needs the database says it is away, to be retried: 503, never a 500, and without its address.
    const away = [
      await fetch(`${b.url}/api/requests`),
      await fetch(`${b.url}/api/usage`),
      await fetch(`${b.url}/api/config/history`),
      await fetch(`${b.url}/api/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ config: withModels('claude-during-outage'), hash: (await readConfig(b)).hash }) }),
    ];
    for (const res of away) {
      const text = await res.text();
      assert.equal(res.status, 503, `${res.url}: ${text}`);
      assert.equal(res.headers.get('retry-after'), '5');
      assert.equal((JSON.parse(text) as { code: string }).code, 'STORE_UNAVAILABLE');
      assert.ok(!text.includes(new URL(url).port) && !/postgres|127\.0\.0\.1|password/i.test(text), text);
    }
    assert.ok(!b.logs.join('\n').includes('password'));

    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    await waitUntil('ready again', async () => (await fetch(`${b.url}/readyz`)).status === 200, 5_000);
    const saved = await save(a, withModels('claude-after-outage'), (await readConfig(a)).hash);
    assert.equal(saved.status, 200);
    await waitUntil('propagates after the outage', async () => (await readConfig(b)).hash === saved.body.hash, 2_000);
  } finally {
    await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`).catch(() => {});
    await admin.end();
    await stopAll(replicas);
  }
});

test('a database down at start: exit 1 with a line naming host, port and database, never the password', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'keyway-replica-'));
  try {
    const started = performance.now();
    const result = await runCli(['serve', '--database', 'postgres://keyway:test-secret-pw@127.0.0.1:1/gateway', '--data-dir', dataDir, '--port', '0']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /keyway: cannot use database "gateway" on 127\.0\.0\.1:1 as keyway: .*ECONNREFUSED.*; keyway did not start/);
    assert.match(result.stdout, /"the configuration store cannot be opened; keyway did not start"/);
    assert.doesNotMatch(result.stdout + result.stderr, /test-secret-pw/);
    assert.ok(performance.now() - started < 10_000);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
