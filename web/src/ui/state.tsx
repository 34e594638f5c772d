/** Loading, empty and failed states, so every screen shows them the same way. */
import type { ReactNode } from 'react';
import type { ApiError } from '../api';
import { describeError } from './toast';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="muted loading" role="status">
      {label}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="muted empty">{children}</p>;
}

export function Failed({ error, retry }: { error: ApiError; retry?: () => void }) {
  return (
    <div className="failed" role="alert">
      <p>{describeError(error)}</p>
      {retry && (
        <button type="button" className="btn btn-secondary btn-small" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}
