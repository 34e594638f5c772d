/**
 * The S3 export's status (GET /api/export, admins only), polled so the banner appears
 * when the export starts failing and goes when it recovers.
 */
import { useApi, useReloadEvery } from './use-api';

export interface ExportStatus {
  state: 'off' | 'idle' | 'exporting' | 'failing';
  destination: { endpoint: string | null; bucket: string; region: string; prefix: string; key_pattern: string } | null;
  every_seconds: number | null;
  limit: number | null;
  last_attempt_at: string | null;
  last_success_at: string | null;
  next_attempt_at: string | null;
  consecutive_failures: number;
  last_error: { at: string; message: string } | null;
  last_object_key: string | null;
  exported_records: number;
  exported_objects: number;
  last_export_at: string | null;
  pending_records: number;
  oldest_pending_at: string | null;
  lag_seconds: number;
  require_export: boolean;
}

/** How often the status is read again while a screen shows it. */
const POLL_MS = 30_000;

/** useExportStatus loads the export status when `enabled` (admins), and every 30 s after. */
export function useExportStatus(enabled: boolean) {
  const loaded = useApi<ExportStatus>(enabled ? '/api/export' : null);
  useReloadEvery(loaded.reload, POLL_MS, enabled);
  return loaded;
}
