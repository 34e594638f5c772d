/** "Who can use what": POST /api/explain runs keyway's routing for any caller against a draft config (admin). */
import { apiFetch } from '../api';

export interface Candidate {
  provider: string;
  upstream_model: string;
  verdict: string;
  detail: string;
}

export interface Explanation {
  model: string;
  login: string;
  role: string | null;
  served: boolean;
  formats: string[];
  provider: string | null;
  upstream_model: string | null;
  summary: string;
  candidates: Candidate[];
}

export interface ExplainQuery {
  /** Draft configuration text; omitted means the running configuration. */
  config?: string;
  as: string;
  groups?: string[];
  tags?: string[];
  models: string[];
  format?: string;
}

export function explainDraft(q: ExplainQuery, signal?: AbortSignal) {
  return apiFetch<{ explanations: Explanation[] }>('/api/explain', { method: 'POST', body: q, signal });
}
