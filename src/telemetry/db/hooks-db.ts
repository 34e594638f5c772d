/**
 * The hooks each request called, in the telemetry database (worker thread only): written
 * with their request records, one row per request that called any, read back with the
 * request (the dashboard's request detail).
 */
import type Database from 'better-sqlite3';
import type { HookEntry, HookVerdict } from '../record.js';

type Row = [hook: string, event: string, verdict: HookVerdict, ms: number | null, detail: string | null];

export class HooksDb {
  private readonly insertEntry: Database.Statement;
  private readonly entryOf: Database.Statement;

  constructor(db: Database.Database) {
    this.insertEntry = db.prepare('INSERT OR REPLACE INTO request_hooks VALUES (?, ?, ?)');
    this.entryOf = db.prepare('SELECT entries FROM request_hooks WHERE started_at = ? AND request_id = ?').pluck();
  }

  /** insertEntries writes a request's hook entries (inside the caller's transaction). */
  insertEntries(requestId: string, startedAt: number, entries: readonly HookEntry[]): void {
    this.insertEntry.run(startedAt, requestId, JSON.stringify(entries.map((e): Row => [e.hook, e.event, e.verdict, e.ms, e.detail ?? null])));
  }

  /** entriesOf returns the hook entries of one request, or undefined when it called none. */
  entriesOf(requestId: string, startedAt: number): HookEntry[] | undefined {
    const text = this.entryOf.get(startedAt, requestId) as string | undefined;
    if (text === undefined) return undefined;
    return (JSON.parse(text) as Row[]).map(([hook, event, verdict, ms, detail]) => (detail === null ? { hook, event, verdict, ms } : { hook, event, verdict, ms, detail }));
  }
}
