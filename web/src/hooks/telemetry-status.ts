/**
 * Whether the telemetry database takes writes (GET /api/telemetry/status, admins only),
 * polled so the banner appears while PostgreSQL is away and goes when it is back.
 */
import { useApi, useReloadEvery } from './use-api';

export interface TelemetryStatus {
  backend: 'sqlite' | 'postgres';
  available: boolean;
  failing_since: string | null;
  last_error: string | null;
  retries: number;
  queued: number;
  written_records: number;
  dropped_records: number;
  dropped_captures: number;
  failed_writes: number;
}

/** How often the status is read again. */
const POLL_MS = 15_000;

export function useTelemetryStatus(enabled: boolean) {
  const loaded = useApi<TelemetryStatus>(enabled ? '/api/telemetry/status' : null);
  useReloadEvery(loaded.reload, POLL_MS, enabled);
  return loaded;
}
