/**
 * CaptureBlocks: where captures are stored since migration 9. A batch's captures are one
 * row of `capture_blocks`, their bytes (capture-bytes.ts) one after another, compressed
 * with zstd as one frame; each request row says where its capture is (`capture_block`,
 * `capture_offset` in the uncompressed block). A row per capture with two indexes was
 * half of the writer thread's time per request; a block is one row per batch, and agent
 * traffic, which sends the same conversation again and again, compresses to a fraction.
 *
 * Being rows of the same database, blocks are written in the batch's transaction: a crash
 * leaves no capture without its record or the other way round, and a backup of the
 * database file has them all. A block's requests are the rowids `first_rowid` to
 * `last_rowid` (a batch's rows are written together), so its captures are found without
 * an index. Older captures stay in `captures` and are read and purged from there.
 */
import type Database from 'better-sqlite3';
import { BlockCache, packBlock, repack, unpackBlock } from '../capture-block.js';
import { captureFields, requestHeaderValue, type CaptureFields } from '../capture-bytes.js';

/**
 * The header filter's condition on a `requests` row: the value of request header `?`
 * (bound twice) in its capture. The block's data is read by the query only when it is
 * not cached (CASE evaluates one branch), so a scan of consecutive rows reads each block
 * once.
 */
export const HEADER_FILTER_SQL = `(CASE WHEN requests.capture_block IS NULL THEN NULL
  WHEN capture_cached(requests.capture_block) THEN capture_request_header(requests.capture_block, NULL, requests.capture_offset, ?)
  ELSE capture_request_header(requests.capture_block, (SELECT data FROM capture_blocks WHERE capture_blocks.id = requests.capture_block), requests.capture_offset, ?) END)`;

/** One request's place in a block. */
export interface BlockSlot {
  block: number;
  offset: number;
}

interface LiveRow {
  rowid: number;
  started_at: number;
  capture_offset: number;
}

export class CaptureBlocks {
  private readonly insertBlock: Database.Statement;
  private readonly setRange: Database.Statement;
  private readonly dataOf: Database.Statement;
  private readonly oldBlocks: Database.Statement;
  private readonly live: Database.Statement;
  private readonly rewrite: Database.Statement;
  private readonly moveSlot: Database.Statement;
  private readonly remove: Database.Statement;
  private readonly clear: Database.Statement;
  private readonly cache = new BlockCache();

  constructor(db: Database.Database) {
    db.function('capture_cached', (block) => (this.cache.has(Number(block)) ? 1 : 0));
    db.function('capture_request_header', (block, data, offset, name) => this.requestHeader({ block: Number(block), offset: Number(offset) }, (data as Buffer | null) ?? null, String(name)));
    this.insertBlock = db.prepare('INSERT INTO capture_blocks (first_rowid, last_rowid, min_started_at, data) VALUES (0, 0, ?, ?)');
    this.setRange = db.prepare('UPDATE capture_blocks SET first_rowid = ?, last_rowid = ? WHERE id = ?');
    this.dataOf = db.prepare('SELECT data FROM capture_blocks WHERE id = ?').pluck();
    this.oldBlocks = db.prepare('SELECT id, first_rowid, last_rowid FROM capture_blocks WHERE min_started_at < ? ORDER BY id');
    this.live = db.prepare('SELECT rowid, started_at, capture_offset FROM requests WHERE rowid BETWEEN ? AND ? AND capture_block = ? ORDER BY capture_offset');
    this.rewrite = db.prepare('UPDATE capture_blocks SET min_started_at = ?, data = ? WHERE id = ?');
    this.moveSlot = db.prepare('UPDATE requests SET capture_offset = ? WHERE rowid = ?');
    this.remove = db.prepare('DELETE FROM capture_blocks WHERE id = ?');
    this.clear = db.prepare('UPDATE requests SET capture_block = NULL, capture_offset = NULL WHERE rowid = ?');
  }

  /**
   * add stores one batch's captures (in the caller's transaction) and returns the new
   * block's id; each capture's offset is the sum of the lengths before it. `range` is
   * called once the requests are written, with their first and last rowid.
   */
  add(captures: Uint8Array[], minStartedAt: number): number {
    const id = Number(this.insertBlock.run(minStartedAt, packBlock(captures)).lastInsertRowid);
    // The id of a deleted last block is given out again: what was cached under it is not this.
    this.cache.forget(id);
    return id;
  }

  /** range records which requests rows the block's captures belong to. */
  range(block: number, firstRowid: number, lastRowid: number): void {
    this.setRange.run(firstRowid, lastRowid, block);
  }

  /** fields reads one capture's parts, or undefined if its block is gone. */
  fields(slot: BlockSlot): CaptureFields | undefined {
    const data = this.data(slot.block);
    return data && captureFields(data, slot.offset);
  }

  /** cached says whether a block is decompressed in memory (the header filter reads it from the row only if not). */
  cached(block: number): boolean {
    return this.cache.has(block);
  }

  /**
   * requestHeader is one request header's value as captured (names are lower-case), or
   * null: the header filter. It runs inside a query as an SQL function, where no other
   * statement may run, so the block's data comes from the query unless it is cached
   * (HEADER_FILTER_SQL).
   */
  requestHeader(slot: BlockSlot, stored: Buffer | null, name: string): string | null {
    const data = stored ? this.cache.put(slot.block, unpackBlock(stored)) : this.cache.get(slot.block);
    return data ? requestHeaderValue(data, slot.offset, name) : null;
  }

  private data(block: number): Buffer | undefined {
    const cached = this.cache.get(block);
    if (cached) return cached;
    const stored = this.dataOf.get(block) as Buffer | undefined;
    return stored && this.cache.put(block, unpackBlock(stored));
  }

  /**
   * purge forgets the captures of requests that started before `before` (and, with
   * `exportedThrough`, were exported: rowid at most that), in the caller's transaction.
   * A block none of whose captures is left is deleted; one that keeps some (a long
   * stream written beside later ones, or captures the export has not sent) is written
   * again without the others, so a purged body does not stay on disk inside its block.
   * Returns how many captures were purged.
   */
  purge(before: number, exportedThrough: number | undefined): number {
    let purged = 0;
    for (const b of this.oldBlocks.all(before) as Array<{ id: number; first_rowid: number; last_rowid: number }>) {
      const rows = this.live.all(b.first_rowid, b.last_rowid, b.id) as LiveRow[];
      const keep = rows.filter((r) => r.started_at >= before || (exportedThrough !== undefined && r.rowid > exportedThrough));
      const gone = rows.length - keep.length;
      if (gone === 0) continue;
      purged += gone;
      const kept = new Set(keep.map((r) => r.rowid));
      for (const r of rows) if (!kept.has(r.rowid)) this.clear.run(r.rowid);
      this.cache.forget(b.id);
      if (keep.length === 0) {
        this.remove.run(b.id);
        continue;
      }
      const { stored, offsets } = repack(unpackBlock(this.dataOf.get(b.id) as Buffer), keep.map((r) => r.capture_offset));
      keep.forEach((r, i) => this.moveSlot.run(offsets[i], r.rowid));
      this.rewrite.run(Math.min(...keep.map((r) => r.started_at)), stored, b.id);
    }
    return purged;
  }
}
