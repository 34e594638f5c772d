/**
 * ConfigRuntime owns the running configuration: it loads the stored document, compiles
 * it into a Snapshot and swaps it in, and is the only writer of the file. Whatever the
 * trigger (file change, SIGHUP, admin API), a new text goes through the same steps:
 * validate → compile → swap, with one verdict (problems.ts): a text with errors never
 * replaces the running snapshot. Every version that is applied is recorded in the
 * history, so a rollback can always return to the one before; a file change that is
 * refused is kept as `refusal` until a later version applies.
 */
import { EventEmitter } from 'node:events';
import type { PoolRegistry } from '../upstream/pools.js';
import type { SelfAddress } from '../upstream/url-safety.js';
import type { Env } from './macros.js';
import { blocking } from './problems.js';
import { restoreSecrets } from './secrets.js';
import { compileSnapshot, hashText, type Snapshot } from './snapshot.js';
import type { ConfigStore } from './store.js';
import type { Problem } from './types.js';
import { validateConfigText } from './validate.js';

/** What brought a version in; `database`: another replica stored it (PgConfigStore). */
export type ApplySource = 'startup' | 'file' | 'signal' | 'api' | 'database';

export type SaveResult =
  | { ok: true; hash: string; problems: Problem[] }
  | { ok: false; reason: 'conflict'; hash: string }
  | { ok: false; reason: 'invalid'; problems: Problem[] };

/** A change of the stored document (the file, or the database's version) that keyway refused: the running configuration stayed. */
export interface Refusal {
  source: ApplySource;
  /** When it was refused (ISO 8601). */
  at: string;
  problems: Problem[];
  /** SHA-256 of the refused text. */
  textHash: string;
  /** The refused text as it is on disk (secrets unmasked: readers must mask it). */
  text: string;
}

export interface ConfigRuntimeEvents {
  applied: [snapshot: Snapshot, source: ApplySource];
  rejected: [problems: Problem[], source: ApplySource];
  /** An applied version could not be written to the history (it runs all the same). */
  historyFailed: [error: Error, source: ApplySource];
}

export class ConfigRuntime extends EventEmitter<ConfigRuntimeEvents> {
  private snapshot: Snapshot;
  private exists: boolean;
  private refused: Refusal | undefined;
  /** Serialises saves and reloads, so check-hash-then-write is atomic. */
  private queue: Promise<unknown> = Promise.resolve();
  private stopWatching: (() => void) | undefined;
  /** keyway's own listen address once known: MCP servers there are refused (url-safety.ts). */
  private self: SelfAddress | undefined;

  private constructor(
    readonly store: ConfigStore,
    private readonly pools: PoolRegistry,
    private readonly env: Env,
    initial: Snapshot,
    exists: boolean,
  ) {
    super();
    this.snapshot = initial;
    this.exists = exists;
  }

  /**
   * open loads the stored config (writing `starter` first when there is none). It fails
   * when the stored config has errors: a gateway must not start on a config it cannot read.
   */
  static async open(store: ConfigStore, pools: PoolRegistry, env: Env, starter: string | undefined): Promise<ConfigRuntime> {
    let text = await store.read();
    if (text === undefined && starter !== undefined) {
      await store.write(starter);
      text = starter;
    }
    const exists = text !== undefined;
    const result = validateConfigText(text ?? '{"providers": {}}', { env });
    if (!result.config) {
      const err = new Error(`configuration ${store.location} is not valid`);
      (err as Error & { problems: Problem[] }).problems = result.problems;
      throw err;
    }
    const snapshot = compileSnapshot(text ?? '', result.config, result.problems);
    for (const origin of snapshot.origins) pools.get(origin);
    return new ConfigRuntime(store, pools, env, snapshot, exists);
  }

  /** current is the snapshot new requests use. Read it once per request and keep it. */
  get current(): Snapshot {
    return this.snapshot;
  }

  get fileExists(): boolean {
    return this.exists;
  }

  /** refusal is the last file change keyway refused, until a later version applies. */
  get refusal(): Refusal | undefined {
    return this.refused;
  }

  /**
   * recordRunning adds the running text to the history unless it is the newest version
   * there already: a file written by hand, before keyway ever saved, can be rolled back to.
   */
  recordRunning(): Promise<void> {
    return this.serialise(async () => {
      if (this.exists) await this.remember(this.snapshot.text, 'startup');
    });
  }

  /** selfAddress is keyway's own listen address, once known. */
  get selfAddress(): SelfAddress | undefined {
    return this.self;
  }

  /** setSelf tells later validations where keyway listens (known once it does). */
  setSelf(self: SelfAddress): void {
    this.self = self;
  }

