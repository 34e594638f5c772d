/**
 * ModelPicker: a button that opens a searchable list of models (a combobox over a
 * listbox: arrow keys move, Enter picks, Escape closes), in the order keyway gives them
 * (the configuration's chat_models), under their labels when it has some. Models hidden
 * from chat are named below the list with the reason keyway gives.
 */
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import type { ChatModels } from '../hooks/chat';

interface Props {
  models: ChatModels | undefined;
  value: string;
  onChange: (id: string) => void;
  /** onOpen lets the caller refresh the list (a new fallback key shows up without a reload). */
  onOpen?: () => void;
}

export default function ModelPicker({ models, value, onChange, onOpen }: Props) {
  const [open, setOpen] = useState(false);
  const [search, setSearch] = useState('');
  const [active, setActive] = useState(0);
  const listId = useId();
  const root = useRef<HTMLDivElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const button = useRef<HTMLButtonElement>(null);

  const matches = useMemo(() => {
    const q = search.trim().toLowerCase();
    const all = models?.models ?? [];
    return q ? all.filter((m) => `${m.label ?? ''} ${m.id} ${m.provider_name} ${m.description}`.toLowerCase().includes(q)) : all;
  }, [models, search]);

  useEffect(() => {
    if (!open) return;
    input.current?.focus();
    const outside = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', outside);
    return () => document.removeEventListener('mousedown', outside);
  }, [open]);

  const pick = (id: string) => {
    onChange(id);
    setOpen(false);
    setSearch('');
    button.current?.focus();
  };

  const current = models?.models.find((m) => m.id === value);
  const hidden = models?.hidden ?? [];
  return (
    <div className="picker" ref={root}>
      <button
        ref={button}
        type="button"
        className="btn btn-secondary"
        aria-haspopup="listbox"
        aria-expanded={open}
        onClick={() => {
          if (!open) onOpen?.();
          setOpen(!open);
          setActive(0);
        }}
      >
        Model: <strong>{current ? (current.label ?? current.id) : value || 'choose…'}</strong> ▾
      </button>
      {open && (
        <div className="picker-panel">
          <input
            ref={input}
            type="search"
            role="combobox"
            aria-label="Search models"
            aria-expanded="true"
            aria-controls={listId}
            aria-activedescendant={matches[active] ? `${listId}-${active}` : undefined}
            placeholder="Search models"
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              setActive(0);
            }}
            onKeyDown={(e) => {
              if (e.key === 'ArrowDown') setActive((a) => Math.min(a + 1, matches.length - 1));
              else if (e.key === 'ArrowUp') setActive((a) => Math.max(a - 1, 0));
              else if (e.key === 'Enter' && matches[active]) pick(matches[active].id);
              else if (e.key === 'Escape') {
                setOpen(false);
                button.current?.focus();
              } else return;
              e.preventDefault();
            }}
          />
          <ul id={listId} role="listbox" aria-label="Models">
            {matches.map((m, i) => (
              <li
                key={m.id}
                id={`${listId}-${i}`}
                role="option"
                aria-selected={i === active}
                data-current={m.id === value || undefined}
                onMouseEnter={() => setActive(i)}
                onClick={() => pick(m.id)}
              >
                {m.label ? <div className="small">{m.label}</div> : <div className="mono small">{m.id}</div>}
                <div className="muted small">
                  {m.label ? <span className="mono">{m.id}</span> : null}
                  {m.label ? ' · ' : ''}
                  {m.provider_name}
                  {m.description ? ` — ${m.description}` : ''}
                </div>
              </li>
            ))}
            {matches.length === 0 && <li className="muted small">No model matches.</li>}
          </ul>
          {hidden.length > 0 && (
            <div className="picker-note" data-testid="hidden-models">
              {[...groupByReason(hidden)].map(([reason, ids]) => (
                <p key={reason}>
                  <strong>Not available in chat: {ids.join(', ')}.</strong> {reason}
                </p>
              ))}
            </div>
          )}
        </div>
      )}
    </div>
  );
}

function groupByReason(hidden: ChatModels['hidden']): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const h of hidden) out.set(h.reason, [...(out.get(h.reason) ?? []), h.id]);
  return out;
}
