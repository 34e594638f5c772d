/**
 * The telemetry schema in PostgreSQL (`keyway serve --database`), run by pg/migrate.ts as
 * component `telemetry` under its advisory lock. The tables and columns are SQLite's
 * (db/schema.ts) so that one set of row readers serves both; what differs:
 *
 * - `requests.seq` (bigserial) is the export cursor's order, as SQLite's rowid is. Inserts
 *   take a transaction-scoped advisory lock before they draw from the sequence, so the
 *   order of `seq` is the order rows commit in, across replicas: an exporter that has seen
 *   seq N has seen every row before it (telemetry-pg.ts).
 * - Quota and hook entries are JSONB; the export cursor has a lease (`owner`,
 *   `lease_until`) so one replica exports at a time; the fingerprint secret is a row.
 * - Ids and the keys results are sorted by compare bytewise (COLLATE "C"), as SQLite does.
 *
 * Append migrations; never edit one that has shipped.
 */
import type { Migration } from '../../pg/migrate.js';

export const PG_MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE requests (
    seq BIGSERIAL NOT NULL UNIQUE,
    id TEXT COLLATE "C" PRIMARY KEY,
    started_at BIGINT NOT NULL,
    duration_ms DOUBLE PRECISION NOT NULL,
    ttfb_ms DOUBLE PRECISION,
    login TEXT COLLATE "C" NOT NULL,
    node_id TEXT NOT NULL,
    tags TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    client TEXT NOT NULL,
    format TEXT NOT NULL,
    path TEXT NOT NULL,
    requested_model TEXT COLLATE "C" NOT NULL,
    provider TEXT COLLATE "C",
    upstream_model TEXT COLLATE "C",
    status INTEGER NOT NULL,
    error_code TEXT,
    error_class TEXT,
    stream SMALLINT NOT NULL,
    has_usage SMALLINT NOT NULL,
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cache_read_tokens BIGINT NOT NULL,
    cache_write_5m_tokens BIGINT NOT NULL,
    cache_write_1h_tokens BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    web_search_count BIGINT NOT NULL,
    tool_call_count INTEGER NOT NULL,
    stop_reason TEXT COLLATE "C",
    cost_usd DOUBLE PRECISION,
    cost_basis TEXT,
    session_id TEXT COLLATE "C" NOT NULL,
    credential_source TEXT NOT NULL,
    credential_fp TEXT,
    request_bytes BIGINT,
    response_bytes BIGINT,
    provider_format TEXT
  );
  CREATE INDEX requests_started ON requests (started_at);
  CREATE INDEX requests_login_started ON requests (login, started_at);
  CREATE INDEX requests_session ON requests (session_id, started_at);
  CREATE INDEX requests_format_started ON requests (format, started_at);
  CREATE TABLE tool_calls (
    request_id TEXT COLLATE "C" NOT NULL,
    seq INTEGER NOT NULL,
    started_at BIGINT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    arguments TEXT,
    PRIMARY KEY (request_id, seq)
  );
  CREATE INDEX tool_calls_started ON tool_calls (started_at);
  CREATE TABLE captures (
    request_id TEXT COLLATE "C" PRIMARY KEY,
    created_at BIGINT NOT NULL,
    request_headers TEXT NOT NULL,
    request_body TEXT NOT NULL,
    request_truncated SMALLINT NOT NULL,
    response_headers TEXT NOT NULL,
    response_body TEXT NOT NULL,
    response_truncated SMALLINT NOT NULL,
    upstream_request_body TEXT,
    upstream_response_body TEXT
  );
  CREATE INDEX captures_created ON captures (created_at);
  CREATE TABLE request_quotas (
    started_at BIGINT NOT NULL,
    request_id TEXT COLLATE "C" NOT NULL,
    -- [[bucket, quota, nanos, outcome], …]
    entries JSONB NOT NULL,
    PRIMARY KEY (started_at, request_id)
  );
  CREATE TABLE request_hooks (
    started_at BIGINT NOT NULL,
    request_id TEXT COLLATE "C" NOT NULL,
    -- [[hook, event, verdict, ms, detail], …]
    entries JSONB NOT NULL,
    PRIMARY KEY (started_at, request_id)
  );
  CREATE TABLE conversations (
    id TEXT COLLATE "C" PRIMARY KEY,
    login TEXT COLLATE "C" NOT NULL,
    title TEXT NOT NULL,
    model TEXT NOT NULL,
    system_prompt TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );
  CREATE INDEX conversations_login ON conversations (login, updated_at);
  CREATE TABLE chat_messages (
    id TEXT COLLATE "C" PRIMARY KEY,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    request_id TEXT,
    created_at BIGINT NOT NULL
  );
  CREATE UNIQUE INDEX chat_messages_order ON chat_messages (conversation_id, seq);
  -- Shared by every replica: charges arrive as deltas, refill is worked out here from
  -- updated_at (quotas-pg.ts), so no replica's refill is counted twice.
  CREATE TABLE quota_balances (
    bucket TEXT COLLATE "C" PRIMARY KEY,
    quota TEXT NOT NULL,
    balance_nanos BIGINT NOT NULL,
    carry BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    unmetered BIGINT NOT NULL
  );
  CREATE TABLE export_cursor (
    exporter TEXT PRIMARY KEY,
    after_seq BIGINT NOT NULL,
    last_key_seconds BIGINT NOT NULL,
    last_export_at BIGINT,
    exported_records BIGINT NOT NULL,
    exported_objects BIGINT NOT NULL,
    pending_key_seconds BIGINT,
    pending_to_seq BIGINT,
    pending_count BIGINT,
    -- The replica building or uploading an object, until when (ms since the epoch).
    owner TEXT,
    lease_until BIGINT
  );
  -- The telemetry fingerprint secret (telemetry/fingerprint.ts): one row, created by the
  -- first replica, so a key has the same fingerprint on every replica.
  CREATE TABLE telemetry_secret (
    id SMALLINT PRIMARY KEY CHECK (id = 1),
    secret TEXT NOT NULL
  );
  `,
  // 2: captures in blocks, as SQLite's migration 9 (capture-blocks-pg.ts): a batch's
  // captures are one zstd-compressed row, and each request says where its capture is. A
  // capture row with its two indexes and PostgreSQL's own compression of the bodies was
  // more than half of what a request cost the writer and the server. A block's requests
  // are the seq numbers first_seq to last_seq (a batch's rows are one statement under the
  // insert lock), so they are found without an index. Older captures stay in `captures`.
  `
  CREATE TABLE capture_blocks (
    id BIGSERIAL PRIMARY KEY,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    -- the earliest start among its requests: the purge looks for blocks by it
    min_started_at BIGINT NOT NULL,
    -- zstd frame of the captures' bytes (capture-bytes.ts), one after another
    data BYTEA NOT NULL
  );
  -- Already compressed: stored as it is, never compressed again.
  ALTER TABLE capture_blocks ALTER COLUMN data SET STORAGE EXTERNAL;
  CREATE INDEX capture_blocks_started ON capture_blocks (min_started_at);
  ALTER TABLE requests ADD COLUMN capture_block BIGINT, ADD COLUMN capture_offset INTEGER;
  `,
];
