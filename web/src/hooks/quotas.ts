/**
 * Quotas (GET /api/quotas, GET /api/quotas/history, POST /api/quotas/refill). Users see
 * the buckets their grants attach; admins see every bucket and may refill them.
 */
import { apiFetch, query, type ApiError } from '../api';
import { useApi } from './use-api';

export interface BucketView {
  bucket: string;
  quota: string;
  template: string | null;
  attached: boolean;
  balance: string;
  balance_nanos: number;
  capacity: string;
  capacity_nanos: number;
  rate: string;
  rate_nanos: number;
  rate_period_seconds: number;
  updated_at: string | null;
  passes: boolean;
  retry_after_seconds: number | null;
  unmetered_requests: number;
}

export interface QuotaDefinition {
  name: string;
  template: string | null;
  capacity: string;
  rate: string;
}

export interface QuotasAnswer {
  buckets: BucketView[];
  quotas: QuotaDefinition[];
  /** Whether telemetry is on (the history needs it). */
  telemetry: boolean;
}

export interface QuotaHistoryRow {
  period: string;
  bucket: string;
  requests: number;
  refused: number;
  unmetered: number;
  chargedNanos: number;
}

export function useQuotas() {
  return useApi<QuotasAnswer>('/api/quotas');
}

export function useQuotaHistory(from: number, every: 'hour' | 'day', enabled: boolean) {
  return useApi<{ every: string; rows: QuotaHistoryRow[] }>(enabled ? `/api/quotas/history${query({ from, every })}` : null);
}

/** refillBucket adds `amount` ("$5.00") to a bucket, or fills it when amount is empty (admins). */
export function refillBucket(bucket: string, amount: string) {
  return apiFetch<{ bucket: BucketView; added_nanos: number }>('/api/quotas/refill', { method: 'POST', body: amount ? { bucket, amount } : { bucket } });
}

/** quotaRefusal reads the bucket out of a refusal keyway answered with 429 QUOTA_EXCEEDED. */
export function quotaRefusal(err: ApiError): { bucket: string; retry_after: number } | undefined {
  if (err.code !== 'QUOTA_EXCEEDED') return undefined;
  const body = err.body as { bucket?: unknown; retry_after?: unknown } | undefined;
  return typeof body?.bucket === 'string' ? { bucket: body.bucket, retry_after: Number(body.retry_after) || 1 } : undefined;
}

/** waitText says how long until a bucket lets requests through again. */
export function waitText(seconds: number): string {
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}
