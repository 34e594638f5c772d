/**
 * The configuration document (admin): read (secrets masked), save with the hash it was read
 * at (optimistic concurrency), validate on the server, history, one version, rollback.
 * Saving never overwrites a concurrent edit: keyway answers 409 and the UI shows the diff.
 */
import { apiFetch, type ApiError } from '../api';
import { useApi } from './use-api';
import type { Problem } from '../../../src/config/types.js';

export type { Problem };
/** blocking lists the problems that stop a document: its errors (the server's own rule). */
export { blocking } from '../../../src/config/problems.js';

/** A change of the file on disk that keyway refused; the running configuration stayed. */
export interface Refused {
  source: 'file' | 'signal' | 'startup' | 'api';
  at: string;
  problems: Problem[];
  text_hash: string;
  /** The refused text, secrets masked. */
  config: string;
}

export interface ConfigDoc {
  config: string;
  exists: boolean;
  hash: string;
  problems: Problem[];
  refused: Refused | null;
}

export interface Version {
  id: string;
  savedAt: string;
  hash: string;
}

export function useConfig() {
  return useApi<ConfigDoc>('/api/config');
}

export function useHistory() {
  return useApi<{ versions: Version[] }>('/api/config/history');
}

/** What a save came to: applied, refused because someone saved first, refused as invalid, or failed. */
export type SaveOutcome =
  | { kind: 'saved'; hash: string; problems: Problem[] }
  | { kind: 'conflict'; hash: string; message: string }
  | { kind: 'invalid'; problems: Problem[]; message: string }
  | { kind: 'failed'; error: ApiError };

function outcome(r: Awaited<ReturnType<typeof apiFetch<{ hash: string; problems: Problem[] }>>>): SaveOutcome {
  if (r.ok) return { kind: 'saved', hash: r.data.hash, problems: r.data.problems ?? [] };
  const body = r.error.body as { hash?: unknown; problems?: unknown } | undefined;
  if (r.error.code === 'CONFIG_CONFLICT') return { kind: 'conflict', hash: typeof body?.hash === 'string' ? body.hash : '', message: r.error.message };
  if (r.error.code === 'CONFIG_INVALID') return { kind: 'invalid', problems: Array.isArray(body?.problems) ? (body.problems as Problem[]) : [], message: r.error.message };
  return { kind: 'failed', error: r.error };
}

/** saveConfig PUTs `text`, which the editor started from the config with `hash`. */
export async function saveConfig(text: string, hash: string): Promise<SaveOutcome> {
  return outcome(await apiFetch<{ hash: string; problems: Problem[] }>('/api/config', { method: 'PUT', body: { config: text, hash } }));
}

/** rollback saves version `id` again; `hash` is the running config's, as for a save. */
export async function rollback(id: string, hash: string): Promise<SaveOutcome> {
  return outcome(await apiFetch<{ hash: string; problems: Problem[] }>('/api/config/rollback', { method: 'POST', body: { id, hash } }));
}

export interface Validation {
  Valid: boolean;
  Errors: string[];
  Warnings: string[];
  problems: Problem[];
}

/** validateOnServer runs keyway's own verdict (errors block, warnings do not) on `text`, macros included. */
export function validateOnServer(text: string) {
  return apiFetch<Validation>('/api/config/validate', { method: 'POST', body: { config: text } });
}

export function readVersion(id: string) {
  return apiFetch<{ id: string; config: string }>(`/api/config/history/${encodeURIComponent(id)}`);
}

export function readConfig() {
  return apiFetch<ConfigDoc>('/api/config');
}
