/**
 * `keyway explain --database URL`: the replicas' PostgreSQL as the source of what explain
 * reads. Without a FILE it explains against the database's current configuration; with
 * one (or with KEYWAY_DATABASE_URL) it takes the shared quota balances from the database,
 * refilled to now, as a replica would admit.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PgConfigStore } from '../src/config/pg-store.js';
import { WorkerTelemetryStore } from '../src/telemetry/store.js';
import { FAKE } from '../test/helpers.js';
import { usePostgres } from './use-postgres.js';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const CAP = 'tailscale.com/cap/aperture';
const run = promisify(execFile);
const server = usePostgres();

// A rate so slow that the command's own clock cannot lift the debt meanwhile.
const CONFIG = JSON.stringify({
  providers: { ok: { baseurl: 'http://127.0.0.1:9', apikey: FAKE.providerKey, models: ['claude-sonnet-4-5'], compatibility: { anthropic_messages: true } } },
  grants: [
    { src: ['alice@example.com'], app: { [CAP]: [{ role: 'user' }, { models: '**' }] } },
    { src: ['*'], app: { [CAP]: [{ models: 'ok/**', quotas: [{ bucket: 'tiny:<user>' }, { bucket: 'team' }] }] } },
  ],
  quotas: { 'tiny:<user>': { capacity: '$0.00001', rate: '$0.00001/month' }, team: { capacity: '$5.00', rate: '$5.00/day' } },
});

async function explain(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = ['explain', '--as', 'alice@example.com', '--model', 'ok/claude-sonnet-4-5', '--json'];
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYWAY_')));
  return run(process.execPath, [CLI, ...base, ...args], { env: { ...cleanEnv, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

test('explain --database: the current configuration and the shared balances, refilled to now', async () => {
  const url = await server.freshDatabase();
  const config = await PgConfigStore.open(url);
  const store = await WorkerTelemetryStore.openPostgres(url);
  const dir = await mkdtemp(join(tmpdir(), 'keyway-explain-'));
  try {
    // Before a replica seeded it: nothing to explain against.
    const empty = await explain(['--database', url]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /holds no configuration yet/);

    assert.equal(await config.seed(CONFIG, 'seed-file'), true);
    // Alice's bucket in debt, as a replica saves it after a charge.
    await store.saveQuotaBalances([{ row: { bucket: 'tiny:alice@example.com', quota: 'tiny:<user>', balanceNanos: -5_000, carry: 0, updatedAt: Date.now(), unmetered: 0 }, delta: 15_000 }], []);

    const fromDatabase = await explain(['--database', url]);
    // Routed (exit 0: the grants serve it), but the quota refuses it now.
    assert.equal(fromDatabase.code, 0, fromDatabase.stderr);
    const answer = JSON.parse(fromDatabase.stdout);
    assert.equal(answer.quotas.passes, false);
    assert.match(answer.quotas.buckets[0].balance, /^-\$0\.00000\d+$/);
    assert.equal(answer.quotas.buckets[1].passes, true, 'a bucket no replica has stored is full');
    assert.match(answer.summary, /would be refused now with 429: tiny:alice@example.com is not above \$0/);

    // A file for the configuration, the database (from the environment) for the balances.
    const file = join(dir, 'config.json');
    await writeFile(file, CONFIG);
    const withFile = await explain([file], { KEYWAY_DATABASE_URL: url });
    assert.equal(JSON.parse(withFile.stdout).quotas.passes, false);

    // An explicit --data-dir names the balances: the environment's database is not read.
    const dirOnly = await explain(['--data-dir', dir, file], { KEYWAY_DATABASE_URL: url });
    assert.equal(JSON.parse(dirOnly.stdout).quotas.passes, null);
    assert.match(dirOnly.stderr, /no quota balances in/);

    const both = await explain(['--database', url, '--data-dir', dir, file]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give one/);
  } finally {
    await store.close();
    await config.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('explain --database with the database away: exit 1 and one line without the password', async () => {
  const url = new URL(await server.freshDatabase());
  url.password = 'keyway-test-secret-pw';
  url.port = '1'; // nothing listens there
  const away = await explain(['--database', url.toString()]);
  assert.equal(away.code, 1);
  assert.match(away.stderr, /cannot read database .* on 127\.0\.0\.1:1/);
  assert.ok(!away.stderr.includes('keyway-test-secret-pw'), away.stderr);
});
