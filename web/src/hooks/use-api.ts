/**
 * useApi is the one data-loading hook the per-area hooks build on: it GETs `path` through
 * apiFetch, cancels the request when the path changes or the component goes away, and
 * offers `reload`. A null path loads nothing (for data that depends on a choice).
 */
import { useCallback, useEffect, useState } from 'react';
import { apiFetch, type ApiError } from '../api';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  /** reload fetches again; the old data stays visible until the new answer arrives. */
  reload: () => void;
}

export function useApi<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ path: string | null; data: T | undefined; error: ApiError | undefined; loading: boolean }>({
    path,
    data: undefined,
    error: undefined,
    loading: path !== null,
  });
  const [nonce, setNonce] = useState(0);

  useEffect(() => {
    if (path === null) {
      setState({ path, data: undefined, error: undefined, loading: false });
      return;
    }
    const abort = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    apiFetch<T>(path, { signal: abort.signal }).then((r) => {
      if (abort.signal.aborted) return;
      setState(r.ok ? { path, data: r.data, error: undefined, loading: false } : { path, data: undefined, error: r.error, loading: false });
    });
    return () => abort.abort();
  }, [path, nonce]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  // Data fetched for another path must not show while the new path loads.
  const current = state.path === path;
  return { data: current ? state.data : undefined, error: current ? state.error : undefined, loading: current ? state.loading : true, reload };
}

/**
 * useReloadEvery calls `reload` every `ms` while `enabled`: for state that changes on its
 * own (a status banner that must appear and go without a click).
 */
export function useReloadEvery(reload: () => void, ms: number, enabled = true): void {
  useEffect(() => {
    if (!enabled) return;
    const timer = setInterval(reload, ms);
    return () => clearInterval(timer);
  }, [enabled, reload, ms]);
}
