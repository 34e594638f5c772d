/**
 * MCP servers and connectors (GET /api/connectors) and MCP tool use (GET /api/tool-use,
 * and the request log filtered to format "mcp"). Counts are what the viewer may use;
 * admins see every server's URL and last error, and everyone's calls.
 */
import { query } from '../api';
import { useApi } from './use-api';

export interface Connector {
  id: string;
  description: string;
  protocol: 'mcp' | 'http';
  provider: string;
  category: string;
  /** up, down, connecting, unsupported (per-user OAuth), ready (an HTTP connector). */
  status: string;
  auth_type: string;
  source: 'mcp.servers' | 'connectors' | 'registration' | 'builtin';
  labels: string[];
  tools: number;
  resources: number;
  templates: number;
  url?: string;
  error?: string;
}

export function useConnectors() {
  return useApi<{ connectors: Connector[] }>('/api/connectors');
}

export interface ToolUseRow {
  key: string | null;
  calls: number;
  errors: number;
  refused: number;
  durationMs: number;
}

export interface ToolUse {
  bucket: 'hour' | 'day';
  totals: ToolUseRow;
  byTool: ToolUseRow[];
  byUser: ToolUseRow[];
  byOutcome: ToolUseRow[];
  /** Tool calls the models made in their answers (the recorded tool calls of inference requests). */
  models: ModelToolUse;
  series: Array<{ at: number; outcome: string; calls: number }>;
}

export interface ModelToolRow {
  key: string | null;
  calls: number;
  requests: number;
}

export interface ModelToolUse {
  totals: ModelToolRow;
  byTool: ModelToolRow[];
  byAgent: ModelToolRow[];
  byUser: ModelToolRow[];
  series: Array<{ at: number; tool: string; calls: number }>;
}

export interface ToolUseFilter {
  from: number;
  to: number;
  user?: string;
  server?: string;
  bucket: 'hour' | 'day';
}

export function useToolUse(f: ToolUseFilter) {
  return useApi<ToolUse>(`/api/tool-use${query({ from: f.from, to: f.to, user: f.user, server: f.server, bucket: f.bucket })}`);
}

/** The outcomes of a tool call (src/mcp/gateway.ts), in the order charts stack them. */
export const OUTCOMES = ['ok', 'tool_error', 'upstream_error', 'refused', 'unknown', 'invalid', 'unavailable', 'timeout', 'cancelled'] as const;

export const OUTCOME_LABELS: Record<string, string> = {
  ok: 'ok',
  tool_error: 'tool error',
  upstream_error: 'server error',
  refused: 'refused',
  unknown: 'unknown tool',
  invalid: 'invalid call',
  unavailable: 'server unavailable',
  timeout: 'timeout',
  cancelled: 'cancelled',
};
