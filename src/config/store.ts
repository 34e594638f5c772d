/**
 * ConfigFileStore keeps the configuration document on disk: one file, written
 * atomically (temp file, fsync, rename) so a crash never leaves half a config, plus a
 * history folder with the last versions so a bad change can be rolled back.
 * All I/O is asynchronous; none of it is on the request path.
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { hashText } from './snapshot.js';

export interface HistoryEntry {
  id: string;
  savedAt: string;
  hash: string;
}

export class ConfigFileStore {
  readonly historyDir: string;

  constructor(
    readonly path: string,
    private readonly keepVersions = 50,
  ) {
    this.historyDir = join(dirname(path), 'config-history');
  }

  /** read returns the stored text, or undefined when there is no file yet. */
  async read(): Promise<string | undefined> {
    try {
      return await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** write replaces the file atomically and records the new text in the history. */
  async write(text: string): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await writeAtomic(this.path, text);
    await this.record(text);
  }

  /**
   * recordApplied adds a version that was applied without a save (a file edit, SIGHUP,
   * the file keyway started with) to the history, unless the newest version is that text.
   */
  async recordApplied(text: string): Promise<void> {
    const newest = (await this.history())[0];
    if (newest?.hash === hashText(text).slice(0, 12)) return;
    await this.record(text);
  }

  private async record(text: string): Promise<void> {
    await mkdir(this.historyDir, { recursive: true });
    // Sortable names: the time first, the hash to tell versions of one millisecond apart.
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    await writeAtomic(join(this.historyDir, `${stamp}_${hashText(text).slice(0, 12)}.hujson`), text);
    const files = (await readdir(this.historyDir)).filter((f) => f.endsWith('.hujson')).sort();
    for (const old of files.slice(0, Math.max(0, files.length - this.keepVersions))) {
      await rm(join(this.historyDir, old), { force: true });
    }
  }

  /** history lists saved versions, newest first. */
  async history(): Promise<HistoryEntry[]> {
    let files: string[];
    try {
      files = (await readdir(this.historyDir)).filter((f) => f.endsWith('.hujson'));
    } catch {
      return [];
    }
    return files
      .sort()
      .reverse()
      .map((f) => {
        const id = f.slice(0, -'.hujson'.length);
        const [stamp = '', hash = ''] = id.split('_');
        const iso = stamp.replace(/^(\d{4}-\d{2}-\d{2}T\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/, '$1:$2:$3.$4Z');
        return { id, savedAt: iso, hash };
      });
  }

  /** readVersion returns one saved version's text, or undefined for an unknown id. */
  async readVersion(id: string): Promise<string | undefined> {
    if (!/^[0-9TZ-]+_[0-9a-f]{12}$/.test(id)) return undefined;
    try {
      return await readFile(join(this.historyDir, `${id}.hujson`), 'utf8');
    } catch {
      return undefined;
    }
  }

  /**
   * watch calls `onChange` (debounced) when the file is replaced or edited by anything,
   * an editor or another process. It watches the folder because atomic saves replace the
   * file's inode, which would silently end a watch on the file itself.
   */
  watch(onChange: () => void, debounceMs = 150): () => void {
    const name = basename(this.path);
    let timer: NodeJS.Timeout | undefined;
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
        if (file !== null && file !== name) return;
        clearTimeout(timer);
        timer = setTimeout(onChange, debounceMs);
      });
      watcher.on('error', () => {});
    } catch {
      // The folder may not exist yet or the platform may not support watching: SIGHUP and the API still reload.
    }
    return () => {
      clearTimeout(timer);
      watcher?.close();
    };
  }
}

/** writeAtomic replaces a file so a crash leaves the old text or the new, never half of one. */
export async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}
