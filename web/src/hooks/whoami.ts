/**
 * The viewer: who keyway thinks they are and what they may do. The UI uses it only to
 * hide what the viewer cannot do; keyway enforces every rule itself.
 */
import { createContext, useContext } from 'react';
import { setCsrfToken } from '../api';
import { useApi } from './use-api';

export interface Whoami {
  login: string;
  display_name: string;
  node_id: string;
  tags: string[];
  groups: string[];
  loopback: boolean;
  identity_source: string;
  role: 'admin' | 'user' | null;
  models: string[];
  enable_chat_ui: boolean;
  read_metrics: boolean;
  csrf_token?: string;
}

/** useWhoamiRequest loads /api/whoami once (at the app's root) and keeps the CSRF token. */
export function useWhoamiRequest() {
  const loaded = useApi<Whoami>('/api/whoami');
  if (loaded.data) setCsrfToken(loaded.data.csrf_token);
  return loaded;
}

export const WhoamiContext = createContext<Whoami | undefined>(undefined);

/** useWhoami returns the viewer; only screens rendered after whoami loaded may call it. */
export function useWhoami(): Whoami {
  const who = useContext(WhoamiContext);
  if (!who) throw new Error('useWhoami outside WhoamiContext');
  return who;
}

/** isAdmin reports whether the viewer has the admin role (to show admin screens). */
export function isAdmin(who: Whoami): boolean {
  return who.role === 'admin';
}
