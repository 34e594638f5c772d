/**
 * usePostgres gives a pgtest file its PostgreSQL: found (KEYWAY_TEST_DATABASE_URL, as
 * `npm run test:pg` sets it) or started before the file's tests and stopped after them.
 * Without PostgreSQL the file's tests fail with the reason, never pass by skipping.
 */
import { after, before } from 'node:test';
import { testPostgres, type TestPostgres } from '../test/postgres.js';

export function usePostgres(): TestPostgres {
  let found: TestPostgres | undefined;
  before(async () => {
    const server = await testPostgres();
    if ('skip' in server) throw new Error(server.skip);
    found = server;
  });
  after(async () => found?.stop());
  const started = (): TestPostgres => {
    if (!found) throw new Error('PostgreSQL is not there yet: use it inside a test or a later before hook');
    return found;
  };
  return {
    get adminUrl() {
      return started().adminUrl;
    },
    freshDatabase: () => started().freshDatabase(),
    stop: () => started().stop(),
  };
}
