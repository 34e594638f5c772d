/**
 * Issue 12, item 11: keyway's data folder holds every user's prompts (keyway.db) and the
 * provider keys (the configuration and its history). The folder is 0700 and every file
 * keyway writes 0600, also under a permissive umask; older, looser modes are tightened at
 * start where keyway's user owns them; a shared folder is left alone with a warning.
 * A killed save is repaired at start: its orphan temporary files are removed and the
 * current file is always the newest version in the history.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { ConfigFileStore } from '../src/config/store.js';
import { tightenIfExists } from '../src/private-files.js';
import { hashText } from '../src/config/snapshot.js';
import { createLogger } from '../src/log.js';
import { DEFAULT_SETTINGS, startKeyway, type Keyway } from '../src/start.js';

const POSIX = process.platform !== 'win32';
/** Above the largest pid_max Linux allows (2^22): no process ever has this id. */
const DEAD_PID = 4_194_305;

async function mode(path: string): Promise<string> {
  return `0${((await stat(path)).mode & 0o7777).toString(8)}`;
}

/** start runs keyway on `dataDir` (its starter config when there is none) and collects its log. */
async function start(dataDir: string, configPath?: string): Promise<{ keyway: Keyway; logs: () => string }> {
  let logs = '';
  const sink = new Writable({ write(chunk, _enc, done) { logs += String(chunk); done(); } });
  const keyway = await startKeyway({ ...DEFAULT_SETTINGS, port: 0, dataDir, configPath, watch: false }, { env: {}, log: createLogger('info', sink) });
  return { keyway, logs: () => logs };
}

