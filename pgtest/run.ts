/**
 * `npm run test:pg`: the suites that need PostgreSQL. Starts a throwaway cluster (or uses
 * KEYWAY_TEST_DATABASE_URL), runs every build/pgtest/*.test.js against it with the URL in
 * KEYWAY_TEST_DATABASE_URL, and stops the cluster. Without PostgreSQL it says why and
 * skips, so a machine without it can still run `test:all`.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testPostgres } from '../test/postgres.js';

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.test.js'))
  .sort()
  .map((f) => join(here, f));

const pg = await testPostgres();
if ('skip' in pg) {
  console.log(`test:pg skipped: ${pg.skip}`);
  process.exit(0);
}
console.log(`test:pg: PostgreSQL at ${pg.adminUrl.replace(/:[^:@/]*@/, ':***@')}; ${files.length} files`);
const code = await new Promise<number>((resolve) => {
  const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...process.argv.slice(2), ...files], {
    stdio: 'inherit',
    env: { ...process.env, KEYWAY_TEST_DATABASE_URL: pg.adminUrl },
  });
  child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
});
await pg.stop();
process.exit(code);
