/**
 * Toasts: the UI's one path for reporting errors and confirmations. Screens call
 * `useToast().error(err)` with an ApiError (or any message); nothing uses alert().
 * Toasts sit in a polite live region so screen readers announce them.
 */
import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiError } from '../api';

interface Toast {
  id: number;
  kind: 'error' | 'success';
  text: string;
}

interface ToastApi {
  error(err: ApiError | Error | string, context?: string): void;
  success(text: string): void;
}

const ToastContext = createContext<ToastApi | undefined>(undefined);

export function useToast(): ToastApi {
  const api = useContext(ToastContext);
  if (!api) throw new Error('useToast outside ToastProvider');
  return api;
}

/** describeError renders an error as one readable line (status and code for API errors). */
export function describeError(err: ApiError | Error | string): string {
  if (typeof err === 'string') return err;
  if (err instanceof ApiError && err.status > 0) return `${err.message} (${err.status}${err.code.startsWith('HTTP_') ? '' : ` ${err.code}`})`;
  return err.message;
}

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const next = useRef(1);

  const dismiss = useCallback((id: number) => setToasts((list) => list.filter((t) => t.id !== id)), []);
  const push = useCallback(
    (kind: Toast['kind'], text: string) => {
      const id = next.current++;
      setToasts((list) => [...list.slice(-3), { id, kind, text }]);
      window.setTimeout(() => dismiss(id), kind === 'error' ? 9000 : 4000);
    },
    [dismiss],
  );
  const api = useMemo<ToastApi>(
    () => ({
      error: (err, context) => push('error', context ? `${context}: ${describeError(err)}` : describeError(err)),
      success: (text) => push('success', text),
    }),
    [push],
  );

  return (
    <ToastContext.Provider value={api}>
      {children}
      <div className="toasts" role="status" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} className={`toast toast-${t.kind}`} data-testid={`toast-${t.kind}`}>
            <span>{t.text}</span>
            <button type="button" className="toast-close" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}
