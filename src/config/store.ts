/**
 * ConfigFileStore keeps the configuration document on disk: one file, written
 * atomically (temp file, fsync, rename) so a crash never leaves half a config, plus a
 * history folder with the last versions so a bad change can be rolled back. Files are
 * 0600 and folders it creates 0700: the document holds provider keys.
 * All I/O is asynchronous; none of it is on the request path.
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { tightenIfExists, type FileNote } from '../private-files.js';
import { hashText } from './snapshot.js';

export interface HistoryEntry {
  id: string;
  savedAt: string;
  hash: string;
  /** What wrote it (`seed`, `api`, `import`), where the store knows. */
  source?: string;
}

/** What a write came to: stored, or refused because the stored version is no longer the writer's base. */
export type WriteResult = { ok: true; id?: string } | { ok: false; reason: 'conflict'; hash: string };

export interface WriteOptions {
  /**
   * The hash of the version the writer started from. A store shared by several keyways
   * (PgConfigStore) refuses the write when the stored version has another hash, so
   * optimistic concurrency spans processes; `null` means "only into an empty store".
   */
  base?: string | null;
  /** What wrote it, for the history (`api`, `seed`, `import`). */
  source?: string;
}

/**
 * ConfigStore is what ConfigRuntime needs from the place the document lives: a file
 * (ConfigFileStore) or PostgreSQL shared by replicas (pg-store.ts PgConfigStore).
 */
export interface ConfigStore {
  /** Where the document lives, for log lines and errors: a path, or a database without its password. */
  readonly location: string;
  /** What a change seen by `watch` is: an edit of the file, or a version another keyway stored. */
  readonly changeSource: 'file' | 'database';
  /** read returns the stored text, or undefined when there is none yet. */
  read(): Promise<string | undefined>;
  /** write stores a new current version and records it in the history. */
  write(text: string, options?: WriteOptions): Promise<WriteResult>;
  /** recordApplied adds a version applied without a save to the history (a file edit), unless it is the newest. */
  recordApplied(text: string): Promise<void>;
  /** history lists saved versions, newest first. */
  history(): Promise<HistoryEntry[]>;
  /** readVersion returns one saved version's text, or undefined for an unknown id. */
  readVersion(id: string): Promise<string | undefined>;
  /** watch calls `onChange` when the stored document may have changed, until the returned stop is called. */
  watch(onChange: () => void): () => void;
  /** unavailable says why the store cannot be reached now (for /readyz), or undefined when it can. */
  unavailable(): string | undefined;
  close(): Promise<void>;
}

export class ConfigFileStore implements ConfigStore {
  readonly historyDir: string;
  readonly changeSource = 'file';

  constructor(
    readonly path: string,
    private readonly keepVersions = 50,
  ) {
    this.historyDir = join(dirname(path), 'config-history');
  }

  get location(): string {
    return this.path;
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

  /**
   * write replaces the file atomically and records the new text in the history. One
   * process owns the file, so the runtime's own hash check is the whole of the
   * optimistic concurrency: `options.base` is not needed here.
   */
  async write(text: string, _options?: WriteOptions): Promise<WriteResult> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await writeAtomic(this.path, text);
    return { ok: true, id: await this.record(text) };
  }

  /** A file on this machine is always there to read. */
  unavailable(): string | undefined {
    return undefined;
  }

  async close(): Promise<void> {}

  /**
   * recordApplied adds a version that was applied without a save (a file edit, SIGHUP,
   * the file keyway started with) to the history, unless the newest version is that text.
   */
  async recordApplied(text: string): Promise<void> {
    const newest = (await this.history())[0];
    if (newest?.hash === hashText(text).slice(0, 12)) return;
    await this.record(text);
  }

  private async record(text: string): Promise<string> {
    await mkdir(this.historyDir, { recursive: true, mode: 0o700 });
    // Sortable names: the time first, the hash to tell versions of one millisecond apart.
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const id = `${stamp}_${hashText(text).slice(0, 12)}`;
    await writeAtomic(join(this.historyDir, `${id}.hujson`), text);
    const files = (await readdir(this.historyDir)).filter((f) => f.endsWith('.hujson')).sort();
    for (const old of files.slice(0, Math.max(0, files.length - this.keepVersions))) {
      await rm(join(this.historyDir, old), { force: true });
    }
    return id;
  }

  /**
   * recover repairs at start what a killed keyway can leave behind: the temporary file of a
   * save that never reached its rename (removed, unless the process that wrote it still
   * runs), a file replaced whose history entry was never written (the current text is
   * recorded, so the file is always the newest version in history; this also records a
   * file edited by hand), and modes looser than 0600 and 0700 on the file, the history
   * folder and its versions (private-files.ts). It returns what it did, for the log.
   */
  async recover(): Promise<FileNote[]> {
    const notes: FileNote[] = [];
    const configTemp = new RegExp(`^${escapeRegExp(basename(this.path))}\\.(\\d+)\\.\\d+\\.tmp$`);
    for (const [dir, pattern] of [[dirname(this.path), configTemp], [this.historyDir, HISTORY_TEMP]] as const) {
      for (const name of await listDir(dir)) {
        const m = pattern.exec(name);
        if (!m || isRunning(Number(m[1]))) continue;
        await rm(join(dir, name), { force: true });
        notes.push({ level: 'info', path: join(dir, name), message: 'removed the temporary file of a configuration save that did not finish' });
      }
    }
    const text = await this.read();
    if (text !== undefined) {
      const newest = (await this.history())[0];
      if (newest === undefined || (await this.readVersion(newest.id)) !== text) {
        const id = await this.record(text);
        notes.push({ level: 'info', path: this.path, message: `the configuration file was not the newest version in its history; recorded it as ${id}` });
      }
    }
    const modes = [await tightenIfExists(this.path), await tightenIfExists(this.historyDir, 'dir')];
    for (const name of await listDir(this.historyDir)) if (name.endsWith('.hujson')) modes.push(await tightenIfExists(join(this.historyDir, name)));
    return [...notes, ...modes.filter((n): n is FileNote => n !== undefined)];
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

/** writeAtomic's temporary names: `<file>.<pid>.<ms>.tmp`, the pid to tell a live writer's. */
const HISTORY_TEMP = /^.+\.hujson\.(\d+)\.\d+\.tmp$/;

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

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** isRunning reports whether a process with this id exists (EPERM: it does, as another user). */
function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
