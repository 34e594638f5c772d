/**
 * Modes of the files keyway keeps: its data folder holds every user's prompts (keyway.db)
 * and the provider keys (the configuration and its history), so folders are 0700 and
 * files 0600, readable by keyway's own user only.
 *
 * New ones are created with those modes. Existing ones, from an older keyway or an
 * operator's copy, are tightened at start, but only when this process's user owns them
 * (chmod would fail otherwise, and a file someone else owns is theirs to manage) and, for
 * a folder, when it is not shared: a world-writable or sticky folder such as /tmp is never
 * changed. Nothing here loosens a mode. On Windows modes mean little and nothing is done.
 */
import { chmod, mkdir, open, stat } from 'node:fs/promises';

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
const POSIX = process.platform !== 'win32';

/** A mode keyway changed, or one it found too open and left alone: for the start-up log. */
export interface FileNote {
  level: 'info' | 'warn';
  path: string;
  message: string;
}

/** privateDir creates `dir` (and missing parents) 0700, or tightens it as described above. */
export async function privateDir(dir: string): Promise<FileNote | undefined> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  return tighten(dir, DIR_MODE);
}

/** privateFile creates `path` empty with mode 0600 when it is missing, else tightens it. */
export async function privateFile(path: string): Promise<FileNote | undefined> {
  await (await open(path, 'a', FILE_MODE)).close();
  return tighten(path, FILE_MODE);
}

/** tightenIfExists tightens a file (0600) or folder (0700) keyway made, when it exists. */
export async function tightenIfExists(path: string, kind: 'file' | 'dir' = 'file'): Promise<FileNote | undefined> {
  try {
    return await tighten(path, kind === 'dir' ? DIR_MODE : FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function tighten(path: string, want: number): Promise<FileNote | undefined> {
  if (!POSIX) return undefined;
  const s = await stat(path);
  // Only keyway's own files and folders: a device, a FIFO or a socket given as a path
  // (`--config /dev/null`, say) is the system's, and chmod 0600 on /dev/null as root would
  // break every other user of the machine.
  if (!s.isFile() && !s.isDirectory()) return undefined;
  const mode = s.mode & 0o7777;
  if ((mode & 0o077) === 0) return undefined;
  const shared = s.isDirectory() && (mode & 0o1002) !== 0;
  if (s.uid !== process.getuid?.() || shared) {
    const why = shared ? 'a shared folder (world-writable or sticky)' : 'owned by another user';
    return { level: 'warn', path, message: `mode ${octal(mode)} lets other users read keyway's data; left as it is (${why}): chmod ${octal(want)} it, or choose a folder of keyway's own` };
  }
  await chmod(path, want);
  return { level: 'info', path, message: `mode tightened from ${octal(mode)} to ${octal(want)}: keyway's data is for its own user only` };
}

function octal(mode: number): string {
  return `0${mode.toString(8)}`;
}
