/**
 * The records of an S3 export, with the reference's field names (§8.5): `id` (the order
 * the records were written in), `ver: 2`, `timestamp`, `identity`, `model`, `api_type`,
 * `usage` (UsageTokens names), `estimated_cost`, `duration_ms`, `capture_id`,
 * `session_id`, `path`, `status_code` and `capture`; and keyway's `request_id`, which
 * opens the request in keyway's own log. Pure: it runs in the telemetry worker.
 */

/** A request row as the export reads it: the `requests` columns, its rowid and its capture's. */
export interface ExportRow {
  seq: number;
  id: string;
  started_at: number;
  duration_ms: number;
  login: string;
  node_id: string;
  tags: string;
  format: string;
  path: string;
  requested_model: string;
  status: number;
  has_usage: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_5m_tokens: number;
  cache_write_1h_tokens: number;
  reasoning_tokens: number;
  web_search_count: number;
  tool_call_count: number;
  cost_usd: number | null;
  session_id: string;
  /** The capture's columns; null when there is none (never kept, or purged). */
  request_headers: string | null;
  request_body: string | null;
  request_truncated: number | null;
  response_headers: string | null;
  response_body: string | null;
  response_truncated: number | null;
}

export interface ExportToolCall {
  name: string;
  arguments: string | null;
}

/**
 * The reference's `api_type` for each API format. Only `oai_completions` and
 * `ant_messages` are documented (2026-04); the others follow their pattern, and a format
 * without an entry is named by its compatibility flag.
 */
const API_TYPES: Readonly<Record<string, string>> = {
  openai_chat: 'oai_completions',
  openai_responses: 'oai_responses',
  anthropic_messages: 'ant_messages',
};

/** exportRecord turns one row (and its tool calls) into the object written to the export. */
export function exportRecord(row: ExportRow, toolCalls: readonly ExportToolCall[]): Record<string, unknown> {
  const record: Record<string, unknown> = {
    id: row.seq,
    ver: 2,
    timestamp: new Date(row.started_at),
    request_id: row.id,
    identity: { login_name: row.login, stable_node_id: row.node_id, tags: row.tags ? row.tags.split(',') : [] },
    model: row.requested_model,
    api_type: API_TYPES[row.format] ?? row.format,
  };
  if (row.has_usage === 1) {
    record.usage = {
      input_tokens: row.input_tokens,
      output_tokens: row.output_tokens,
      cached_tokens: row.cache_read_tokens,
      cache_creation_input_tokens: row.cache_write_5m_tokens + row.cache_write_1h_tokens,
      cache_creation_5m_input_tokens: row.cache_write_5m_tokens,
      cache_creation_1h_input_tokens: row.cache_write_1h_tokens,
      reasoning_tokens: row.reasoning_tokens,
      web_search_count: row.web_search_count,
    };
  }
  if (row.cost_usd !== null) record.estimated_cost = row.cost_usd;
  record.duration_ms = row.duration_ms;
  record.session_id = row.session_id;
  record.path = row.path;
  record.status_code = row.status;
  const capture: Record<string, unknown> = {};
  if (row.request_body !== null) {
    record.capture_id = row.id;
    capture.request = { headers: parseHeaders(row.request_headers), body: processedBody(row.request_body), truncated: row.request_truncated === 1 };
    capture.response = { headers: parseHeaders(row.response_headers), body: processedBody(row.response_body ?? ''), truncated: row.response_truncated === 1 };
  }
  if (toolCalls.length > 0) {
    capture.tool_use = toolCalls.map((t) => (t.arguments === null ? { name: t.name } : { name: t.name, input: processedBody(t.arguments) }));
  }
  if (Object.keys(capture).length > 0) record.capture = capture;
  return record;
}

function parseHeaders(text: string | null): Record<string, string> {
  if (!text) return {};
  try {
    return JSON.parse(text) as Record<string, string>;
  } catch {
    return {};
  }
}

/**
 * processedBody is a body as JSON (the reference's "processed JSON bodies"): parsed when
 * it is JSON, the text itself otherwise (a body cut at the capture limit, a raw stream).
 */
function processedBody(text: string): unknown {
  const first = text.charCodeAt(0);
  // Only objects and arrays: a bare number or string would turn into a different type.
  if (first !== 0x7b /* { */ && first !== 0x5b /* [ */) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
