/**
 * Grants (admin): the configuration's grants as a list to edit (sources, role, model
 * patterns, chat and metrics switches; other capabilities stay as written), and a live
 * "who can use what" preview: keyway's own routing (POST /api/explain) run against the
 * draft for any caller, so the effect of an edit shows before it is saved.
 */
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { explainDraft, type Explanation } from '../hooks/explain';
import { readConfig, saveConfig, useConfig, type ConfigDoc, type Problem } from '../hooks/config';
import Badge from '../ui/badge';
import Button from '../ui/button';
import Card from '../ui/card';
import Field from '../ui/field';
import Page from '../ui/page';
import { FormProblems, SaveRefused } from '../ui/problem-list';
import { Empty, Failed, Loading } from '../ui/state';
import { useToast } from '../ui/toast';
import { isObject, lines, readDoc, setAt } from '../utils/config-doc';
import { localProblems } from '../utils/validate';

const CAP = 'tailscale.com/cap/aperture';

interface GrantForm {
  src: string;
  role: '' | 'user' | 'admin';
  models: string;
  chat: boolean;
  metrics: boolean;
}

type Cap = Record<string, unknown>;

function capsOf(grant: unknown): Cap[] {
  if (!isObject(grant) || !isObject(grant.app)) return [];
  const list = grant.app[CAP];
  return Array.isArray(list) ? list.filter(isObject) : [];
}

function formFor(grant: unknown): GrantForm {
  const caps = capsOf(grant);
  const role = caps.find((c) => c.role === 'admin') ? 'admin' : caps.find((c) => c.role === 'user') ? 'user' : '';
  return {
    src: isObject(grant) && Array.isArray(grant.src) ? grant.src.filter((s): s is string => typeof s === 'string').join('\n') : '',
    role,
    models: caps
      .map((c) => c.models)
      .filter((m): m is string => typeof m === 'string')
      .join('\n'),
    chat: !caps.some((c) => c.enable_chat_ui === false),
    metrics: caps.some((c) => c.read_metrics === true),
  };
}

const OWN = ['role', 'models', 'enable_chat_ui', 'read_metrics'];

/** capsFrom rebuilds the capability list: the form's fields, then every other field as it was. */
function capsFrom(f: GrantForm, old: Cap[]): Cap[] {
  const caps: Cap[] = [];
  if (f.role) caps.push({ role: f.role });
  for (const m of lines(f.models)) caps.push({ models: m });
  if (!f.chat) caps.push({ enable_chat_ui: false });
  if (f.metrics) caps.push({ read_metrics: true });
  for (const c of old) {
    const rest = Object.fromEntries(Object.entries(c).filter(([k]) => !OWN.includes(k)));
    if (Object.keys(rest).length > 0) caps.push(rest);
  }
  return caps;
}

function applyGrant(text: string, index: number, f: GrantForm): string {
  const grants = readDoc(text).grants;
  const old = Array.isArray(grants) ? grants[index] : undefined;
  const existing = isObject(old) ? old : {};
  const app = isObject(existing.app) ? existing.app : {};
  const next = { ...existing, src: lines(f.src), app: { ...app, [CAP]: capsFrom(f, capsOf(old)) } };
  if (!Array.isArray(grants)) return setAt(text, ['grants'], [next]);
  return setAt(text, ['grants', index], next);
}

export default function GrantsView() {
  const cfg = useConfig();
  if (cfg.error) return <Failed error={cfg.error} retry={cfg.reload} />;
  if (!cfg.data) return <Loading />;
  return <Grants key={cfg.data.hash} doc={cfg.data} reload={cfg.reload} />;
}

