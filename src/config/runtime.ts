/**
 * ConfigRuntime owns the running configuration: it loads the stored document, compiles
 * it into a Snapshot and swaps it in, and is the only writer of the file. Whatever the
 * trigger (file change, SIGHUP, admin API), a new text goes through the same steps:
 * validate → compile → swap; a text with errors never replaces the running snapshot.
 */
import { EventEmitter } from 'node:events';
import type { PoolRegistry } from '../upstream/pools.js';
import type { Env } from './macros.js';
import { restoreSecrets } from './secrets.js';
import { compileSnapshot, hashText, type Snapshot } from './snapshot.js';
import type { ConfigFileStore } from './store.js';
import type { Problem } from './types.js';
import { validateConfigText } from './validate.js';

export type ApplySource = 'startup' | 'file' | 'signal' | 'api';

export type SaveResult =
  | { ok: true; hash: string; problems: Problem[] }
  | { ok: false; reason: 'conflict'; hash: string }
  | { ok: false; reason: 'invalid'; problems: Problem[] };

/** blocking reports the problems that stop a save: errors, and warnings (treated as errors on save). */
export function blockingOnSave(problems: readonly Problem[]): Problem[] {
  return problems.filter((p) => p.severity !== 'info');
}

export interface ConfigRuntimeEvents {
  applied: [snapshot: Snapshot, source: ApplySource];
  rejected: [problems: Problem[], source: ApplySource];
}

export class ConfigRuntime extends EventEmitter<ConfigRuntimeEvents> {
  private snapshot: Snapshot;
  private exists: boolean;
  /** Serialises saves and reloads, so check-hash-then-write is atomic. */
  private queue: Promise<unknown> = Promise.resolve();
  private stopWatching: (() => void) | undefined;

  private constructor(
    readonly store: ConfigFileStore,
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
  static async open(store: ConfigFileStore, pools: PoolRegistry, env: Env, starter: string | undefined): Promise<ConfigRuntime> {
    let text = await store.read();
    if (text === undefined && starter !== undefined) {
      await store.write(starter);
      text = starter;
    }
    const exists = text !== undefined;
    const result = validateConfigText(text ?? '{"providers": {}}', { env });
    if (!result.config) {
      const err = new Error(`configuration ${store.path} is not valid`);
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

  /** validate checks a text with save rules, without applying it. */
  validate(text: string): Problem[] {
    return validateConfigText(restoreSecrets(text, this.snapshot.text).text, { env: this.env }).problems;
  }

  /**
   * save validates `text` with save rules (warnings block), checks that the stored config
   * still has `expectedHash`, writes it atomically and applies it. Masked secrets in
   * `text` keep their stored values. `extraCheck` lets the caller add rules (lockout).
   */
  save(text: string, expectedHash: string, extraCheck?: (snapshot: Snapshot) => Problem[]): Promise<SaveResult> {
    return this.serialise(async (): Promise<SaveResult> => {
      if (expectedHash !== this.snapshot.hash) return { ok: false, reason: 'conflict', hash: this.snapshot.hash };
      const restored = restoreSecrets(text, this.snapshot.text);
      const result = validateConfigText(restored.text, { env: this.env });
      const problems = [
        ...result.problems,
        ...restored.unresolved.map((path): Problem => ({ severity: 'error', path, message: `${path} is masked but no secret is stored there; enter the value` })),
      ];
      if (!result.config || blockingOnSave(problems).length > 0) return { ok: false, reason: 'invalid', problems };
      const next = compileSnapshot(restored.text, result.config, problems);
      const extra = extraCheck?.(next) ?? [];
      if (extra.length > 0) return { ok: false, reason: 'invalid', problems: [...problems, ...extra] };
      await this.store.write(restored.text);
      this.exists = true;
      this.swap(next, 'api');
      return { ok: true, hash: next.hash, problems };
    });
  }

  /** reload re-reads the file and applies it if it changed and has no errors. */
  reload(source: ApplySource): Promise<boolean> {
    return this.serialise(async () => {
      const text = await this.store.read();
      if (text === undefined || hashText(text) === this.snapshot.hash) return false;
      const result = validateConfigText(text, { env: this.env });
      if (!result.config) {
        this.emit('rejected', result.problems, source);
        return false;
      }
      this.exists = true;
      this.swap(compileSnapshot(text, result.config, result.problems), source);
      return true;
    });
  }

  /** watch reloads on file changes and on SIGHUP until `close`. */
  watch(): void {
    this.stopWatching?.();
    const stop = this.store.watch(() => void this.reload('file').catch(() => {}));
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
    this.pools.retainOnly(next.origins);
    this.emit('applied', next, source);
  }

  private serialise<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => {});
    return run;
  }
}
