/**
 * ExportDb: the database side of the S3 export, in the telemetry worker. It reads the
 * records written after the export cursor, in the order they were written, builds one
 * object's body (CBOR sequence, zstd) and claims it; the exporter uploads it and then
 * commits, which moves the cursor. Nothing is exported twice (a claimed object is rebuilt
 * from the same records under the same key until it is committed) and nothing is skipped
 * (the cursor moves only on commit). See schema.ts, migration 9.
 */
import type Database from 'better-sqlite3';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { CaptureBlocks } from './capture-blocks.js';
import type { CaptureFields } from '../capture-bytes.js';
import { exportRecord, type ExportRow, type ExportToolCall } from '../export/export-record.js';

/** One object ready to upload: `<prefix>/ts-aperture-export-<keySeconds>.cbor.zstd`. */
export interface ExportBatch {
  keySeconds: number;
  /** The records it holds: rowids after `afterSeq`, up to and including `toSeq`. */
  afterSeq: number;
  toSeq: number;
  count: number;
  /** Whether more records wait after this object. */
  more: boolean;
  /** Bytes of CBOR before compression. */
  rawBytes: number;
  body: Uint8Array;
}

/** Where the export stands, as stored. */
export interface ExportState {
  afterSeq: number;
  exportedRecords: number;
  exportedObjects: number;
  /** Key of the last object committed (unix seconds), 0 before the first. */
  lastKeySeconds: number;
  /** When the last object was committed (ms since the epoch). */
  lastExportAt: number | null;
  /** An object claimed and not yet committed. */
  pending: { keySeconds: number; toSeq: number; count: number } | null;
  /** Records not exported yet (pending ones included). */
  unexported: number;
  /** Start time of the first record waiting, or null when none waits. */
  oldestUnexportedAt: number | null;
}

/** Rows read (and encoded) between two turns of the worker's event loop, so inserts are not held up. */
const CHUNK = 100;
/**
 * Most CBOR bytes in one object before compression: a thousand long agent conversations
 * would otherwise make one object of gigabytes, held in memory twice. An object always
 * holds at least one record.
 */
export const MAX_OBJECT_BYTES = 64 * 1024 * 1024;

const EXPORTER = 's3';

interface CursorRow {
  after_rowid: number;
  last_key_seconds: number;
  last_export_at: number | null;
  exported_records: number;
  exported_objects: number;
  pending_key_seconds: number | null;
  pending_to_rowid: number | null;
  pending_count: number | null;
}

export class ExportDb {
  private readonly cursor: Database.Statement;
  private readonly chunk: Database.Statement;
  private readonly tools: Database.Statement;
  private readonly after: Database.Statement;
  private readonly claim: Database.Statement;
  private readonly advance: Database.Statement;
  private readonly unexported: Database.Statement;
  private readonly firstWaiting: Database.Statement;

  constructor(
    db: Database.Database,
    private readonly blocks: CaptureBlocks,
  ) {
    db.prepare('INSERT OR IGNORE INTO export_cursor VALUES (?, 0, 0, NULL, 0, 0, NULL, NULL, NULL)').run(EXPORTER);
    this.cursor = db.prepare('SELECT * FROM export_cursor WHERE exporter = ?');
    this.chunk = db.prepare(`SELECT r.rowid AS seq, r.id, r.started_at, r.duration_ms, r.login, r.node_id, r.tags, r.format, r.path, r.requested_model,
        r.status, r.has_usage, r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_5m_tokens, r.cache_write_1h_tokens,
        r.reasoning_tokens, r.web_search_count, r.tool_call_count, r.cost_usd, r.session_id,
        c.request_headers, c.request_body, c.request_truncated, c.response_headers, c.response_body, c.response_truncated,
        r.capture_block, r.capture_offset
      FROM requests r LEFT JOIN captures c ON c.request_id = r.id
      WHERE r.rowid > ? AND r.rowid <= ? ORDER BY r.rowid LIMIT ?`);
    this.tools = db.prepare('SELECT name, arguments FROM tool_calls WHERE request_id = ? ORDER BY seq');
    this.after = db.prepare('SELECT 1 FROM requests WHERE rowid > ? LIMIT 1');
    this.claim = db.prepare('UPDATE export_cursor SET pending_key_seconds = ?, pending_to_rowid = ?, pending_count = ? WHERE exporter = ?');
    this.advance = db.prepare(`UPDATE export_cursor SET after_rowid = pending_to_rowid, last_key_seconds = pending_key_seconds, last_export_at = ?,
        exported_records = exported_records + pending_count, exported_objects = exported_objects + 1,
        pending_key_seconds = NULL, pending_to_rowid = NULL, pending_count = NULL
      WHERE exporter = ? AND pending_key_seconds = ? AND pending_to_rowid = ?`);
    this.unexported = db.prepare('SELECT count(*) AS n FROM requests WHERE rowid > ?');
    this.firstWaiting = db.prepare('SELECT started_at FROM requests WHERE rowid > ? ORDER BY rowid LIMIT 1');
  }

