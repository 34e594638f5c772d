/** The request log (GET /api/requests, /api/requests/{id}): records, tool calls and captures. */
import { useCallback, useEffect, useState } from 'react';
import { apiFetch, query, type ApiError } from '../api';
import { useApi } from './use-api';
import type { UsageFilter } from './usage';

export interface RequestUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWrite5mTokens: number;
  cacheWrite1hTokens: number;
  reasoningTokens: number;
  webSearchCount: number;
}

export type CredentialSource = 'client' | 'fallback' | 'provider' | 'none';

export interface RequestRecord {
  id: string;
  startedAt: number;
  durationMs: number;
  ttfbMs: number | null;
  login: string;
  nodeId: string;
  tags: string[];
  userAgent: string;
  client: string;
  format: string;
  path: string;
  requestedModel: string;
  provider: string | null;
  upstreamModel: string | null;
  status: number;
  errorCode: string | null;
  errorClass: string | null;
  stream: boolean;
  usage: RequestUsage | null;
  toolCallCount: number;
  stopReason: string | null;
  sessionId: string;
  credentialSource: CredentialSource;
  credentialFingerprint: string | null;
  costUsd: number | null;
  costBasis: string | null;
  /** The client agent keyway recognised (hooks/adoption.ts AGENT_LABELS). */
  agent?: string;
  /** The quota buckets the request was checked against, and what each was charged. */
  quotas: QuotaEntry[];
  /** The hooks the request called; absent when none. */
  hooks?: HookEntry[];
}

/** One hook call: a pre_request verdict and its duration, or an asynchronous event queued. */
export interface HookEntry {
  hook: string;
  event: 'pre_request' | 'entire_request' | 'tool_call_entire_request' | string;
  verdict: 'allow' | 'modify' | 'block' | 'failed_open' | 'failed_closed' | 'queued' | 'dropped';
  /** null for asynchronous events (sent after the record was made). */
  ms: number | null;
  /** For failures: `reason: what happened`. */
  detail?: string;
}

export interface QuotaEntry {
  bucket: string;
  quota: string;
  /** Nanodollars (1 USD = 1,000,000,000). */
  nanos: number;
  outcome: 'charged' | 'unpriced' | 'no_usage' | 'refused';
}

export interface ToolCall {
  name: string;
  arguments?: string;
}

export interface Capture {
  requestHeaders: Record<string, string>;
  requestBody: string;
  requestTruncated: boolean;
  responseHeaders: Record<string, string>;
  responseBody: string;
  responseTruncated: boolean;
}

export interface RequestDetail {
  request: RequestRecord;
  toolCalls: ToolCall[];
  capture: Capture | null;
}

export interface LogFilter extends UsageFilter {
  session?: string;
  /** An API format, e.g. `mcp` for MCP tool calls only. */
  format?: string;
}

/**
 * useRequests pages through the log, newest first: `more` loads the next page with the
 * `next` cursor. Changing the filter starts over.
 */
export function useRequests(filter: LogFilter, pageSize = 50) {
  const key = query({ from: filter.from, to: filter.to, user: filter.user, model: filter.model, status: filter.status, session: filter.session, format: filter.format, agent: filter.agent, header: filter.header, limit: pageSize });
  const [state, setState] = useState<{ key: string; rows: RequestRecord[]; next: string | null; error?: ApiError; loading: boolean }>({ key, rows: [], next: null, loading: true });

  const load = useCallback(
    async (before: string | null, signal?: AbortSignal) => {
      const cursor = before ? `${key ? '&' : '?'}before=${encodeURIComponent(before)}` : '';
      const r = await apiFetch<{ requests: RequestRecord[]; next: string | null }>(`/api/requests${key}${cursor}`, { signal });
      if (signal?.aborted) return;
      setState((s) => {
        const base = before && s.key === key ? s.rows : [];
        return r.ok ? { key, rows: [...base, ...r.data.requests], next: r.data.next, loading: false } : { key, rows: base, next: s.next, error: r.error, loading: false };
      });
    },
    [key],
  );

  useEffect(() => {
    const abort = new AbortController();
    setState({ key, rows: [], next: null, loading: true });
    load(null, abort.signal);
    return () => abort.abort();
  }, [key, load]);

  const more = useCallback(() => {
    if (!state.next) return;
    setState((s) => ({ ...s, loading: true }));
    load(state.next);
  }, [state.next, load]);

  const current = state.key === key;
  return { rows: current ? state.rows : [], next: current ? state.next : null, error: current ? state.error : undefined, loading: !current || state.loading, more };
}

export function useRequestDetail(id: string | null) {
  return useApi<RequestDetail>(id ? `/api/requests/${encodeURIComponent(id)}` : null);
}
