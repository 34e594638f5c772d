/**
 * Providers (admin): one form per provider. It edits the provider's fields in the
 * configuration text (comments and unknown fields stay as written) and saves the whole
 * document like the JSON editor does, with the same validator, conflict check and history.
 * In passthrough mode the key field becomes the optional fallback key and says what it
 * does. The validator's problems are shown at the field they are about (errors in red,
 * warnings and notes as notes: keyway accepts those), the rest below the form; each once.
 */
import { useMemo, useState, type FormEvent } from 'react';
import { formatPath } from '../../../src/config/hujson.js';
import { FORMAT_FLAGS } from '../../../src/config/types.js';
import { readConfig, saveConfig, useConfig, type ConfigDoc, type Problem } from '../hooks/config';
import { FORMAT_LABELS } from '../hooks/models';
import Badge from '../ui/badge';
import Button from '../ui/button';
import Card from '../ui/card';
import Dialog from '../ui/dialog';
import Field from '../ui/field';
import Page from '../ui/page';
import { FormProblems, SaveRefused } from '../ui/problem-list';
import { Empty, Failed, Loading } from '../ui/state';
import { useToast } from '../ui/toast';
import { isObject, lines, readDoc, setAt } from '../utils/config-doc';
import { localProblems } from '../utils/validate';

export default function ProvidersView() {
  const cfg = useConfig();
  if (cfg.error) return <Failed error={cfg.error} retry={cfg.reload} />;
  if (!cfg.data) return <Loading />;
  return <Providers doc={cfg.data} reload={cfg.reload} />;
}

interface Form {
  id: string;
  name: string;
  description: string;
  baseurl: string;
  models: string;
  authorization: string;
  auth_mode: string;
  apikey: string;
  compatibility: Record<string, boolean>;
  preference: string;
  disabled: boolean;
}

const NEW = '\u0000new';

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function formFor(id: string, p: Record<string, unknown>): Form {
  const compat = isObject(p.compatibility) ? p.compatibility : undefined;
  return {
    id,
    name: str(p.name),
    description: str(p.description),
    baseurl: str(p.baseurl),
    models: Array.isArray(p.models) ? p.models.filter((m): m is string => typeof m === 'string').join('\n') : '',
    authorization: str(p.authorization) || 'bearer',
    auth_mode: str(p.auth_mode),
    apikey: str(p.apikey),
    // No block means OpenAI chat only (the reference's default).
    compatibility: Object.fromEntries(FORMAT_FLAGS.map((f) => [f, compat ? compat[f] === true : f === 'openai_chat'])),
    preference: typeof p.preference === 'number' ? String(p.preference) : '',
    disabled: p.disabled === true,
  };
}

const EMPTY: Form = formFor('', {});

// Form fields with a place for a message; the validator's problems about them are shown
// there, the others (compatibility flags, the ID, …) below the form.
const FIELDS = ['baseurl', 'models', 'authorization', 'auth_mode', 'apikey', 'name', 'description', 'preference'] as const;
type FieldName = (typeof FIELDS)[number];

/** byField splits a provider's problems into those about each form field and the rest. */
function byField(problems: readonly Problem[], id: string): { at: (f: FieldName) => { problem?: string; note?: string }; rest: Problem[] } {
  const prefix = formatPath(['providers', id]);
  const about = (p: Problem, f: FieldName) => p.path === `${prefix}.${f}` || p.path.startsWith(`${prefix}.${f}[`) || p.path.startsWith(`${prefix}.${f}.`);
  const join = (list: Problem[]) => (list.length > 0 ? list.map((p) => p.message).join(' ') : undefined);
  return {
    at(f) {
      const mine = problems.filter((p) => about(p, f));
      return { problem: join(mine.filter((p) => p.severity === 'error')), note: join(mine.filter((p) => p.severity !== 'error')) };
    },
    rest: problems.filter((p) => !FIELDS.some((f) => about(p, f))),
  };
}

/** apply writes the form into the document text, touching only the fields the form owns. */
function apply(text: string, original: string | undefined, f: Form): string {
  let out = text;
  const id = f.id.trim();
  if (original !== undefined && original !== id) {
    const old = readDoc(out).providers;
    const kept = isObject(old) && isObject(old[original]) ? old[original] : {};
    out = setAt(out, ['providers', original], undefined);
    out = setAt(out, ['providers', id], kept);
  }
  const docProviders = readDoc(out).providers;
  if (!isObject(docProviders) || !isObject(docProviders[id])) out = setAt(out, ['providers', id], {});
  const set = (key: string, value: unknown) => {
    out = setAt(out, ['providers', id, key], value);
  };
  set('name', f.name.trim() || undefined);
  set('description', f.description.trim() || undefined);
  set('baseurl', f.baseurl.trim());
  set('models', lines(f.models));
  set('authorization', f.authorization === 'bearer' ? undefined : f.authorization);
  set('auth_mode', f.auth_mode || undefined);
  set('apikey', f.auth_mode === 'none' || f.apikey === '' ? undefined : f.apikey);
  set('compatibility', Object.fromEntries(FORMAT_FLAGS.filter((flag) => f.compatibility[flag]).map((flag) => [flag, true])));
  set('preference', f.preference.trim() === '' ? undefined : Number(f.preference));
  set('disabled', f.disabled ? true : undefined);
  return out;
}

