/**
 * PgCaptureBlocks: captures on PostgreSQL since its migration 2, as SQLite keeps them
 * (db/capture-blocks.ts, capture-block.ts): a batch's captures are one row of
 * `capture_blocks`, zstd-compressed, written in the batch's transaction; each request row
 * says where its capture is (`capture_block`, `capture_offset`). A block's requests are
 * the seq numbers `first_seq` to `last_seq`, found through seq's index.
 *
 * Several replicas read and purge the same blocks, each with a cache of its own. So a
 * block's content never changes under its id: the purge writes what a block keeps as a
 * new block (a new id from the sequence, which never gives one out twice) and deletes the
 * old one, and a cached block is never stale.
 */
import type { Pool, PoolClient } from '../../pg/pool.js';
import { BlockCache, packBlock, repack, unpackBlock } from '../capture-block.js';
import { captureFields, requestHeaderValue, type CaptureFields } from '../capture-bytes.js';
import { inTransaction } from './sql.js';

/** Request rows read at a time by the header filter's scan. */
const SCAN_PAGE = 5_000;
/** Blocks looked at per query of the purge. */
const PURGE_PAGE = 100;

interface SlotRow {
  seq: number;
  started_at: number;
  capture_offset: number;
}

export class PgCaptureBlocks {
  private readonly cache = new BlockCache();

  constructor(private readonly pool: Pool) {}

  /** add writes a batch's block under `id` (drawn with the insert lock, INSERT_LOCK_AND_BLOCK), in the batch's transaction. */
  async add(client: PoolClient, id: number, captures: Uint8Array[], minStartedAt: number, firstSeq: number, lastSeq: number): Promise<void> {
    await client.query({
      name: 'insert-capture-block',
      text: 'INSERT INTO capture_blocks (id, first_seq, last_seq, min_started_at, data) VALUES ($1, $2, $3, $4, $5)',
      values: [id, firstSeq, lastSeq, minStartedAt, packBlock(captures)],
    });
  }

  /**
   * addForLastRows is add for a batch whose `rows` requests COPY has just written in this
   * transaction: they drew seq numbers under the insert lock, which nobody else holds
   * meanwhile, so they are the last `rows` numbers the sequence gave out.
   */
  async addForLastRows(client: PoolClient, id: number, captures: Uint8Array[], minStartedAt: number, rows: number): Promise<void> {
    await client.query({
      name: 'insert-capture-block-last-rows',
      text: "INSERT INTO capture_blocks (id, first_seq, last_seq, min_started_at, data) SELECT $1, s - $2 + 1, s, $3, $4 FROM currval('requests_seq_seq') AS s",
      values: [id, rows, minStartedAt, packBlock(captures)],
    });
  }

  /** fields reads one capture's parts, or undefined if its block is gone. */
  async fields(block: number, offset: number): Promise<CaptureFields | undefined> {
    await this.load([block]);
    return this.loadedFields(block, offset);
  }

  /** loadedFields is fields for a block `load` has just brought in (a walk over a chunk of rows). */
  loadedFields(block: number, offset: number): CaptureFields | undefined {
    const data = this.cache.get(block);
    return data && captureFields(data, offset);
  }

  /** load brings the blocks that are not cached into the cache, in one query. */
  async load(blocks: readonly number[]): Promise<void> {
    const missing = [...new Set(blocks)].filter((b) => !this.cache.has(b));
    if (missing.length === 0) return;
    const { rows } = await this.pool.query<{ id: number; data: Buffer }>({ name: 'capture-blocks-data', text: 'SELECT id, data FROM capture_blocks WHERE id = ANY($1::int8[])', values: [missing] });
    for (const r of rows) this.cache.put(r.id, unpackBlock(r.data));
  }

