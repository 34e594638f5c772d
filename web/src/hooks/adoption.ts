/**
 * Adoption analytics (GET /api/adoption, admins): active users per day or week, and
 * requests and cost by user, client agent and model, with a CSV link per table.
 */
import { query } from '../api';
import { useApi } from './use-api';

export interface AdoptionRow {
  users: number;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export type AdoptionBucket = 'day' | 'week';

export interface Adoption {
  bucket: AdoptionBucket;
  totals: AdoptionRow;
  activeUsers: Array<AdoptionRow & { period: string }>;
  byUser: Array<AdoptionRow & { login: string; activeDays: number; agents: string[]; lastSeen: number }>;
  byAgent: Array<AdoptionRow & { agent: string }>;
  byModel: Array<AdoptionRow & { model: string }>;
  agentSeries: Array<AdoptionRow & { period: string; agent: string }>;
  modelSeries: Array<AdoptionRow & { period: string; model: string }>;
}

export interface AdoptionFilter {
  from: number;
  to: number;
  bucket: AdoptionBucket;
  user?: string;
}

export type AdoptionTable = 'active' | 'users' | 'agents' | 'models';

/** The agents keyway tells apart (src/telemetry/agents.ts), as the UI names them. */
export const AGENT_LABELS: Record<string, string> = {
  'claude-code': 'Claude Code',
  codex: 'Codex',
  'gemini-cli': 'Gemini CLI',
  'anthropic-sdk': 'Anthropic SDK',
  'openai-sdk': 'OpenAI SDK',
  'google-genai-sdk': 'Google Gen AI SDK',
  chat: 'Chat',
  dashboard: 'Dashboard (Test)',
  other: 'Other',
};

export const agentLabel = (agent: string | null | undefined): string => (agent ? (AGENT_LABELS[agent] ?? agent) : '—');

const params = (f: AdoptionFilter) => ({ from: f.from, to: f.to, bucket: f.bucket, user: f.user });

export function useAdoption(f: AdoptionFilter) {
  return useApi<Adoption>(`/api/adoption${query(params(f))}`);
}

/** adoptionCsvUrl downloads one table of the adoption analytics as CSV. */
export function adoptionCsvUrl(f: AdoptionFilter, table: AdoptionTable): string {
  return `/api/adoption${query({ ...params(f), format: 'csv', table })}`;
}

/**
 * periods lists the first day of every day or (Monday-first) week from `from` to `to`, as
 * the API names them, so a chart has a column for periods without requests too.
 */
export function periods(from: number, to: number, bucket: AdoptionBucket): string[] {
  const DAY = 86_400_000;
  let at = Math.floor(from / DAY) * DAY;
  if (bucket === 'week') at -= ((new Date(at).getUTCDay() + 6) % 7) * DAY;
  const out: string[] = [];
  for (; at < to; at += bucket === 'week' ? 7 * DAY : DAY) out.push(new Date(at).toISOString().slice(0, 10));
  return out;
}