function Providers({ doc, reload }: { doc: ConfigDoc; reload: () => void }) {
  const providers = useMemo(() => {
    const p = readDoc(doc.config).providers;
    return isObject(p) ? p : {};
  }, [doc.config]);
  const ids = Object.keys(providers);
  const [selected, setSelected] = useState<string>(ids[0] ?? NEW);
  const current = selected !== NEW && isObject(providers[selected]) ? selected : ids.includes(selected) ? selected : undefined;

  return (
    <Page
      title="Providers"
      actions={
        <Button variant="primary" onClick={() => setSelected(NEW)}>
          Add provider
        </Button>
      }
    >
      <div className="split split-left">
        <Card title="Providers">
          {ids.length === 0 ? (
            <Empty>No providers yet.</Empty>
          ) : (
            <ul className="list-plain" aria-label="Providers">
              {ids.map((id) => {
                const p = providers[id];
                const mode = isObject(p) ? str(p.auth_mode) || 'override' : '';
                return (
                  <li key={id}>
                    <button type="button" className="row-button" aria-current={id === current ? 'true' : undefined} onClick={() => setSelected(id)}>
                      <strong>{(isObject(p) && str(p.name)) || id}</strong>
                    </button>
                    <div className="row small">
                      <span className="mono muted">{id}</span>
                      <Badge tone={mode === 'passthrough' ? 'info' : 'neutral'}>{mode}</Badge>
                      {isObject(p) && p.disabled === true && <Badge tone="warning">disabled</Badge>}
                    </div>
                  </li>
                );
              })}
            </ul>
          )}
        </Card>
        <ProviderForm
          key={`${current ?? NEW}:${doc.hash}`}
          doc={doc}
          original={current}
          initial={current ? formFor(current, providers[current] as Record<string, unknown>) : EMPTY}
          taken={ids.filter((id) => id !== current)}
          onSaved={(id) => {
            setSelected(id ?? (ids.find((x) => x !== current) ?? NEW));
            reload();
          }}
        />
      </div>
    </Page>
  );
}