  /** validate checks a text as a save would, without applying it. */
  validate(text: string): Problem[] {
    return validateConfigText(restoreSecrets(text, this.snapshot.text).text, { env: this.env, self: this.self }).problems;
  }

  /**
   * save validates `text` (errors block, as everywhere), checks that the stored config
   * still has `expectedHash`, writes it atomically and applies it. Masked secrets in
   * `text` keep their stored values. `extraCheck` lets the caller add rules (lockout).
   */
  save(text: string, expectedHash: string, extraCheck?: (snapshot: Snapshot) => Problem[]): Promise<SaveResult> {
    return this.serialise(async (): Promise<SaveResult> => {
      // Behind a load balancer the editor may have read a version another replica stored a
      // moment ago, which has not reached this one yet: catch up before comparing.
      if (expectedHash !== this.snapshot.hash && this.store.changeSource === 'database') await this.reloadNow('database');
      if (expectedHash !== this.snapshot.hash) return { ok: false, reason: 'conflict', hash: this.snapshot.hash };
      const restored = restoreSecrets(text, this.snapshot.text);
      const result = validateConfigText(restored.text, { env: this.env, self: this.self });
      const problems = [
        ...result.problems,
        ...restored.unresolved.map((path): Problem => ({ severity: 'error', path, message: `${path} is masked but no secret is stored there; enter the value` })),
      ];
      if (!result.config || blocking(problems).length > 0) return { ok: false, reason: 'invalid', problems };
      const next = compileSnapshot(restored.text, result.config, problems);
      const extra = extraCheck?.(next) ?? [];
      if (extra.length > 0) return { ok: false, reason: 'invalid', problems: [...problems, ...extra] };
      const written = await this.store.write(restored.text, { base: expectedHash, source: 'api' });
      if (!written.ok) {
        // Another replica stored a version this one has not applied yet: apply it now, so
        // the 409's hash is also what GET /api/config reports next.
        await this.reloadNow(this.store.changeSource);
        return { ok: false, reason: 'conflict', hash: written.hash };
      }
      this.exists = true;
      this.swap(next, 'api');
      return { ok: true, hash: next.hash, problems };
    });
  }

  /**
   * reload re-reads the file and applies it if it changed and has no errors. A refused
   * text is kept as `refusal` (and announced once: the watcher may see one edit twice).
   */
  reload(source: ApplySource): Promise<boolean> {
    return this.serialise(() => this.reloadNow(source));
  }

  /** reloadNow is reload inside work that is serialised already (a save that met a newer version). */
  private async reloadNow(source: ApplySource): Promise<boolean> {
    const text = await this.store.read();
    if (text === undefined) return false;
    const hash = hashText(text);
    if (hash === this.snapshot.hash) {
      // The file holds what runs again (an edit undone): an earlier refusal is over.
      this.refused = undefined;
      return false;
    }
    // A watcher may report one change twice (an editor's save, a notification and the poll).
    if ((source === 'file' || source === 'database') && this.refused?.textHash === hash) return false;
    const result = validateConfigText(text, { env: this.env, self: this.self });
    if (!result.config) {
      this.refused = { source, at: new Date().toISOString(), problems: result.problems, textHash: hash, text };
      this.emit('rejected', result.problems, source);
      return false;
    }
    this.exists = true;
    this.swap(compileSnapshot(text, result.config, result.problems), source);
    await this.remember(text, source);
    return true;
  }

  /**
   * watch applies changes of the stored document until `close`: file edits and SIGHUP for
   * a file; for the database, versions other replicas store (there is no file to re-read).
   */
  watch(): void {
    this.stopWatching?.();
    const source = this.store.changeSource;
    const stop = this.store.watch(() => void this.reload(source).catch(() => {}));
    if (source !== 'file') {
      this.stopWatching = stop;
      return;
    }
    const onHup = () => void this.reload('signal').catch(() => {});
    process.on('SIGHUP', onHup);
    this.stopWatching = () => {
      stop();
      process.off('SIGHUP', onHup);
    };
  }

  close(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
  }

  private swap(next: Snapshot, source: ApplySource): void {
    for (const origin of next.origins) this.pools.get(origin);
    this.snapshot = next;
    this.refused = undefined;
    this.pools.retainOnly(next.origins);
    this.emit('applied', next, source);
  }

  /** remember records an applied text in the history; a failure is reported, not thrown (it runs already). */
  private async remember(text: string, source: ApplySource): Promise<void> {
    try {
      await this.store.recordApplied(text);
    } catch (err) {
      this.emit('historyFailed', err as Error, source);
    }
  }

  private serialise<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => {});
    return run;
  }
}