  private row(): CursorRow {
    return this.cursor.get(EXPORTER) as CursorRow;
  }

  /** exportedThrough is the rowid of the last record exported (the purge keeps what is after it). */
  exportedThrough(): number {
    return this.row().after_rowid;
  }

  /**
   * next builds the next object: the claimed one again if there is one, else up to `limit`
   * records after the cursor (and MAX_OBJECT_BYTES), which it claims. Null when no record
   * waits: an export never writes an empty object.
   */
  async next(limit: number, nowMs: number): Promise<ExportBatch | null> {
    // The CBOR encoder is loaded by the first export: a gateway without one never carries it.
    const { CborSequence } = await import('../export/encode.js');
    const c = this.row();
    const claimed = c.pending_to_rowid !== null && c.pending_key_seconds !== null;
    const end = claimed ? c.pending_to_rowid! : Number.MAX_SAFE_INTEGER;
    // Keys never repeat, even if the clock went back: an object is never overwritten by another.
    const keySeconds = claimed ? c.pending_key_seconds! : Math.max(Math.floor(nowMs / 1000), c.last_key_seconds + 1);
    const sequence = new CborSequence();
    let last = c.after_rowid;
    for (;;) {
      const want = claimed ? CHUNK : Math.min(CHUNK, limit - sequence.count);
      const rows = this.chunk.all(last, end, want) as Array<ExportRow & { capture_block: number | null; capture_offset: number | null }>;
      let full = false;
      for (const row of rows) {
        if (row.capture_block !== null) fillCapture(row, this.blocks.fields({ block: row.capture_block, offset: row.capture_offset! }));
        const tools = row.tool_call_count > 0 ? (this.tools.all(row.id) as ExportToolCall[]) : [];
        sequence.add(exportRecord(row, tools));
        last = row.seq;
        if (!claimed && (sequence.count >= limit || sequence.bytes >= MAX_OBJECT_BYTES)) {
          full = true;
          break;
        }
      }
      if (full || rows.length < want) break;
      await nextTurn();
    }
    if (sequence.count === 0) {
      // A claim whose records are gone cannot be rebuilt; nothing was lost with them.
      if (claimed) this.claim.run(null, null, null, EXPORTER);
      return null;
    }
    if (!claimed) this.claim.run(keySeconds, last, sequence.count, EXPORTER);
    const body = sequence.compressed();
    return { keySeconds, afterSeq: c.after_rowid, toSeq: last, count: sequence.count, more: this.after.get(last) !== undefined, rawBytes: sequence.bytes, body };
  }

  /** commit moves the cursor past a claimed object once it is uploaded. */
  commit(keySeconds: number, toSeq: number, nowMs: number): ExportState {
    const changed = this.advance.run(nowMs, EXPORTER, keySeconds, toSeq).changes;
    if (changed !== 1) throw new Error(`export object ${keySeconds} is not the one claimed; the cursor was not moved`);
    return this.state();
  }

  state(): ExportState {
    const c = this.row();
    const first = this.firstWaiting.get(c.after_rowid) as { started_at: number } | undefined;
    return {
      afterSeq: c.after_rowid,
      exportedRecords: c.exported_records,
      exportedObjects: c.exported_objects,
      lastKeySeconds: c.last_key_seconds,
      lastExportAt: c.last_export_at,
      pending: c.pending_key_seconds !== null && c.pending_to_rowid !== null ? { keySeconds: c.pending_key_seconds, toSeq: c.pending_to_rowid, count: c.pending_count ?? 0 } : null,
      unexported: (this.unexported.get(c.after_rowid) as { n: number }).n,
      oldestUnexportedAt: first?.started_at ?? null,
    };
  }
}

/** fillCapture puts a capture kept in a block where the join with `captures` puts one from before blocks (both stores). */
export function fillCapture(row: ExportRow, f: CaptureFields | undefined): void {
  if (!f) return;
  row.request_headers = f.requestHeaders;
  row.request_body = f.requestBody;
  row.request_truncated = f.requestTruncated ? 1 : 0;
  row.response_headers = f.responseHeaders;
  row.response_body = f.responseBody;
  row.response_truncated = f.responseTruncated ? 1 : 0;
}
