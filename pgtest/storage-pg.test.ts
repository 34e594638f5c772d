/** The storage contract (test/storage-contract.ts) against PostgreSQL: each test on a fresh database. */
import { after } from 'node:test';
import { WorkerTelemetryStore } from '../src/telemetry/store.js';
import { storageContract } from '../test/storage-contract.js';
import { testPostgres, type TestPostgres } from '../test/postgres.js';

let server: Promise<TestPostgres> | undefined;
const pg = () =>
  (server ??= testPostgres().then((found) => {
    if ('skip' in found) throw new Error(found.skip);
    return found;
  }));
after(async () => (await server)?.stop());

storageContract('postgres', async () => {
  const store = await WorkerTelemetryStore.openPostgres(await (await pg()).freshDatabase());
  return { store, close: () => store.close() };
});
