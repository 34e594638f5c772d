/**
 * importConfig is `keyway config import FILE`: the text of a file stored as the new
 * current version in the database the replicas share, after the checks a save through the
 * admin API makes (validation with one verdict; masked secrets keep the stored values).
 * The write names the version it replaces, so a save made on a replica between this read
 * and the write is never overwritten unseen. Running replicas get it by NOTIFY.
 */
import type { Env } from './macros.js';
import { PgConfigStore } from './pg-store.js';
import { blocking } from './problems.js';
import { restoreSecrets } from './secrets.js';
import { hashText } from './snapshot.js';
import type { Problem } from './types.js';
import { validateConfigText } from './validate.js';

export type ImportOutcome =
  | { kind: 'imported'; id: string; hash: string; problems: Problem[] }
  | { kind: 'unchanged'; hash: string }
  | { kind: 'invalid'; problems: Problem[] }
  | { kind: 'conflict' };

export async function importConfig(text: string, databaseUrl: string, env: Env): Promise<ImportOutcome> {
  const store = await PgConfigStore.open(databaseUrl, { applicationName: 'keyway config import' });
  try {
    const current = await store.read();
    const restored = current === undefined ? { text, unresolved: [] as string[] } : restoreSecrets(text, current);
    const problems: Problem[] = [
      ...validateConfigText(restored.text, { env }).problems,
      ...restored.unresolved.map((path): Problem => ({ severity: 'error', path, message: `${path} is masked but no secret is stored there; enter the value` })),
    ];
    if (blocking(problems).length > 0) return { kind: 'invalid', problems };
    const hash = hashText(restored.text);
    if (current !== undefined && hashText(current) === hash) return { kind: 'unchanged', hash };
    const written = await store.write(restored.text, { base: current === undefined ? null : hashText(current), source: 'import' });
    if (!written.ok) return { kind: 'conflict' };
    return { kind: 'imported', id: written.id ?? '', hash, problems };
  } finally {
    await store.close();
  }
}
