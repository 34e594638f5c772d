/**
 * `keyway config import` on the command line, where no database is needed: its usage,
 * and the mistakes it answers with exit 2 before connecting anywhere. The import itself,
 * against a real PostgreSQL, is in pgtest/cluster-config.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const run = promisify(execFile);

async function keyway(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, KEYWAY_DATABASE_URL: '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('keyway config: usage, and wrong command lines exit 2 before any connection', async () => {
  const [help, none, unknown, noFile, noDb, notPg] = await Promise.all([
    keyway(['config', '--help']),
    keyway(['config']),
    keyway(['config', 'export', 'x.hujson']),
    keyway(['config', 'import', '--database', 'postgres://db/keyway']),
    keyway(['config', 'import', 'x.hujson']),
    keyway(['config', 'import', 'x.hujson', '--database', '/var/lib/keyway.db']),
  ]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^usage: keyway config import FILE --database URL/);
  assert.match(help.stdout, /KEYWAY_DATABASE_URL/);
  for (const [r, message] of [
    [none, /config needs a subcommand/],
    [unknown, /unknown config subcommand "export"/],
    [noFile, /needs one configuration file/],
    [noDb, /needs --database URL \(or KEYWAY_DATABASE_URL\)/],
    [notPg, /--database must be a PostgreSQL URL/],
  ] as const) {
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /usage: keyway config import/);
  }
  // The main usage lists the command.
  assert.match((await keyway(['--help'])).stdout, /keyway config import FILE --database URL/);
});
