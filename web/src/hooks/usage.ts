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

export type GroupBy = 'day' | 'login' | 'model' | 'provider' | 'session' | 'format' | 'credential' | 'agent';

export interface UsageFilter {
  /** Milliseconds since the epoch. */
  from?: number;
  to?: number;
  user?: string;
  model?: string;
  provider?: string;
  status?: number;
  /** The client agent (`claude-code`, `codex`, …; hooks/adoption.ts AGENT_LABELS). */
  agent?: string;
  /** `name:value`: requests whose captured request headers have this value. */
  header?: string;
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
  return query({ from: f.from, to: f.to, user: f.user, model: f.model, provider: f.provider, status: f.status, agent: f.agent, header: f.header, ...extra });
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

/** The series that stands for every model beyond the top ones, so the bars add up to the totals. */
export const OTHER_MODELS = 'other models';

/**
 * useUsageByModelAndDay loads the top `top` models of the period and each one's daily
 * series, for the stacked charts. The usage API groups by one dimension, so this asks once
 * for the models and once per model for its days (a model filter matches exactly the
 * requests its `group_by=model` group counted, so no request is drawn twice). Beyond the
 * top models, one more series holds the rest: the day totals minus the named series.
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
      const named = models.data.groups.filter((g) => g.key !== null);
      const names = named.slice(0, named.length > top ? top - 1 : top).map((g) => g.key!);
      const daySeries = async (model: string, extra: Record<string, string>): Promise<ModelSeries | ApiError> => {
        const days = await apiFetch<Usage>(url({ ...extra, group_by: 'day' }), { signal: abort.signal });
        if (!days.ok) return days.error;
        return {
          model,
          tokens: new Map(days.data.groups.map((g) => [g.key ?? '', g.inputTokens + g.outputTokens])),
          cost: new Map(days.data.groups.map((g) => [g.key ?? '', g.costUsd])),
        };
      };
      const rest = names.length < models.data.groups.length;
      const [all, ...series] = await Promise.all([rest ? daySeries(OTHER_MODELS, {}) : undefined, ...names.map((model) => daySeries(model, { model }))]);
      const failed = [all, ...series].find((s): s is ApiError => s !== undefined && !('model' in s));
      if (abort.signal.aborted) return;
      if (failed) return setState({ key, error: failed });
      const data = series as ModelSeries[];
      if (all) data.push(remainder(all as ModelSeries, data));
      setState({ key, data });
    })();
    return () => abort.abort();
  }, [key, top]);
  const current = state.key === key;
  return { data: current ? state.data : undefined, error: current ? state.error : undefined, loading: !current || (!state.data && !state.error) };
}

/** remainder is `all` minus the named series, day by day: what the models beyond the top ones used. */
function remainder(all: ModelSeries, named: ModelSeries[]): ModelSeries {
  const minus = (kind: 'tokens' | 'cost') =>
    new Map([...all[kind]].map(([day, v]) => [day, Math.max(0, v - named.reduce((n, s) => n + (s[kind].get(day) ?? 0), 0))]));
  return { model: all.model, tokens: minus('tokens'), cost: minus('cost') };
}
