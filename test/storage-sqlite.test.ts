/** The storage contract (storage-contract.ts) against the embedded SQLite backend. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkerTelemetryStore } from '../src/telemetry/store.js';
import { storageContract } from './storage-contract.js';

storageContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'keyway-contract-'));
  const store = await WorkerTelemetryStore.open(join(dir, 'keyway.db'));
  return {
    store,
    async close() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
