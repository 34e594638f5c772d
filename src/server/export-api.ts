/**
 * `GET /api/export` (admins): where the S3 export stands, for the dashboard's export card
 * and its banner when the export is failing. Only the destination's names are shown:
 * credentials never leave the configuration.
 */
import type { ServerResponse } from 'node:http';
import type { Access } from '../access/grants.js';
import type { Snapshot } from '../config/snapshot.js';
import { GatewayError } from '../errors.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { sendJson } from './respond.js';

export interface ExportApiRequest {
  telemetry: Telemetry | undefined;
  snapshot: Snapshot;
  res: ServerResponse;
  method: string;
  pathname: string;
  access: Access;
}

/** handleExportApi serves `/api/export`; false for other paths. */
export async function handleExportApi(r: ExportApiRequest): Promise<boolean> {
  if (r.pathname !== '/api/export') return false;
  if (r.method !== 'GET') throw new GatewayError('METHOD_NOT_ALLOWED');
  if (r.access.role !== 'admin') throw new GatewayError('NOT_ADMIN', 'access denied: only admins can read the export status');
  const telemetry = r.telemetry;
  if (!telemetry) throw new GatewayError('TELEMETRY_OFF');
  const status = await telemetry.exporter.status();
  sendJson(r.res, 200, { ...status, require_export: telemetry.policy(r.snapshot).requireExport }, { 'cache-control': 'no-store' });
  return true;
}
