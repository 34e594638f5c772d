/**
 * PgConfigStore keeps the configuration document in PostgreSQL, where every replica on
 * the database reads it: the current version (one row) and the last versions before it.
 * A write is one transaction that locks the current row and checks the writer's base
 * hash, so two saves on one base from two replicas end as one stored version and one
 * conflict (the API's 409). A stored version is announced with NOTIFY; every replica
 * LISTENs on a connection of its own (reconnected when it drops) and also reads the
 * current hash every second, which catches a notification lost to a reconnect and tells
 * /readyz whether the database answers. None of this is on the request path.
 */
import pg from 'pg';
import { rethrowUnreachable } from '../pg/errors.js';
import { migrate, withAdvisoryLock, type Migration } from '../pg/migrate.js';
import { describePgError, openPool, type Pool, type PoolClient } from '../pg/pool.js';
import { describeTarget } from '../pg/target.js';
import { hashText } from './snapshot.js';
import type { ConfigStore, HistoryEntry, WriteOptions, WriteResult } from './store.js';

/** A save or a history read while the database is out of reach answers 503 (server/respond.ts), not 500. */
const unavailable = rethrowUnreachable((err) => `configuration database: ${describePgError(err)}`);

/** The NOTIFY channel a stored version is announced on; the payload is its hash. */
export const CONFIG_CHANNEL = 'keyway_config';

/** Append only: a shipped migration is never edited (pg/migrate.ts). */
const MIGRATIONS: Migration[] = [
  `CREATE TABLE keyway_config_versions (
     id BIGSERIAL PRIMARY KEY,
     hash TEXT NOT NULL,
     text TEXT NOT NULL,
     source TEXT NOT NULL,
     saved_at TIMESTAMPTZ NOT NULL DEFAULT now()
   );
   CREATE TABLE keyway_config (
     singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
     version BIGINT NOT NULL,
     hash TEXT NOT NULL,
     text TEXT NOT NULL,
     updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
   )`,
];

export interface PgConfigStoreOptions {
  /** Versions kept in the history (default 50, as the file store). */
  keepVersions?: number;
  /** How often the current hash is read as a safety net and health check (default 1000 ms). */
  pollMs?: number;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
  /** Called with a line for the log when the notification connection drops or returns. */
  onListenState?: (up: boolean, detail: string) => void;
}

/** DatabaseUnreachable: the database named on the command line cannot be used (a start that must stop). */
export class DatabaseUnreachable extends Error {}

export class PgConfigStore implements ConfigStore {
  readonly changeSource = 'database';
  readonly location: string;
  /** The hash of the version this process last read or wrote: a notification of it is not news. */
  private seen: string | undefined;
  private lastOkAt = Date.now();
  private lastError: string | undefined;
  private readonly keepVersions: number;
  private readonly pollMs: number;

  private constructor(
    private readonly url: string,
    private readonly pool: Pool,
    private readonly options: PgConfigStoreOptions,
  ) {
    this.location = describeTarget(url);
    this.keepVersions = options.keepVersions ?? 50;
    this.pollMs = options.pollMs ?? 1_000;
  }

  /**
   * open connects and brings the config schema up to date (under the migration lock, so
   * replicas starting together are safe). A database that cannot be reached is a
   * DatabaseUnreachable naming host, port, database and user: never the password.
   */
  static async open(url: string, options: PgConfigStoreOptions = {}): Promise<PgConfigStore> {
    const pool = openPool(url, { max: 3, applicationName: options.applicationName ?? 'keyway config' });
    try {
      await migrate(pool, 'config', MIGRATIONS);
    } catch (err) {
      await pool.end().catch(() => {});
      if (err instanceof Error && err.message.includes('newer than this keyway knows')) throw err;
      throw new DatabaseUnreachable(`cannot use ${describeTarget(url)}: ${describePgError(err)}`);
    }
    return new PgConfigStore(url, pool, options);
  }

