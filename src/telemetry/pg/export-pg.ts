/**
 * The S3 export's side of PostgreSQL: the same claim-upload-commit protocol as SQLite's
 * (db/export-db.ts), with the cursor on `requests.seq` in the shared database, so every
 * replica sees one cursor and a record is exported once whichever replica sends it.
 *
 * One replica exports at a time: `next` takes a lease on the cursor row (`owner`,
 * `lease_until`) before it builds an object, and the others find it taken and export
 * nothing; commit releases it. A replica that dies holding the lease holds up the export
 * for LEASE_MS at most; then another takes over the claim and rebuilds the same records
 * under the same key, so even an upload that happened twice leaves each record in one
 * object.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Pool } from '../../pg/pool.js';
import { exportRecord, type ExportRow, type ExportToolCall } from '../export/export-record.js';
import { fillCapture, MAX_OBJECT_BYTES, type ExportBatch, type ExportState } from '../db/export-db.js';
import type { PgCaptureBlocks } from './capture-blocks-pg.js';
import { inTransaction } from './sql.js';

/** Where a row's capture is, when it is in a block. */
type BlockSlot = { capture_block: number | null; capture_offset: number | null };

const EXPORTER = 's3';
/** Rows read and encoded at a time. */
const CHUNK = 100;
/** How long a replica holds the export: building and uploading one object (at most 64 MiB) takes far less. */
export const LEASE_MS = 5 * 60_000;

interface CursorRow {
  after_seq: number;
  last_key_seconds: number;
  last_export_at: number | null;
  exported_records: number;
  exported_objects: number;
  pending_key_seconds: number | null;
  pending_to_seq: number | null;
  pending_count: number | null;
  owner: string | null;
  lease_until: number | null;
}

const CHUNK_SQL = `SELECT r.seq, r.id, r.started_at, r.duration_ms, r.login, r.node_id, r.tags, r.format, r.path, r.requested_model,
    r.status, r.has_usage, r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_5m_tokens, r.cache_write_1h_tokens,
    r.reasoning_tokens, r.web_search_count, r.tool_call_count, r.cost_usd, r.session_id,
    c.request_headers, c.request_body, c.request_truncated, c.response_headers, c.response_body, c.response_truncated,
    r.capture_block, r.capture_offset
  FROM requests r LEFT JOIN captures c ON c.request_id = r.id
  WHERE r.seq > $1 AND r.seq <= $2 ORDER BY r.seq LIMIT $3`;

export class PgExports {
  /** This worker's name on a lease. */
  private readonly me = randomUUID();

  constructor(
    private readonly pool: Pool,
    private readonly blocks: PgCaptureBlocks,
  ) {}

  private async row(): Promise<CursorRow> {
    const { rows } = await this.pool.query<CursorRow>({ name: 'export-cursor', text: 'SELECT * FROM export_cursor WHERE exporter = $1', values: [EXPORTER] });
    return rows[0]!;
  }

  /** exportedThrough is the seq of the last record exported (the purge keeps what is after it). */
  async exportedThrough(): Promise<number> {
    return (await this.row()).after_seq;
  }

