/** The storage contract (test/storage-contract.ts) against PostgreSQL: each test on a fresh database. */
import { WorkerTelemetryStore } from '../src/telemetry/store.js';
import { storageContract } from '../test/storage-contract.js';
import { usePostgres } from './use-postgres.js';

const server = usePostgres();

storageContract('postgres', async () => {
  const store = await WorkerTelemetryStore.openPostgres(await server.freshDatabase());
  return { store, close: () => store.close() };
});
