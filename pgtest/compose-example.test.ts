/**
 * The example of docs/operations.md "Running several replicas" (docs/examples/replicas):
 * each replica's command in compose.yaml runs as a real process, as written, with the
 * database URL in its environment as the file gives it, against a test database (only the
 * URL, the port and the data folder are swapped for the test's), three at once; the HAProxy configuration balances over exactly those ports and
 * checks /readyz.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { usePostgres } from './use-postgres.js';
import { startReplica, stopAll, type Replica } from './replicas.js';

const EXAMPLE = new URL('../../docs/examples/replicas/', import.meta.url);

const server = usePostgres();

/** keywayCommands returns each keyway service's command (the JSON-style arrays of compose.yaml). */
function keywayCommands(compose: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let service: string | undefined;
  for (const line of compose.split('\n')) {
    const name = /^ {2}([a-z0-9-]+):\s*$/.exec(line);
    if (name) service = name[1];
    const command = /^ {4}command: (\[.*\])\s*$/.exec(line);
    if (command && service?.startsWith('keyway-')) out.set(service, JSON.parse(command[1]!) as string[]);
  }
  return out;
}

function flag(args: string[], name: string): string {
  const i = args.indexOf(name);
  assert.ok(i >= 0 && i + 1 < args.length, `${name} in ${args.join(' ')}`);
  return args[i + 1]!;
}

test('the compose example: three replicas as written share one database and identify callers through tailscale serve', async () => {
  const compose = await readFile(new URL('compose.yaml', EXAMPLE), 'utf8');
  const commands = keywayCommands(compose);
  assert.deepEqual([...commands.keys()], ['keyway-1', 'keyway-2', 'keyway-3']);
  const ports = [...commands.values()].map((args) => flag(args, '--port'));
  const haproxy = await readFile(new URL('haproxy.cfg', EXAMPLE), 'utf8');
  assert.match(haproxy, /option httpchk GET \/readyz/);
  assert.deepEqual([...haproxy.matchAll(/^\s*server (keyway-\d) 127\.0\.0\.1:(\d+) check$/gm)].map((m) => [m[1], m[2]]), [...commands.keys()].map((k, i) => [k, ports[i]]));
  assert.match(compose, /entrypoint: \["node", "dist\/cli\.js"\]/);
  // The URL, password included, is in the services' environment: a command line is visible to every user of the host.
  assert.match(compose, /^ {4}KEYWAY_DATABASE_URL: postgres:\/\/keyway:\$\{POSTGRES_PASSWORD\}@127\.0\.0\.1:5432\/keyway$/m);
  for (const args of commands.values()) {
    assert.ok(!args.includes('--database'), `no --database in ${args.join(' ')}`);
    assert.ok(!args.join(' ').includes('PASSWORD'), `no password in ${args.join(' ')}`);
  }

  const url = await server.freshDatabase();
  const replicas: Replica[] = [];
  try {
    const started = await Promise.all(
      [...commands.values()].map((args) => {
        assert.equal(args[0], 'serve');
        // The example's flags as written, but a free port and a temporary folder (startReplica's), and this test's database in the environment.
        const rest = args.slice(1);
        const swapped = rest.map((v, i) => (rest[i - 1] === '--port' ? '0' : v));
        const withoutDataDir = swapped.filter((_, i) => swapped[i] !== '--data-dir' && swapped[i - 1] !== '--data-dir');
        return startReplica({ databaseUrl: undefined, env: { KEYWAY_DATABASE_URL: url }, args: withoutDataDir });
      }),
    );
    replicas.push(...started);
    for (const r of replicas) {
      assert.equal((await fetch(`${r.url}/readyz`)).status, 200);
      // What tailscale serve adds; the shared name is one keyway answers for (--host-name).
      const who = await fetch(`${r.url}/api/whoami`, { headers: { host: 'keyway.example-tailnet.ts.net', 'tailscale-user-login': 'alice@example.com', 'tailscale-user-name': 'Alice' } });
      assert.equal(who.status, 200);
      assert.equal(((await who.json()) as { login: string }).login, 'alice@example.com');
      assert.ok(r.logs.some((l) => l.includes('"identity":"serve-headers"')));
    }
    assert.equal(replicas.filter((r) => r.logs.some((l) => l.includes('seeded the empty database'))).length, 1);
  } finally {
    await stopAll(replicas);
  }
});
