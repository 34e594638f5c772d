/**
 * The telemetry schema, as an ordered list of migrations. The database's `user_version`
 * says how many have run; each migration runs once, in a transaction, so a database is
 * never half-migrated. Append new migrations; never edit one that has shipped.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: requests (metrics, never purged), tool calls and captures (purged by retention).
  `
  CREATE TABLE requests (
    id TEXT PRIMARY KEY,
    started_at INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    ttfb_ms REAL,
    login TEXT NOT NULL,
    node_id TEXT NOT NULL,
    tags TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    client TEXT NOT NULL,
    format TEXT NOT NULL,
    path TEXT NOT NULL,
    requested_model TEXT NOT NULL,
    provider TEXT,
    upstream_model TEXT,
    status INTEGER NOT NULL,
    error_code TEXT,
    error_class TEXT,
    stream INTEGER NOT NULL,
    has_usage INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_5m_tokens INTEGER NOT NULL,
    cache_write_1h_tokens INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    web_search_count INTEGER NOT NULL,
    tool_call_count INTEGER NOT NULL,
    stop_reason TEXT,
    cost_usd REAL,
    cost_basis TEXT,
    session_id TEXT NOT NULL,
    credential_source TEXT NOT NULL,
    credential_fp TEXT
  );
  CREATE INDEX requests_started ON requests (started_at);
  CREATE INDEX requests_login_started ON requests (login, started_at);
  CREATE INDEX requests_session ON requests (session_id, started_at);
  CREATE TABLE tool_calls (
    request_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    name TEXT NOT NULL,
    arguments TEXT,
    PRIMARY KEY (request_id, seq)
  );
  CREATE INDEX tool_calls_started ON tool_calls (started_at);
  CREATE TABLE captures (
    request_id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    request_headers TEXT NOT NULL,
    request_body TEXT NOT NULL,
    request_truncated INTEGER NOT NULL,
    response_headers TEXT NOT NULL,
    response_body TEXT NOT NULL,
    response_truncated INTEGER NOT NULL
  );
  CREATE INDEX captures_created ON captures (created_at);
  `,
  // 2: chat conversations, per user; not telemetry (never purged by retention).
  `
  CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    login TEXT NOT NULL,
    title TEXT NOT NULL,
    model TEXT NOT NULL,
    system_prompt TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX conversations_login ON conversations (login, updated_at);
  CREATE TABLE chat_messages (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    request_id TEXT,
    created_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX chat_messages_order ON chat_messages (conversation_id, seq);
  `,
  // 3: quota balances (state, not telemetry: never purged) and, for each request that
  // touched a quota, its buckets and what each was charged (telemetry, kept like requests).
  // One row per request, clustered by time: a record costs one B-tree insert at the end of
  // the table (one row per bucket with its indexes cost the writer 10-15 µs a record).
  `
  CREATE TABLE quota_balances (
    bucket TEXT PRIMARY KEY,
    quota TEXT NOT NULL,
    balance_nanos INTEGER NOT NULL,
    carry INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    unmetered INTEGER NOT NULL
  );
  CREATE TABLE request_quotas (
    started_at INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    -- JSON: [[bucket, quota, nanos, outcome], …]
    entries TEXT NOT NULL,
    PRIMARY KEY (started_at, request_id)
  ) WITHOUT ROWID;
  `,
  // 4: body sizes, for `/direct` calls (not routed by model, so their usage is bytes).
  `
  ALTER TABLE requests ADD COLUMN request_bytes INTEGER;
  ALTER TABLE requests ADD COLUMN response_bytes INTEGER;
  `,
  // 5: protocol translation: the format the provider was called in, and both sides' bodies.
  `
  ALTER TABLE requests ADD COLUMN provider_format TEXT;
  ALTER TABLE captures ADD COLUMN upstream_request_body TEXT;
  ALTER TABLE captures ADD COLUMN upstream_response_body TEXT;
  `,
  // 6: MCP tool calls are requests too (format "mcp", docs/telemetry.md; their sizes use
  // migration 4's columns): an index for the Tool Use screen's queries by format.
  `
  CREATE INDEX requests_format_started ON requests (format, started_at);
  `,
  // 7: where the S3 export stands (telemetry/export/). `requests.rowid` is the order records were written
  // in (ids sort by start, and a long stream is written after shorter ones that started
  // later), so `after_rowid` is the last record exported. An object being uploaded is
  // claimed first (`pending_*`): after a failure or a crash the same records go out again
  // under the same key, so each record lands in exactly one object. Requests are never
  // deleted, and the table is never VACUUMed (which could renumber rowids).
  `
  CREATE TABLE export_cursor (
    exporter TEXT PRIMARY KEY,
    after_rowid INTEGER NOT NULL,
    last_key_seconds INTEGER NOT NULL,
    last_export_at INTEGER,
    exported_records INTEGER NOT NULL,
    exported_objects INTEGER NOT NULL,
    pending_key_seconds INTEGER,
    pending_to_rowid INTEGER,
    pending_count INTEGER
  );
  `,
  // 8: for each request that called a hook, which hooks, their verdicts and durations. One row per
  // request, clustered by time, as request_quotas.
  `
  CREATE TABLE request_hooks (
    started_at INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    -- JSON: [[hook, event, verdict, ms, detail], …]
    entries TEXT NOT NULL,
    PRIMARY KEY (started_at, request_id)
  ) WITHOUT ROWID;
  `,
  // 9: captures in blocks, one row per written batch (db/capture-blocks.ts): a capture row
  // with its primary key and created_at index was half of the writer's time per request.
  // Each request says where its capture is; older captures stay in `captures`. And the
  // index for MCP's Tool Use queries covers MCP calls only, so an inference request
  // writes one index fewer (those queries name the format as a literal, which a partial
  // index needs).
  `
  CREATE TABLE capture_blocks (
    id INTEGER PRIMARY KEY,
    -- the requests rows whose captures these are (a batch's rows are written together)
    first_rowid INTEGER NOT NULL,
    last_rowid INTEGER NOT NULL,
    -- the earliest start among them: the purge looks for blocks by it
    min_started_at INTEGER NOT NULL,
    -- zstd frame of the captures' bytes (capture-bytes.ts), one after another
    data BLOB NOT NULL
  );
  CREATE INDEX capture_blocks_started ON capture_blocks (min_started_at);
  ALTER TABLE requests ADD COLUMN capture_block INTEGER;
  ALTER TABLE requests ADD COLUMN capture_offset INTEGER;
  DROP INDEX requests_format_started;
  CREATE INDEX requests_mcp_started ON requests (started_at) WHERE format = 'mcp';
  `,
];