  /** lease takes the export for this replica unless another holds it; the cursor as it was taken. */
  private lease(nowMs: number): Promise<CursorRow | null> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<CursorRow>({ name: 'export-lock', text: 'SELECT * FROM export_cursor WHERE exporter = $1 FOR UPDATE', values: [EXPORTER] });
      const c = rows[0]!;
      if (c.owner !== null && c.owner !== this.me && c.lease_until !== null && c.lease_until > nowMs) return null;
      await client.query({ name: 'export-lease', text: 'UPDATE export_cursor SET owner = $2, lease_until = $3 WHERE exporter = $1', values: [EXPORTER, this.me, nowMs + LEASE_MS] });
      return c;
    });
  }

  private async release(): Promise<void> {
    await this.pool.query({ name: 'export-release', text: 'UPDATE export_cursor SET owner = NULL, lease_until = NULL WHERE exporter = $1 AND owner = $2', values: [EXPORTER, this.me] });
  }

  /**
   * next builds the next object (the claimed one again if there is one, else up to
   * `limit` records after the cursor) and claims it; null when nothing waits or another
   * replica is exporting.
   */
  async next(limit: number, nowMs: number): Promise<ExportBatch | null> {
    // The CBOR encoder is loaded by the first export: a gateway without one never carries it.
    const { CborSequence } = await import('../export/encode.js');
    const c = await this.lease(nowMs);
    if (!c) return null;
    try {
      const claimed = c.pending_to_seq !== null && c.pending_key_seconds !== null;
      const end = claimed ? c.pending_to_seq! : Number.MAX_SAFE_INTEGER;
      const keySeconds = claimed ? c.pending_key_seconds! : Math.max(Math.floor(nowMs / 1000), c.last_key_seconds + 1);
      const sequence = new CborSequence();
      let last = c.after_seq;
      for (;;) {
        const want = claimed ? CHUNK : Math.min(CHUNK, limit - sequence.count);
        const { rows } = await this.pool.query<ExportRow & BlockSlot>({ name: 'export-chunk', text: CHUNK_SQL, values: [last, end, want] });
        const tools = await this.toolsOf(rows.filter((r) => r.tool_call_count > 0).map((r) => r.id));
        await this.blocks.load(rows.flatMap((r) => (r.capture_block === null ? [] : [r.capture_block])));
        let full = false;
        for (const row of rows) {
          if (row.capture_block !== null) fillCapture(row, this.blocks.loadedFields(row.capture_block, row.capture_offset!));
          sequence.add(exportRecord(row, tools.get(row.id) ?? []));
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
        await this.pool.query({
          name: 'export-none',
          text: 'UPDATE export_cursor SET pending_key_seconds = NULL, pending_to_seq = NULL, pending_count = NULL, owner = NULL, lease_until = NULL WHERE exporter = $1 AND owner = $2',
          values: [EXPORTER, this.me],
        });
        return null;
      }
      if (!claimed) {
        await this.pool.query({
          name: 'export-claim',
          text: 'UPDATE export_cursor SET pending_key_seconds = $3, pending_to_seq = $4, pending_count = $5 WHERE exporter = $1 AND owner = $2',
          values: [EXPORTER, this.me, keySeconds, last, sequence.count],
        });
      }
      const more = await this.pool.query({ name: 'export-more', text: 'SELECT 1 FROM requests WHERE seq > $1 LIMIT 1', values: [last] });
      return { keySeconds, afterSeq: c.after_seq, toSeq: last, count: sequence.count, more: (more.rowCount ?? 0) > 0, rawBytes: sequence.bytes, body: sequence.compressed() };
    } catch (err) {
      await this.release().catch(() => {});
      throw err;
    }
  }

  private async toolsOf(ids: string[]): Promise<Map<string, ExportToolCall[]>> {
    const byRequest = new Map<string, ExportToolCall[]>();
    if (ids.length === 0) return byRequest;
    const { rows } = await this.pool.query<ExportToolCall & { request_id: string }>({
      name: 'export-tools',
      text: 'SELECT request_id, name, arguments FROM tool_calls WHERE request_id = ANY($1::text[]) ORDER BY request_id, seq',
      values: [ids],
    });
    for (const { request_id, name, arguments: args } of rows) (byRequest.get(request_id) ?? byRequest.set(request_id, []).get(request_id)!).push({ name, arguments: args });
    return byRequest;
  }

  /** commit moves the cursor past a claimed object once it is uploaded, and releases the lease. */
  async commit(keySeconds: number, toSeq: number, nowMs: number): Promise<ExportState> {
    const r = await this.pool.query({
      name: 'export-commit',
      text: `UPDATE export_cursor SET after_seq = pending_to_seq, last_key_seconds = pending_key_seconds, last_export_at = $2,
          exported_records = exported_records + pending_count, exported_objects = exported_objects + 1,
          pending_key_seconds = NULL, pending_to_seq = NULL, pending_count = NULL, owner = NULL, lease_until = NULL
        WHERE exporter = $1 AND pending_key_seconds = $3 AND pending_to_seq = $4`,
      values: [EXPORTER, nowMs, keySeconds, toSeq],
    });
    if (r.rowCount !== 1) throw new Error(`export object ${keySeconds} is not the one claimed; the cursor was not moved`);
    return this.state();
  }

  async state(): Promise<ExportState> {
    const c = await this.row();
    const { rows } = await this.pool.query<{ n: number; first: number | null }>({
      name: 'export-waiting',
      text: 'SELECT count(*) AS n, (SELECT started_at FROM requests WHERE seq > $1 ORDER BY seq LIMIT 1) AS first FROM requests WHERE seq > $1',
      values: [c.after_seq],
    });
    return {
      afterSeq: c.after_seq,
      exportedRecords: c.exported_records,
      exportedObjects: c.exported_objects,
      lastKeySeconds: c.last_key_seconds,
      lastExportAt: c.last_export_at,
      pending: c.pending_key_seconds !== null && c.pending_to_seq !== null ? { keySeconds: c.pending_key_seconds, toSeq: c.pending_to_seq, count: c.pending_count ?? 0 } : null,
      unexported: rows[0]!.n,
      oldestUnexportedAt: rows[0]!.first,
    };
  }
}