function ProviderForm({ doc, original, initial, taken, onSaved }: { doc: ConfigDoc; original: string | undefined; initial: Form; taken: string[]; onSaved: (id: string | undefined) => void }) {
  const toast = useToast();
  const [f, setF] = useState(initial);
  const [base, setBase] = useState({ text: doc.config, hash: doc.hash });
  const [serverProblems, setServerProblems] = useState<{ message: string; problems: Problem[] } | null>(null);
  const [conflict, setConflict] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof Form>(key: K, value: Form[K]) => setF((old) => ({ ...old, [key]: value }));

  const id = f.id.trim();
  const idProblem = id === '' ? 'Give the provider an ID.' : taken.includes(id) ? `A provider "${id}" already exists.` : undefined;
  const draft = useMemo(() => (id && !taken.includes(id) ? apply(base.text, original, f) : base.text), [base.text, original, f, id, taken]);
  const problems = useMemo(() => {
    const prefix = formatPath(['providers', id]);
    return localProblems(draft).filter((p) => p.path === prefix || p.path.startsWith(`${prefix}.`) || p.path.startsWith(`${prefix}[`));
  }, [draft, id]);
  const fields = byField(problems, id);
  const passthrough = f.auth_mode === 'passthrough';

  const save = async (text: string, what: string, nextId: string | undefined) => {
    setBusy(true);
    const r = await saveConfig(text, base.hash);
    setBusy(false);
    if (r.kind === 'saved') {
      toast.success(`${what}. keyway applied it; no restart needed.`);
      onSaved(nextId);
    } else if (r.kind === 'conflict') {
      const latest = await readConfig();
      if (latest.ok) setBase({ text: latest.data.config, hash: latest.data.hash });
      setConflict(true);
    } else if (r.kind === 'invalid') {
      setServerProblems({ message: r.message, problems: r.problems });
    } else {
      toast.error(r.error, what);
    }
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (idProblem) return;
    setServerProblems(null);
    setConflict(false);
    void save(draft, original ? `Provider ${id} saved` : `Provider ${id} added`, id);
  };

  const modeHelp: Record<string, string> = {
    '': 'keyway sends the provider key below on every request (the default).',
    override: 'keyway sends the provider key below on every request and removes any credential a client sends.',
    passthrough: "Each client's own Authorization or x-api-key header is forwarded unchanged (API keys and subscription tokens).",
    none: 'No credential is sent upstream; client credentials are removed.',
  };

  return (
    <Card title={original ? `Edit ${original}` : 'Add a provider'}>
      <form onSubmit={submit} aria-label={original ? `Provider ${original}` : 'New provider'}>
        {conflict && (
          <div className="notice notice-warning" role="alert">
            Someone else saved the configuration after you opened this form; nothing was overwritten. The form now applies to their version: press Save
            again to apply your fields on top of it.
          </div>
        )}
        {serverProblems && <SaveRefused message={serverProblems.message} problems={serverProblems.problems} shown={problems} />}
        <div className="form-grid">
          <Field label="ID" help="The prefix in provider/model names and in grant patterns." problem={f.id !== '' || original ? idProblem : undefined}>
            <input value={f.id} onChange={(e) => set('id', e.target.value)} required autoComplete="off" spellCheck={false} />
          </Field>
          <Field label="Name" {...fields.at('name')}>
            <input value={f.name} onChange={(e) => set('name', e.target.value)} />
          </Field>
        </div>
        <Field label="Description" {...fields.at('description')}>
          <input value={f.description} onChange={(e) => set('description', e.target.value)} />
        </Field>
        <Field
          label="Base URL"
          help="keyway appends the request path (/v1/messages, /v1/chat/completions, …) to it."
          {...fields.at('baseurl')}
        >
          <input type="text" inputMode="url" value={f.baseurl} onChange={(e) => set('baseurl', e.target.value)} placeholder="https://api.anthropic.com" spellCheck={false} />
        </Field>
        <Field
          label="Models (one per line, exact names)"
          {...fields.at('models')}
        >
          <textarea value={f.models} onChange={(e) => set('models', e.target.value)} rows={4} spellCheck={false} />
        </Field>
        <div className="form-grid">
          <Field label="Authorization header" help="How the key is sent: Authorization: Bearer, x-api-key (Anthropic) or x-goog-api-key (Gemini)." {...fields.at('authorization')}>
            <select value={f.authorization} onChange={(e) => set('authorization', e.target.value)}>
              <option value="bearer">bearer</option>
              <option value="x-api-key">x-api-key</option>
              <option value="x-goog-api-key">x-goog-api-key</option>
            </select>
          </Field>
          <Field label="Auth mode" help={modeHelp[f.auth_mode] ?? ''} {...fields.at('auth_mode')}>
            <select value={f.auth_mode} onChange={(e) => set('auth_mode', e.target.value)}>
              <option value="">default (override)</option>
              <option value="override">override</option>
              <option value="passthrough">passthrough</option>
              <option value="none">none</option>
            </select>
          </Field>
        </div>
        {f.auth_mode !== 'none' && (
          <Field
            {...fields.at('apikey')}
            label={passthrough ? 'Fallback key (optional)' : 'API key'}
            help={
              passthrough
                ? 'Used only for requests that arrive without a credential (and for the chat UI and the Test button, which send none). Leave it empty for passthrough-only: clients must bring their own key, and the models are hidden from chat.'
                : f.apikey === '********'
                  ? 'A key is stored; it is kept unless you type a new one.'
                  : 'Sent upstream with every request. Write ${ENV_VAR} to read it from keyway’s environment.'
            }
          >
            <input type="password" value={f.apikey} onChange={(e) => set('apikey', e.target.value)} autoComplete="off" spellCheck={false} />
          </Field>
        )}
        <fieldset className="checks">
          <legend>API formats (compatibility)</legend>
          {FORMAT_FLAGS.map((flag) => (
            <label key={flag} className="check">
              <input type="checkbox" checked={f.compatibility[flag] === true} onChange={(e) => set('compatibility', { ...f.compatibility, [flag]: e.target.checked })} />
              <span>
                {FORMAT_LABELS[flag] ?? flag} <span className="muted small mono">{flag}</span>
              </span>
            </label>
          ))}
        </fieldset>
        <div className="form-grid">
          <Field label="Preference" help="When several providers serve a model, the highest wins." {...fields.at('preference')}>
            <input type="number" step={1} value={f.preference} onChange={(e) => set('preference', e.target.value)} placeholder="0" />
          </Field>
          <div className="field">
            <span className="label-like">Status</span>
            <label className="check">
              <input type="checkbox" checked={f.disabled} onChange={(e) => set('disabled', e.target.checked)} /> <span>Disabled (left out of routing and /v1/models)</span>
            </label>
          </div>
        </div>
        <FormProblems problems={fields.rest} what="this provider" />
        <div className="row">
          <Button type="submit" variant="primary" disabledReason={busy ? 'Saving…' : idProblem}>
            {original ? 'Save provider' : 'Add provider'}
          </Button>
          {original && (
            <Button variant="danger" onClick={() => setConfirmDelete(true)}>
              Delete provider
            </Button>
          )}
        </div>
      </form>
      {confirmDelete && original && (
        <Dialog
          title={`Delete ${original}?`}
          onClose={() => setConfirmDelete(false)}
          footer={
            <>
              <Button onClick={() => setConfirmDelete(false)}>Cancel</Button>
              <Button
                variant="danger"
                onClick={() => {
                  setConfirmDelete(false);
                  void save(setAt(base.text, ['providers', original], undefined), `Provider ${original} deleted`, undefined);
                }}
              >
                Delete
              </Button>
            </>
          }
        >
          <p>Its models stop working at once for everyone. The previous configuration stays in the history, so you can roll back.</p>
        </Dialog>
      )}
    </Card>
  );
}
