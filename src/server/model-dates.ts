/**
 * ModelDates remembers when keyway first offered each provider/model: the load time of the
 * first configuration that listed it. That is the model's `created` in `/v1/models`, so it
 * stays the same across reloads, restarts and edits of the provider (a new baseurl, key or
 * description), and a model added later sorts as newer. The dates live in
 * `DATA_DIR/model-dates.json`; they are noted when a configuration is applied and written in
 * the background (atomically), never on the request path.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Snapshot } from '../config/snapshot.js';
import { writeAtomic } from '../config/store.js';
import type { Logger } from '../log.js';

/** What the file holds: ISO times by `provider/model`. */
interface DatesFile {
  firstSeen: Record<string, string>;
}

export class ModelDates {
  private readonly dates: Map<string, Date>;
  /** The write in progress, and whether another is needed after it. */
  private writing: Promise<void> | undefined;
  private dirty = false;
  private warned = false;

  private constructor(
    readonly path: string,
    private readonly log: Logger,
    dates: Map<string, Date>,
  ) {
    this.dates = dates;
  }

  /** open reads the file (none yet, or one it cannot read, starts empty: dates are kept from now on). */
  static async open(path: string, log: Logger): Promise<ModelDates> {
    const dates = new Map<string, Date>();
    try {
      const file = JSON.parse(await readFile(path, 'utf8')) as Partial<DatesFile>;
      for (const [key, iso] of Object.entries(file.firstSeen ?? {})) {
        const at = new Date(iso);
        if (typeof iso === 'string' && !Number.isNaN(at.getTime())) dates.set(key, at);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ file: path, err: (err as Error).message }, 'model dates unreadable; starting afresh');
    }
    return new ModelDates(path, log, dates);
  }

  /** note records the models of a configuration that keyway has not offered before, as first seen at its load time. */
  note(snapshot: Snapshot): void {
    let added = false;
    for (const provider of snapshot.providers.values()) {
      for (const model of provider.spec.models) {
        const key = `${provider.id}/${model}`;
        if (this.dates.has(key)) continue;
        this.dates.set(key, snapshot.loadedAt);
        added = true;
      }
    }
    if (added) this.save();
  }

  /** firstSeen is when keyway first offered `provider/model`, or undefined if it never has. */
  firstSeen(providerId: string, model: string): Date | undefined {
    return this.dates.get(`${providerId}/${model}`);
  }

  /** flush waits for the dates noted so far to be on disk (or for the attempt to fail). */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private save(): void {
    if (this.writing) {
      this.dirty = true;
      return;
    }
    this.writing = this.write().finally(() => {
      this.writing = undefined;
      if (this.dirty) {
        this.dirty = false;
        this.save();
      }
    });
  }

  private async write(): Promise<void> {
    const file: DatesFile = { firstSeen: Object.fromEntries([...this.dates].map(([key, at]) => [key, at.toISOString()])) };
    try {
      await mkdir(dirname(this.path), { recursive: true });
      await writeAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`);
    } catch (err) {
      // The dates still hold for this process; say so once rather than on every reload.
      if (!this.warned) this.log.warn({ file: this.path, err: (err as Error).message }, 'could not save model dates; /v1/models created times will reset at restart');
      this.warned = true;
    }
  }
}
