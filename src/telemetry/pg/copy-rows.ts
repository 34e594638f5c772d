/**
 * Rows written with `COPY … FROM STDIN` (text format), PostgreSQL's bulk path: the server
 * reads tab-separated lines instead of parsing and planning a statement over one array
 * parameter per column, and the driver sends one string instead of escaping every element
 * of those arrays. For a batch of request records it costs PostgreSQL about 40 % less
 * CPU a row (bench/micro/pg-write.ts, docs/performance.md).
 */
import type { PoolClient } from '../../pg/pool.js';
import { from as copyFrom } from 'pg-copy-streams';

/** What COPY's text format must escape: the backslash, and the separators. */
const SPECIAL = /[\\\t\n\r]/;
const EVERY_SPECIAL = new RegExp(SPECIAL.source, 'g');

/** copyValue is one field: `\N` for null, text with its backslashes and separators escaped. */
function copyValue(v: string | number | null): string {
  if (v === null) return '\\N';
  if (typeof v === 'number') return String(v);
  if (!SPECIAL.test(v)) return v;
  return v.replace(EVERY_SPECIAL, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

/** copyText is rows as COPY's text format: fields separated by tabs, one row a line. */
function copyText(rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string {
  let text = '';
  for (const row of rows) {
    let line = copyValue(row[0] ?? null);
    for (let i = 1; i < row.length; i++) line += '\t' + copyValue(row[i] ?? null);
    text += line + '\n';
  }
  return text;
}

/** copyRows writes rows into `table`'s `columns` with one COPY; it resolves when the server has them. */
export function copyRows(client: PoolClient, table: string, columns: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null>>): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
    stream.on('finish', resolve);
    stream.on('error', reject);
    stream.end(copyText(rows));
  });
}
