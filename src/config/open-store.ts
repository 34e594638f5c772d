/**
 * openConfigStore picks where the configuration lives for `keyway serve`: the file (the
 * default) or, with `--database`, PostgreSQL, which every replica on it shares. In
 * database mode it also seeds an empty database, once across replicas starting together:
 * the `--config` file when one is given, else the starter. A database that holds a
 * configuration already wins over a `--config` file, which is then ignored (logged).
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from '../log.js';
import type { FileNote } from '../private-files.js';
import type { Env } from './macros.js';
import { PgConfigStore } from './pg-store.js';
import { ConfigFileStore, type ConfigStore } from './store.js';
import type { Problem } from './types.js';
import { validateConfigText } from './validate.js';

export interface OpenedConfigStore {
  store: ConfigStore;
  /** The text ConfigRuntime.open writes when the store is empty (file mode only). */
  starter: string | undefined;
  /** What repairing the file store did at start, for the log. */
  notes: FileNote[];
}

export interface ConfigStoreSettings {
  databaseUrl?: string;
  /** `--config`, when given. */
  configPath?: string;
  /** The file in file mode: `--config`, or the data folder's config.hujson. */
  filePath: string;
}

export async function openConfigStore(settings: ConfigStoreSettings, starter: string, env: Env, log: Logger): Promise<OpenedConfigStore> {
  if (settings.databaseUrl === undefined) {
    const store = new ConfigFileStore(settings.filePath);
    // A starter config is written only into keyway's own data folder, never over an explicit --config path.
    return { store, starter: settings.configPath ? undefined : starter, notes: await store.recover() };
  }
  const store = await PgConfigStore.open(settings.databaseUrl, {
    onListenState: (up, detail) => (up ? log.info({ database: store.location }, detail) : log.warn({ database: store.location, err: detail }, 'configuration notifications interrupted; re-reading the database every second until they return')),
  });
  try {
    const seed = settings.configPath ? await readFile(settings.configPath, 'utf8') : starter;
    // An invalid seed would be every replica's configuration, and no replica could start on it.
    const checked = validateConfigText(seed, { env });
    if (!checked.config) {
      const err = new Error(`configuration ${settings.configPath ?? 'starter'} is not valid; nothing was written to the database`);
      (err as Error & { problems: Problem[] }).problems = checked.problems;
      throw err;
    }
    const seeded = await store.seed(seed, settings.configPath ? 'seed-file' : 'seed-starter');
    if (seeded) log.info({ database: store.location, from: settings.configPath ?? 'starter' }, 'seeded the empty database with the configuration');
    else if (settings.configPath) {
      log.warn(
        { database: store.location, file: settings.configPath },
        'the database holds the configuration already; the --config file is ignored (load it with: keyway config import FILE --database URL)',
      );
    }
    log.info({ database: store.location }, 'configuration in the database: saves on any replica apply on every replica; the file watcher and SIGHUP do not apply');
  } catch (err) {
    await store.close();
    throw err;
  }
  return { store, starter: undefined, notes: [] };
}