/** record makes keyway write to its database: a request the starter config refuses with 401, recorded. */
async function record(keyway: Keyway): Promise<void> {
  const r = await fetch(`${keyway.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'claude-opus-4-8', max_tokens: 8, messages: [] }) });
  assert.equal(r.status, 401, 'nothing leaves the machine: passthrough-only and no credential');
  await r.text();
  await keyway.telemetry!.recorder.flush();
}

describe('issue 12: file modes', { skip: !POSIX && 'POSIX modes only' }, () => {
  let root: string;
  let umask: number;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'keyway-modes-'));
    // A permissive umask must not loosen anything: keyway sets its modes itself.
    umask = process.umask(0o002);
  });
  after(async () => {
    process.umask(umask);
    await rm(root, { recursive: true, force: true });
  });

  test('a new data folder is 0700 and every file keyway writes in it 0600', async () => {
    const dataDir = join(root, 'fresh', 'keyway-data');
    const { keyway } = await start(dataDir);
    try {
      await record(keyway);
      const put = await fetch(`${keyway.url}/api/config`).then((r) => r.json() as Promise<{ config: string; hash: string }>);
      const saved = await fetch(`${keyway.url}/api/config`, { method: 'PUT', body: JSON.stringify({ config: put.config.replace('"claude-opus-4-5",', ''), hash: put.hash }) });
      assert.equal(saved.status, 200);
    } finally {
      await keyway.close(100);
    }
    assert.equal(await mode(dataDir), '0700');
    assert.equal(await mode(join(root, 'fresh')), '0700', 'missing parents too');
    const files = await readdir(dataDir);
    for (const f of ['config.hujson', 'keyway.db', 'telemetry.secret']) assert.ok(files.includes(f), `${f} in ${files}`);
    for (const f of files) {
      if (f === 'config-history') continue;
      assert.equal(await mode(join(dataDir, f)), '0600', f);
    }
    const history = join(dataDir, 'config-history');
    assert.equal(await mode(history), '0700');
    const versions = await readdir(history);
    assert.equal(versions.length, 2, 'the starter and the save');
    for (const v of versions) assert.equal(await mode(join(history, v)), '0600', v);
  });

  test('the database\'s -wal and -shm files get the database\'s 0600', async () => {
    const dataDir = join(root, 'wal');
    const { keyway } = await start(dataDir);
    try {
      await record(keyway);
      const files = await readdir(dataDir);
      assert.ok(files.includes('keyway.db-wal') && files.includes('keyway.db-shm'), `${files}`);
      for (const f of ['keyway.db', 'keyway.db-wal', 'keyway.db-shm']) assert.equal(await mode(join(dataDir, f)), '0600', f);
    } finally {
      await keyway.close(100);
    }
  });

  test('looser modes from before are tightened at start, and the log says so', async () => {
    const dataDir = join(root, 'old');
    let { keyway } = await start(dataDir);
    await record(keyway);
    await keyway.close(100);
    const history = join(dataDir, 'config-history');
    const loose = ['config.hujson', 'keyway.db', 'keyway.db-wal', 'keyway.db-shm', 'telemetry.secret'].map((f) => join(dataDir, f));
    const versions = (await readdir(history)).map((v) => join(history, v));
    // keyway.db-wal/-shm are gone after a clean close; recreate them as an older keyway left them.
    for (const f of loose) await writeFile(f, '', { flag: 'a' });
    for (const f of [...loose, ...versions]) await chmod(f, 0o644);
    await chmod(history, 0o755);
    await chmod(dataDir, 0o755);

    const second = await start(dataDir);
    keyway = second.keyway;
    try {
      await record(keyway);
      assert.equal(await mode(dataDir), '0700');
      assert.equal(await mode(history), '0700');
      for (const f of [...loose, ...versions]) assert.equal(await mode(f), '0600', f);
      assert.match(second.logs(), /mode tightened from 0644 to 0600/);
      assert.match(second.logs(), /mode tightened from 0755 to 0700/);
    } finally {
      await keyway.close(100);
    }
  });

  test('a path that is not a file or a folder (a FIFO here; /dev/null as --config) keeps its mode', async () => {
    const fifo = join(root, 'not-a-file');
    execFileSync('mkfifo', ['-m', '0644', fifo]);
    assert.equal(await tightenIfExists(fifo), undefined);
    assert.equal(await mode(fifo), '0644');
  });

  test('a shared (world-writable) data folder is left as it is, with a warning; its files are still 0600', async () => {
    const dataDir = join(root, 'shared');
    const first = await start(dataDir);
    await first.keyway.close(100);
    await chmod(dataDir, 0o777);
    await chmod(join(dataDir, 'config.hujson'), 0o644);
    const { keyway, logs } = await start(dataDir);
    try {
      assert.equal(await mode(dataDir), '0777');
      assert.equal(await mode(join(dataDir, 'config.hujson')), '0600');
      assert.match(logs(), /"level":40,.*mode 0777 lets other users read keyway's data; left as it is \(a shared folder \(world-writable or sticky\)\)/);
    } finally {
      await keyway.close(100);
      await chmod(dataDir, 0o700);
    }
  });
});

describe('issue 12: a killed configuration save is repaired at start', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'keyway-recover-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  test('orphan temporary files are removed; a live writer\'s and other files are kept', async () => {
    const dataDir = join(root, 'tmp');
    const first = await start(dataDir);
    await first.keyway.close(100);
    const history = join(dataDir, 'config-history');
    const [version] = await readdir(history);
    const orphans = [join(dataDir, `config.hujson.${DEAD_PID}.1767225600000.tmp`), join(history, `${version}.${DEAD_PID}.1767225600001.tmp`)];
    // The parent process is alive: its temporary file may be a save in progress.
    const kept = [join(dataDir, `config.hujson.${process.ppid}.1767225600002.tmp`), join(dataDir, 'notes.tmp'), join(dataDir, `other.hujson.${DEAD_PID}.1.tmp`)];
    for (const f of [...orphans, ...kept]) await writeFile(f, '{"half": ');
    const { keyway, logs } = await start(dataDir);
    await keyway.close(100);
    const left = [...(await readdir(dataDir)).map((f) => join(dataDir, f)), ...(await readdir(history)).map((f) => join(history, f))];
    for (const f of orphans) assert.ok(!left.includes(f), `${f} removed`);
    for (const f of kept) assert.ok(left.includes(f), `${f} kept`);
    assert.match(logs(), /removed the temporary file of a configuration save that did not finish/);
  });

  test('a save killed between replacing the file and writing its history: the current file is recorded at start', async () => {
    const dataDir = join(root, 'history');
    const first = await start(dataDir);
    const before = (await (await fetch(`${first.keyway.url}/api/config/history`)).json()) as { versions: Array<{ id: string; hash: string }> };
    await first.keyway.close(100);
    assert.equal(before.versions.length, 1);
    // What writeAtomic had done when the process died: the new file is in place, its history entry is not.
    const configPath = join(dataDir, 'config.hujson');
    const next = (await readFile(configPath, 'utf8')).replace('"claude-opus-4-5",', '');
    await writeFile(configPath, next, { mode: 0o600 });

    const { keyway, logs } = await start(dataDir);
    try {
      const after = (await (await fetch(`${keyway.url}/api/config/history`)).json()) as { versions: Array<{ id: string; hash: string }> };
      assert.equal(after.versions.length, 2);
      assert.equal(after.versions[0]!.hash, hashText(next).slice(0, 12), 'the current file is the newest version');
      const newest = (await (await fetch(`${keyway.url}/api/config/history/${after.versions[0]!.id}?reveal=1`)).json()) as { config: string };
      assert.equal(newest.config, next);
      assert.match(logs(), /the configuration file was not the newest version in its history; recorded it as /);
    } finally {
      await keyway.close(100);
    }
    // Nothing to repair on the next start.
    const third = await start(dataDir);
    await third.keyway.close(100);
    assert.doesNotMatch(third.logs(), /not the newest version/);
    assert.equal((await readdir(join(dataDir, 'config-history'))).length, 2);
  });

  test('a configuration file given with --config and no history yet is recorded', async () => {
    const dir = join(root, 'explicit');
    const store = new ConfigFileStore(join(dir, 'etc', 'keyway.hujson'));
    assert.deepEqual(await store.recover(), [], 'nothing there, nothing done');
    await store.write('{"providers": {}}');
    await rm(store.historyDir, { recursive: true });
    const notes = await store.recover();
    assert.equal(notes.length, 1);
    assert.equal((await store.history()).length, 1);
  });
});
