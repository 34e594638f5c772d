/**
 * Usage, sessions and the CSV export (GET /api/usage, /api/sessions, /api/usage.csv).
 * Users see their own data; admins see everyone's and may filter by user.
 */
import { useEffect, useState } from 'react';
import { apiFetch, query, type ApiError } from '../api';
import { useApi } from './use-api';

export interface UsageRow {
  key: string | null;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  costUsd: number;
}

export interface Usage {
  totals: UsageRow;
  groups: UsageRow[];
}

export type GroupBy = 'day' | 'login' | 'model' | 'provider' | 'session' | 'format' | 'credential';

export interface UsageFilter {
  /** Milliseconds since the epoch. */
  from?: number;
  to?: number;
  user?: string;
  model?: string;
  provider?: string;
  status?: number;
}

export interface Session {
  sessionId: string;
  login: string;
  startedAt: number;
  endedAt: number;
  requests: number;
  models: string[];
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

function filterQuery(f: UsageFilter, extra: Record<string, string | number | undefined> = {}): string {
  return query({ from: f.from, to: f.to, user: f.user, model: f.model, provider: f.provider, status: f.status, ...extra });
}

export function useUsage(filter: UsageFilter, groupBy?: GroupBy) {
  return useApi<Usage>(`/api/usage${filterQuery(filter, { group_by: groupBy })}`);
}

export function useSessions(filter: UsageFilter, limit = 50) {
  return useApi<{ sessions: Session[] }>(`/api/sessions${filterQuery(filter, { limit })}`);
}

/** csvUrl is the download link for the usage table (one row per day, user and model). */
export function csvUrl(filter: UsageFilter): string {
  return `/api/usage.csv${filterQuery(filter)}`;
}

export interface ModelSeries {
  model: string;
  /** Tokens (input + output) per day, keyed by "YYYY-MM-DD". */
  tokens: Map<string, number>;
  cost: Map<string, number>;
}

/**
 * useUsageByModelAndDay loads the top `top` models of the period and each one's daily
 * series, for the stacked charts. The usage API groups by one dimension, so this asks once
 * for the models and once per model for its days.
 */
export function useUsageByModelAndDay(filter: UsageFilter, top = 6): { data: ModelSeries[] | undefined; error: ApiError | undefined; loading: boolean } {
  const key = filterQuery(filter);
  const [state, setState] = useState<{ key: string; data?: ModelSeries[]; error?: ApiError }>({ key });
  useEffect(() => {
    const abort = new AbortController();
    const url = (extra: Record<string, string>) => {
      const q = new URLSearchParams(key.slice(1));
      for (const [k, v] of Object.entries(extra)) q.set(k, v);
      return `/api/usage?${q}`;
    };
    (async () => {
      const models = await apiFetch<Usage>(url({ group_by: 'model' }), { signal: abort.signal });
      if (!models.ok) return setState({ key, error: models.error });
      const names = models.data.groups.filter((g) => g.key !== null).slice(0, top).map((g) => g.key!);
      const series = await Promise.all(
        names.map(async (model): Promise<ModelSeries | ApiError> => {
          const days = await apiFetch<Usage>(url({ model, group_by: 'day' }), { signal: abort.signal });
          if (!days.ok) return days.error;
          return {
            model,
            tokens: new Map(days.data.groups.map((g) => [g.key ?? '', g.inputTokens + g.outputTokens])),
            cost: new Map(days.data.groups.map((g) => [g.key ?? '', g.costUsd])),
          };
        }),
      );
      const failed = series.find((s): s is ApiError => !('model' in s));
      if (!abort.signal.aborted) setState(failed ? { key, error: failed } : { key, data: series as ModelSeries[] });
    })();
    return () => abort.abort();
  }, [key, top]);
  const current = state.key === key;
  return { data: current ? state.data : undefined, error: current ? state.error : undefined, loading: !current || (!state.data && !state.error) };
}