function Grants({ doc, reload }: { doc: ConfigDoc; reload: () => void }) {
  const toast = useToast();
  const [base, setBase] = useState({ text: doc.config, hash: doc.hash });
  const grants = useMemo(() => {
    const g = readDoc(base.text).grants;
    return Array.isArray(g) ? g : [];
  }, [base.text]);
  const [editing, setEditing] = useState<{ index: number; form: GrantForm } | null>(null);
  const [rejected, setRejected] = useState<{ message: string; problems: Problem[] } | null>(null);
  const [conflict, setConflict] = useState(false);

  const draft = useMemo(() => (editing ? applyGrant(base.text, editing.index, editing.form) : base.text), [base.text, editing]);
  const problems = useMemo(() => (editing ? localProblems(draft).filter((p) => p.path.startsWith('grants')) : []), [draft, editing]);

  const save = async (text: string, what: string) => {
    setRejected(null);
    setConflict(false);
    const r = await saveConfig(text, base.hash);
    if (r.kind === 'saved') {
      toast.success(`${what}. keyway applied it; no restart needed.`);
      reload();
    } else if (r.kind === 'conflict') {
      const latest = await readConfig();
      if (latest.ok) setBase({ text: latest.data.config, hash: latest.data.hash });
      setConflict(true);
    } else if (r.kind === 'invalid') {
      setRejected({ message: r.message, problems: r.problems });
    } else toast.error(r.error, what);
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (editing) void save(draft, editing.index < grants.length ? `Grant ${editing.index + 1} saved` : 'Grant added');
  };

  return (
    <Page
      title="Grants"
      actions={
        <Button variant="primary" onClick={() => setEditing({ index: grants.length, form: { src: '', role: 'user', models: '', chat: true, metrics: false } })}>
          Add grant
        </Button>
      }
    >
      <p className="muted small">
        Grants add up: a caller gets the union of every grant whose sources match them, and nothing without one. Grants in the tailnet policy file
        count too (they are not shown here).
      </p>
      {conflict && (
        <div className="notice notice-warning" role="alert">
          Someone else saved the configuration in the meantime; nothing was overwritten. The list now shows their version: apply your change again.
        </div>
      )}
      {rejected && <SaveRefused message={rejected.message} problems={rejected.problems} shown={problems} />}
      <div className="split">
        <div>
          {grants.length === 0 && !editing && <Empty>No grants: everyone is refused.</Empty>}
          {[...grants, ...(editing && editing.index === grants.length ? [undefined] : [])].map((g, i) =>
            editing?.index === i ? (
              <Card key={i} title={i < grants.length ? `Grant ${i + 1}` : 'New grant'}>
                <form onSubmit={submit} aria-label={`Grant ${i + 1}`}>
                  <GrantFields form={editing.form} onChange={(form) => setEditing({ index: i, form })} />
                  <FormProblems problems={problems} what="this grant" />
                  <div className="row">
                    <Button type="submit" variant="primary">
                      Save grant
                    </Button>
                    <Button onClick={() => setEditing(null)}>Cancel</Button>
                  </div>
                </form>
              </Card>
            ) : (
              <GrantCard
                key={i}
                index={i}
                grant={g}
                onEdit={() => setEditing({ index: i, form: formFor(g) })}
                onDelete={() => void save(setAt(base.text, ['grants', i], undefined), `Grant ${i + 1} deleted`)}
              />
            ),
          )}
        </div>
        <Preview draft={draft} />
      </div>
    </Page>
  );
}

function GrantCard({ index, grant, onEdit, onDelete }: { index: number; grant: unknown; onEdit: () => void; onDelete: () => void }) {
  const f = formFor(grant);
  const others = capsOf(grant).flatMap((c) => Object.keys(c).filter((k) => !OWN.includes(k)));
  return (
    <Card
      title={`Grant ${index + 1}`}
      actions={
        <>
          <Button size="small" onClick={onEdit} aria-label={`Edit grant ${index + 1}`}>
            Edit
          </Button>
          <Button size="small" variant="danger" onClick={onDelete} aria-label={`Delete grant ${index + 1}`}>
            Delete
          </Button>
        </>
      }
    >
      <dl className="kv">
        <dt>Sources</dt>
        <dd>{lines(f.src).length ? lines(f.src).map((s) => <code key={s} style={{ marginRight: 6 }}>{s}</code>) : <span className="muted">none (matches nobody)</span>}</dd>
        <dt>Role</dt>
        <dd>{f.role ? <Badge tone={f.role === 'admin' ? 'danger' : 'info'}>{f.role}</Badge> : <span className="muted">—</span>}</dd>
        <dt>Models</dt>
        <dd>{lines(f.models).length ? lines(f.models).map((m) => <code key={m} style={{ marginRight: 6 }}>{m}</code>) : <span className="muted">—</span>}</dd>
        {(!f.chat || f.metrics || others.length > 0) && (
          <>
            <dt>Also</dt>
            <dd>{[!f.chat && 'chat UI off', f.metrics && 'reads /metrics', ...others].filter(Boolean).join(', ')}</dd>
          </>
        )}
      </dl>
    </Card>
  );
}