  /**
   * withHeader returns the ids of the requests that `from` (a `FROM requests WHERE …`
   * with its values) selects whose capture in a block has request header `name` equal to
   * `value`: the header filter, which PostgreSQL cannot answer inside compressed blocks.
   * It reads the selected rows in pages and each block once, as SQLite's filter does.
   */
  async withHeader(from: string, values: unknown[], name: string, value: string): Promise<string[]> {
    const found: string[] = [];
    const after = values.length + 1;
    let at: [number, number] = [-1, -1];
    for (;;) {
      const { rows } = await this.pool.query<{ id: string; capture_block: number; capture_offset: number }>(
        `SELECT id, capture_block, capture_offset ${from} ${from.includes(' WHERE ') ? 'AND' : 'WHERE'} capture_block IS NOT NULL
          AND (capture_block, capture_offset) > ($${after}::int8, $${after + 1}::int4) ORDER BY capture_block, capture_offset LIMIT ${SCAN_PAGE}`,
        [...values, ...at],
      );
      await this.load(rows.map((r) => r.capture_block));
      for (const r of rows) {
        const data = this.cache.get(r.capture_block);
        if (data && requestHeaderValue(data, r.capture_offset, name) === value) found.push(r.id);
      }
      if (rows.length < SCAN_PAGE) return found;
      const last = rows.at(-1)!;
      at = [last.capture_block, last.capture_offset];
    }
  }

  /**
   * purge forgets the captures of requests that started before `before` (and, with
   * `exportedThrough`, were exported: seq at most that). A block none of whose captures
   * is left is deleted; one that keeps some (a long stream written beside later ones, or
   * captures the export has not sent) is written again as a new block without the others.
   * Returns how many captures were purged.
   */
  async purge(before: number, exportedThrough: number | undefined): Promise<number> {
    let purged = 0;
    let after = 0;
    for (;;) {
      const { rows } = await this.pool.query<{ id: number }>({
        name: 'capture-blocks-old',
        text: `SELECT id FROM capture_blocks WHERE min_started_at < $1 AND id > $2 ORDER BY id LIMIT ${PURGE_PAGE}`,
        values: [before, after],
      });
      for (const b of rows) purged += await inTransaction(this.pool, (client) => this.purgeBlock(client, b.id, before, exportedThrough));
      if (rows.length < PURGE_PAGE) return purged;
      after = rows.at(-1)!.id;
    }
  }

  private async purgeBlock(client: PoolClient, block: number, before: number, exportedThrough: number | undefined): Promise<number> {
    // Locked: another replica purging at the same time waits, then finds the block gone.
    const { rows: found } = await client.query<{ first_seq: number; last_seq: number }>({
      name: 'capture-block-lock',
      text: 'SELECT first_seq, last_seq FROM capture_blocks WHERE id = $1 FOR UPDATE',
      values: [block],
    });
    const b = found[0];
    if (!b) return 0;
    const { rows } = await client.query<SlotRow>({
      name: 'capture-block-slots',
      text: 'SELECT seq, started_at, capture_offset FROM requests WHERE seq BETWEEN $1 AND $2 AND capture_block = $3 ORDER BY capture_offset',
      values: [b.first_seq, b.last_seq, block],
    });
    const keep: SlotRow[] = [];
    const gone: SlotRow[] = [];
    for (const r of rows) (r.started_at >= before || (exportedThrough !== undefined && r.seq > exportedThrough) ? keep : gone).push(r);
    if (gone.length === 0 && keep.length > 0) return 0;
    if (gone.length > 0) {
      await client.query({ name: 'capture-slots-clear', text: 'UPDATE requests SET capture_block = NULL, capture_offset = NULL WHERE seq = ANY($1::int8[])', values: [gone.map((r) => r.seq)] });
    }
    if (keep.length > 0) {
      // The bytes only now: most blocks the purge looks at keep everything (not exported yet).
      const { rows: data } = await client.query<{ data: Buffer }>({ name: 'capture-block-bytes', text: 'SELECT data FROM capture_blocks WHERE id = $1', values: [block] });
      const { stored, offsets } = repack(unpackBlock(data[0]!.data), keep.map((r) => r.capture_offset));
      const { rows: next } = await client.query<{ id: number }>({
        name: 'capture-block-rewrite',
        text: 'INSERT INTO capture_blocks (first_seq, last_seq, min_started_at, data) VALUES ($1, $2, $3, $4) RETURNING id',
        values: [b.first_seq, b.last_seq, Math.min(...keep.map((r) => r.started_at)), stored],
      });
      await client.query({
        name: 'capture-slots-move',
        text: 'UPDATE requests SET capture_block = $1, capture_offset = v.o FROM unnest($2::int8[], $3::int4[]) AS v (s, o) WHERE requests.seq = v.s',
        values: [next[0]!.id, keep.map((r) => r.seq), offsets],
      });
    }
    await client.query({ name: 'capture-block-delete', text: 'DELETE FROM capture_blocks WHERE id = $1', values: [block] });
    this.cache.forget(block);
    return gone.length;
  }
}