  /**
   * seed writes `text` as the first version if the database holds none, under an advisory
   * lock so that of several replicas starting at once exactly one writes. It returns
   * whether this process wrote it.
   */
  seed(text: string, source: string): Promise<boolean> {
    return withAdvisoryLock(this.pool, 'config-seed', async (client) => {
      const { rows } = await client.query({ name: 'keyway-config-exists', text: 'SELECT 1 FROM keyway_config' });
      if (rows.length > 0) return false;
      const written = await this.writeOn(client, text, { base: null, source });
      return written.ok;
    });
  }

  async read(): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ text: string; hash: string }>({ name: 'keyway-config-read', text: 'SELECT text, hash FROM keyway_config' });
    const row = rows[0];
    if (!row) return undefined;
    this.seen = row.hash;
    return row.text;
  }

  /** currentHash is the stored version's hash (undefined for an empty database). */
  async currentHash(): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ hash: string }>({ name: 'keyway-config-hash', text: 'SELECT hash FROM keyway_config' });
    return rows[0]?.hash;
  }

  async write(text: string, options: WriteOptions = {}): Promise<WriteResult> {
    const client = await this.pool.connect().catch(unavailable);
    try {
      return await this.writeOn(client, text, options).catch(unavailable);
    } finally {
      client.release();
    }
  }

  private async writeOn(client: PoolClient, text: string, options: WriteOptions): Promise<WriteResult> {
    const hash = hashText(text);
    try {
      await client.query('BEGIN');
      // The row lock makes a concurrent writer wait and then see this write's hash.
      const { rows } = await client.query<{ hash: string }>({ name: 'keyway-config-lock', text: 'SELECT hash FROM keyway_config FOR UPDATE' });
      const current = rows[0]?.hash;
      if (options.base !== undefined && current !== (options.base ?? undefined)) {
        await client.query('ROLLBACK');
        return { ok: false, reason: 'conflict', hash: current ?? '' };
      }
      const version = await client.query<{ id: number }>({
        name: 'keyway-config-version',
        text: 'INSERT INTO keyway_config_versions (hash, text, source) VALUES ($1, $2, $3) RETURNING id',
        values: [hash, text, options.source ?? 'api'],
      });
      const id = version.rows[0]!.id;
      await client.query({
        name: 'keyway-config-current',
        text: `INSERT INTO keyway_config (singleton, version, hash, text, updated_at) VALUES (TRUE, $1, $2, $3, now())
               ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version, hash = EXCLUDED.hash, text = EXCLUDED.text, updated_at = EXCLUDED.updated_at`,
        values: [id, hash, text],
      });
      await client.query({
        name: 'keyway-config-prune',
        text: 'DELETE FROM keyway_config_versions WHERE id < (SELECT min(id) FROM (SELECT id FROM keyway_config_versions ORDER BY id DESC LIMIT $1) AS newest)',
        values: [this.keepVersions],
      });
      // Delivered to every listener when the transaction commits, never before.
      await client.query({ name: 'keyway-config-notify', text: 'SELECT pg_notify($1, $2)', values: [CONFIG_CHANNEL, hash] });
      await client.query('COMMIT');
      this.seen = hash;
      return { ok: true, id: String(id) };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      // Two first writes into an empty database: the second one's insert meets the first's row.
      if ((err as { code?: string }).code === '23505') return { ok: false, reason: 'conflict', hash: (await this.currentHash()) ?? '' };
      throw err;
    }
  }

  /** Every applied version came from the database, where the history has it already. */
  async recordApplied(_text: string): Promise<void> {}

  async history(): Promise<HistoryEntry[]> {
    const { rows } = await this.pool
      .query<{ id: number; hash: string; source: string; saved_at: Date }>({
        name: 'keyway-config-history',
        text: 'SELECT id, hash, source, saved_at FROM keyway_config_versions ORDER BY id DESC LIMIT $1',
        values: [this.keepVersions],
      })
      .catch(unavailable);
    return rows.map((r) => ({ id: String(r.id), savedAt: r.saved_at.toISOString(), hash: r.hash.slice(0, 12), source: r.source }));
  }

  async readVersion(id: string): Promise<string | undefined> {
    if (!/^\d{1,18}$/.test(id)) return undefined;
    const { rows } = await this.pool.query<{ text: string }>({ name: 'keyway-config-version-text', text: 'SELECT text FROM keyway_config_versions WHERE id = $1', values: [id] }).catch(unavailable);
    return rows[0]?.text;
  }

  /**
   * watch calls `onChange` when another keyway stored a version: at once on its
   * notification, and within `pollMs` from the hash read when a notification was missed
   * (the listening connection was down). Each read also records whether the database
   * answered, for `unavailable`.
   */
  watch(onChange: () => void): () => void {
    let stopped = false;
    let polling = false;
    const news = (hash: string | undefined) => {
      if (hash !== undefined && hash !== this.seen) onChange();
    };
    const poll = async () => {
      if (polling || stopped) return;
      polling = true;
      try {
        const hash = await this.currentHash();
        this.lastOkAt = Date.now();
        this.lastError = undefined;
        news(hash);
      } catch (err) {
        this.lastError = describePgError(err);
      } finally {
        polling = false;
      }
    };
    const timer = setInterval(() => void poll(), this.pollMs);
    timer.unref();
    const listener = new Listener(this.url, this.options.applicationName ?? 'keyway config', news, () => void poll(), this.options.onListenState);
    listener.start();
    return () => {
      stopped = true;
      clearInterval(timer);
      listener.stop();
    };
  }

  /** The database answered the last hash read, and recently (a read that hangs counts as no answer). */
  unavailable(): string | undefined {
    if (this.lastError !== undefined) return 'database unreachable';
    if (Date.now() - this.lastOkAt > Math.max(3_000, 3 * this.pollMs)) return 'database not answering';
    return undefined;
  }

  /** lastProblem is the last database error, for a log line (no password: describePgError). */
  get lastProblem(): string | undefined {
    return this.lastError;
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}

