/**
 * CommandPalette: Ctrl+K (⌘K on a Mac) anywhere in the dashboard searches screens, users
 * (admins: each opens that user's dashboard), models (each opens the log narrowed to it)
 * and request ids (`req_…` opens that request). Users and models are the ones with
 * requests in the last 90 days, loaded when the palette opens; the keyboard drives it all.
 */
import { useEffect, useMemo, useState, type KeyboardEvent } from 'react';
import type { Usage } from '../hooks/usage';
import { useApi } from '../hooks/use-api';
import { query } from '../api';
import { navigate } from '../router';
import Dialog from './dialog';

const DAY = 86_400_000;
/** A whole request id, as keyway hands them out (`x-keyway-request-id`). */
const REQUEST_ID = /^req_[0-9a-f]{8,40}$/i;
const MAX_PER_KIND = 8;

interface Item {
  kind: 'Screen' | 'User' | 'Model' | 'Request';
  label: string;
  href: string;
}

export default function CommandPalette({ screens, admin }: { screens: Array<{ href: string; label: string }>; admin: boolean }) {
  const [open, setOpen] = useState(false);
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        setOpen((o) => !o);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  return (
    <>
      <button type="button" className="btn btn-ghost btn-small palette-button" onClick={() => setOpen(true)} aria-keyshortcuts="Control+K Meta+K">
        Search <kbd>Ctrl K</kbd>
      </button>
      {open && <Palette screens={screens} admin={admin} onClose={() => setOpen(false)} />}
    </>
  );
}

function Palette({ screens, admin, onClose }: { screens: Array<{ href: string; label: string }>; admin: boolean; onClose: () => void }) {
  const [text, setText] = useState('');
  const [selected, setSelected] = useState(0);
  // Fixed when the palette opens, so the paths (and the requests) stay the same while it is.
  const [since] = useState(() => Math.floor(Date.now() / DAY) * DAY - 90 * DAY);
  const models = useApi<Usage>(`/api/usage${query({ from: since, group_by: 'model' })}`);
  const users = useApi<Usage>(admin ? `/api/usage${query({ from: since, group_by: 'login' })}` : null);

  const items = useMemo<Item[]>(() => {
    const q = text.trim().toLowerCase();
    const hit = (s: string) => s.toLowerCase().includes(q);
    const keys = (u: Usage | undefined) => (u?.groups ?? []).flatMap((g) => (g.key && hit(g.key) ? [g.key] : [])).slice(0, MAX_PER_KIND);
    const out: Item[] = [];
    if (REQUEST_ID.test(text.trim())) out.push({ kind: 'Request', label: text.trim(), href: `/ui/logs/${encodeURIComponent(text.trim())}` });
    for (const s of screens) if (hit(s.label)) out.push({ kind: 'Screen', label: s.label, href: s.href });
    for (const login of keys(users.data)) out.push({ kind: 'User', label: login, href: `/ui/dashboard/${encodeURIComponent(login)}` });
    for (const model of keys(models.data)) out.push({ kind: 'Model', label: model, href: `/ui/logs?${new URLSearchParams({ model })}` });
    return out;
  }, [text, screens, users.data, models.data]);
  const current = Math.min(selected, Math.max(0, items.length - 1));

  const go = (item: Item | undefined) => {
    if (!item) return;
    onClose();
    navigate(item.href);
  };
  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const n = items.length;
      if (n > 0) setSelected((current + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      go(items[current]);
    } else if (e.key === 'Escape') {
      // One Escape closes, also with text typed (a search field would only clear itself).
      e.preventDefault();
      onClose();
    }
  };
  const loading = models.loading || (admin && users.loading);
  return (
    <Dialog title="Search" onClose={onClose}>
      <input
        className="palette-input"
        autoFocus
        type="text"
        role="combobox"
        aria-expanded="true"
        aria-controls="palette-results"
        aria-activedescendant={items[current] ? `palette-${current}` : undefined}
        aria-label={admin ? 'Search screens, users, models or a request id' : 'Search screens, models or a request id'}
        placeholder={admin ? 'Screens, users, models, req_…' : 'Screens, models, req_…'}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setSelected(0);
        }}
        onKeyDown={onKey}
        spellCheck={false}
      />
      <ul className="palette-results" id="palette-results" role="listbox" aria-label="Results">
        {items.map((item, i) => (
          <li
            key={`${item.kind}:${item.href}`}
            id={`palette-${i}`}
            role="option"
            aria-selected={i === current}
            className={i === current ? 'selected' : undefined}
            onMouseEnter={() => setSelected(i)}
            onClick={() => go(item)}
          >
            <span className="palette-kind">{item.kind}</span> <span className={item.kind === 'Screen' ? undefined : 'mono'}>{item.label}</span>
          </li>
        ))}
      </ul>
      {items.length === 0 && <p className="muted small">{loading ? 'Loading…' : text.trim().toLowerCase().startsWith('req_') ? 'A request id is req_ and hex digits, as in the x-keyway-request-id header.' : 'Nothing matches.'}</p>}
    </Dialog>
  );
}