function GrantFields({ form, onChange }: { form: GrantForm; onChange: (f: GrantForm) => void }) {
  const set = <K extends keyof GrantForm>(k: K, v: GrantForm[K]) => onChange({ ...form, [k]: v });
  return (
    <>
      <Field label="Sources (one per line)" help="* (everyone), a login, group:…, a group e-mail, tag:…, or (loopback).">
        <textarea value={form.src} onChange={(e) => set('src', e.target.value)} rows={3} spellCheck={false} />
      </Field>
      <Field label="Role" help="Without a role a caller is refused everything. Admins manage keyway.">
        <select value={form.role} onChange={(e) => set('role', e.target.value as GrantForm['role'])}>
          <option value="">none (adds models or switches only)</option>
          <option value="user">user</option>
          <option value="admin">admin</option>
        </select>
      </Field>
      <Field label="Model patterns (one per line)" help="Globs over provider/model: ** (all), anthropic/**, openai/gpt-5, */claude-sonnet*.">
        <textarea value={form.models} onChange={(e) => set('models', e.target.value)} rows={3} spellCheck={false} />
      </Field>
      <label className="check">
        <input type="checkbox" checked={form.chat} onChange={(e) => set('chat', e.target.checked)} /> <span>Chat UI allowed (unchecked writes enable_chat_ui: false)</span>
      </label>
      <label className="check" style={{ marginBottom: '0.85rem' }}>
        <input type="checkbox" checked={form.metrics} onChange={(e) => set('metrics', e.target.checked)} /> <span>May read /metrics</span>
      </label>
    </>
  );
}

/** sourcesIn lists the logins, groups and tags the grants name, as quick picks for the preview. */
function sourcesIn(text: string): string[] {
  const grants = readDoc(text).grants;
  const out = new Set<string>();
  if (Array.isArray(grants)) for (const g of grants) if (isObject(g) && Array.isArray(g.src)) for (const s of g.src) if (typeof s === 'string' && s !== '*') out.add(s);
  return [...out];
}

function modelsIn(text: string): string[] {
  const providers = readDoc(text).providers;
  const out: string[] = [];
  if (isObject(providers)) {
    for (const [id, p] of Object.entries(providers)) {
      if (isObject(p) && Array.isArray(p.models)) for (const m of p.models) if (typeof m === 'string' && !m.includes('*')) out.push(`${id}/${m}`);
    }
  }
  return out;
}

function Preview({ draft }: { draft: string }) {
  const picks = useMemo(() => sourcesIn(draft), [draft]);
  const models = useMemo(() => modelsIn(draft), [draft]);
  const [who, setWho] = useState('');
  const login = who.trim();
  // A group or tag is tried as a member of it; `(loopback)` keyway answers as the local
  // owner, the caller such a grant matches; anything else as a login.
  const identity = useMemo(
    () => (login.startsWith('tag:') ? { as: login, tags: [login] } : login.startsWith('group:') ? { as: `member-of-${login.slice(6)}`, groups: [login] } : { as: login }),
    [login],
  );
  const [result, setResult] = useState<{ key: string; rows?: Explanation[]; error?: string } | undefined>();
  const key = `${JSON.stringify(identity)}\n${draft}`;

  useEffect(() => {
    if (!identity.as || models.length === 0) return;
    const abort = new AbortController();
    const timer = window.setTimeout(async () => {
      const r = await explainDraft({ config: draft, ...identity, models }, abort.signal);
      if (abort.signal.aborted) return;
      setResult(r.ok ? { key, rows: r.data.explanations } : { key, error: r.error.message });
    }, 300);
    return () => {
      abort.abort();
      window.clearTimeout(timer);
    };
  }, [key, draft, identity, models]);

  const current = result?.key === key ? result : undefined;
  const role = current?.rows?.[0]?.role;
  return (
    <Card title="Who can use what">
      <p className="muted small">keyway&apos;s own routing, run against the grants as edited here (before saving).</p>
      <Field label="Caller" help="A login, group:…, tag:…, or (loopback) for a caller on this machine">
        <input list="grant-sources" value={who} onChange={(e) => setWho(e.target.value)} placeholder="alice@example.com" spellCheck={false} />
      </Field>
      <datalist id="grant-sources">
        {picks.map((s) => (
          <option key={s} value={s} />
        ))}
      </datalist>
      {!login ? (
        <Empty>Type a caller to see what they may use.</Empty>
      ) : models.length === 0 ? (
        <Empty>No provider lists a model yet, so there is nothing to try.</Empty>
      ) : !current ? (
        <Loading label="Asking keyway…" />
      ) : current.error ? (
        <p className="problem">{current.error}</p>
      ) : (
        <div data-testid="preview">
          {login === '(loopback)' && <p className="muted small">A caller on this machine: keyway&apos;s local owner.</p>}
          <p>
            Role: {role ? <Badge tone={role === 'admin' ? 'danger' : 'info'}>{role}</Badge> : <Badge tone="warning">none: every request is refused</Badge>}
          </p>
          <ul className="list-plain">
            {current.rows!.map((x) => (
              <li key={x.model} title={x.summary}>
                <Badge tone={x.served ? 'success' : 'danger'}>{x.served ? 'allowed' : 'refused'}</Badge> <span className="mono small">{x.model}</span>
                {!x.served && role && <div className="muted small">{x.summary}</div>}
              </li>
            ))}
          </ul>
        </div>
      )}
    </Card>
  );
}
