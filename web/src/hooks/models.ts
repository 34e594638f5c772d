/**
 * Models the viewer may use (GET /v1/models), providers (GET /api/providers) and the
 * dashboard's Test button (POST /api/models/test).
 */
import { apiFetch } from '../api';
import { useApi } from './use-api';

/** Prices in USD per token, as decimal strings. */
export interface Pricing {
  input?: string;
  output?: string;
  input_cache_read?: string;
  input_cache_write?: string;
  input_cache_write_1h?: string;
  web_search?: string;
}

export interface ModelRow {
  id: string;
  display_name: string;
  owned_by: string;
  supported_endpoints: string[];
  pricing?: Pricing;
  metadata: {
    provider: { id: string; name: string; description: string; requires_client_auth: boolean; upstream: string; auth_mode: string };
  };
}

export interface ProviderRow {
  id: string;
  name: string;
  description: string;
  models: string[];
  compatibility: Record<string, boolean>;
  auth_mode: string;
  requires_client_auth: boolean;
  disabled: boolean;
}

export function useModels() {
  return useApi<{ data: ModelRow[] }>('/v1/models');
}

export function useProviders() {
  return useApi<ProviderRow[]>('/api/providers');
}

export interface TestResult {
  ok: boolean;
  status: number;
  latency_ms: number;
  text?: string;
  error?: string;
  /** Set when a quota bucket refused the test (status 429). */
  quota?: { bucket: string; retry_after: number };
}

/** testModel asks keyway to send a short request to `provider/model` with the provider's key. */
export function testModel(provider: string, model: string) {
  return apiFetch<TestResult>('/api/models/test', { method: 'POST', body: { provider, model } });
}

/** FORMAT_LABELS names the API formats (compatibility flags) for people. */
export const FORMAT_LABELS: Record<string, string> = {
  openai_chat: 'OpenAI Chat',
  openai_responses: 'OpenAI Responses',
  anthropic_messages: 'Anthropic Messages',
  gemini_generate_content: 'Gemini',
  google_generate_content: 'Vertex Gemini',
  google_raw_predict: 'Vertex raw predict',
  bedrock_model_invoke: 'Bedrock invoke',
  bedrock_converse: 'Bedrock converse',
  experimental_gemini_cli_vertex_compat: 'Gemini CLI Vertex compat',
};