/**
 * Listener holds the LISTEN connection: one client outside the pool (a pooled one would
 * be handed to queries), opened again a second after it fails or ends. On every
 * (re)connect it asks for a hash read, since notifications sent while it was down are lost.
 */
class Listener {
  private client: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Reported to onState on changes only, so a database that stays down is one log line. */
  private state: 'unknown' | 'up' | 'down' = 'unknown';

  constructor(
    private readonly url: string,
    private readonly applicationName: string,
    private readonly onHash: (hash: string) => void,
    private readonly onConnect: () => void,
    private readonly onState?: (up: boolean, detail: string) => void,
  ) {}

  start(): void {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.url, application_name: this.applicationName, connectionTimeoutMillis: 5_000, keepAlive: true });
    this.client = client;
    let failed = false;
    const fail = (err?: unknown) => {
      if (failed) return;
      failed = true;
      client.removeAllListeners('notification');
      void client.end().catch(() => {});
      if (this.stopped) return;
      if (this.state !== 'down') this.onState?.(false, err === undefined ? 'connection ended' : describePgError(err));
      this.state = 'down';
      this.retry = setTimeout(() => this.start(), 1_000);
      this.retry.unref();
    };
    client.on('error', fail);
    client.on('end', () => fail());
    client.on('notification', (msg) => {
      if (msg.channel === CONFIG_CHANNEL && msg.payload) this.onHash(msg.payload);
    });
    client
      .connect()
      .then(() => client.query(`LISTEN ${CONFIG_CHANNEL}`))
      .then(() => {
        if (this.stopped) return void client.end().catch(() => {});
        if (this.state !== 'up') this.onState?.(true, 'listening for configuration changes');
        this.state = 'up';
        this.onConnect();
      })
      .catch(fail);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('end');
      client.removeAllListeners('error');
      client.on('error', () => {});
      void client.end().catch(() => {});
    }
  }
}
