/**
 * Logs: sessions with their totals, expandable to their requests, and every request's
 * detail (headers with credentials redacted by keyway, bodies, tool calls, tokens, cost,
 * credential source). Users see their own traffic; admins see everyone's and can filter
 * by user. Filters live in the URL, so a filtered view can be linked.
 */
import { Fragment, useState, type ReactNode } from 'react';
import { useRequestDetail, useRequests, type HookEntry, type LogFilter, type QuotaEntry, type RequestDetail, type RequestRecord } from '../hooks/logs';
import { AGENT_LABELS, agentLabel } from '../hooks/adoption';
import { useSessions, useUsage, type UsageFilter } from '../hooks/usage';
import { isAdmin, useWhoami } from '../hooks/whoami';
import { Link, navigate, useLocation } from '../router';
import Badge from '../ui/badge';
import Button from '../ui/button';
import Card from '../ui/card';
import Page from '../ui/page';
import { Empty, Failed, Loading } from '../ui/state';
import { clock, duration, integer, tokens, usd, when } from '../utils/format';

const DAY = 86_400_000;

/** The filters the form sets (the session one comes from a link, not the form). */
const FORM_FILTERS = ['from', 'to', 'user', 'model', 'status', 'agent', 'header'] as const;
type FormFilter = (typeof FORM_FILTERS)[number];

/**
 * filterFrom reads the filters in the URL. A value that is not what its field takes (a
 * status that is not an HTTP status, a date that is not a date) is reported in `invalid`,
 * never dropped: showing everything under a filter the reader believes is applied would
 * be a lie.
 */
function filterFrom(search: URLSearchParams): { filter: LogFilter; invalid: Partial<Record<FormFilter, string>> } {
  const invalid: Partial<Record<FormFilter, string>> = {};
  const day = (name: 'from' | 'to', end: boolean) => {
    const v = search.get(name);
    if (!v) return undefined;
    const t = /^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(`${v}T00:00:00Z`) : NaN;
    if (Number.isNaN(t)) {
      invalid[name] = `${name === 'from' ? 'From' : 'To'} must be a date like 2026-01-31, not "${v}".`;
      return undefined;
    }
    return end ? t + DAY : t;
  };
  const status = search.get('status');
  if (status && !/^[1-5]\d\d$/.test(status)) invalid.status = `Status must be an HTTP status code from 100 to 599, such as 404, not "${status}".`;
  const agent = search.get('agent');
  if (agent && !Object.hasOwn(AGENT_LABELS, agent)) invalid.agent = `Agent must be one of ${Object.values(AGENT_LABELS).join(', ')}, not "${agent}".`;
  const header = search.get('header');
  if (header && !/^[A-Za-z0-9_-]+:/.test(header)) invalid.header = `Header must be name:value, such as x-team:platform, not "${header}".`;
  const filter = {
    from: day('from', false),
    to: day('to', true),
    user: search.get('user') || undefined,
    model: search.get('model') || undefined,
    status: status && !invalid.status ? Number(status) : undefined,
    session: search.get('session') || undefined,
    agent: agent && !invalid.agent ? agent : undefined,
    header: header && !invalid.header ? header : undefined,
  };
  return { filter, invalid };
}

/** Every filter in the URL: the form's, and the session a link picked. */
const ALL_FILTERS = [...FORM_FILTERS, 'session'];

/**
 * filtered reports whether any filter narrows the view (without one: everything you may
 * see, the last 30 days). A user's own login is no filter: they only ever see their own
 * (the overview's "All logs" link names it).
 */
function filtered(search: URLSearchParams, admin: boolean): boolean {
  return ALL_FILTERS.some((k) => search.get(k) && (k !== 'user' || admin));
}

export default function LogsView({ params }: { params: Record<string, string> }) {
  const { search } = useLocation();
  const { filter, invalid } = filterFrom(search);
  const [tab, setTab] = useState<'sessions' | 'requests'>(filter.session ? 'requests' : 'sessions');
  const back = `/ui/logs${search.toString() ? `?${search}` : ''}`;
  const problems = Object.values(invalid);

  if (params.requestId) {
    return (
      <Page title="Request" actions={<Link href={back}>← Back to the log</Link>}>
        <RequestDetailView id={params.requestId} />
      </Page>
    );
  }
  return (
    <Page title="Logs">
      <Filters key={search.toString()} search={search} invalid={invalid} />
      {problems.length > 0 ? (
        <div className="notice notice-danger" role="alert" data-testid="filter-problems">
          {problems.map((p) => (
            <p key={p}>{p}</p>
          ))}
          <p>
            Nothing is shown until the filter is fixed. <Link href={withParam(search, Object.keys(invalid), '')}>Remove the invalid filter</Link>
          </p>
        </div>
      ) : filter.session ? (
        <Card title={<>Session <span className="mono small">{filter.session}</span></>} actions={<Link href={withParam(search, 'session', '')}>Show all sessions</Link>}>
          <RequestTable filter={filter} search={search} />
        </Card>
      ) : (
        <>
          <div className="tabs" role="tablist" aria-label="Log view">
            {(['sessions', 'requests'] as const).map((t) => (
              <button key={t} type="button" role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
                {t === 'sessions' ? 'Sessions' : 'All requests'}
              </button>
            ))}
          </div>
          {tab === 'sessions' ? <SessionTable filter={filter} search={search} /> : <RequestTable filter={filter} search={search} />}
        </>
      )}
    </Page>
  );
}

function withParam(search: URLSearchParams, names: string | string[], value: string): string {
  const q = new URLSearchParams(search);
  for (const name of Array.isArray(names) ? names : [names]) {
    if (value) q.set(name, value);
    else q.delete(name);
  }
  const s = q.toString();
  return `/ui/logs${s ? `?${s}` : ''}`;
}

function Filters({ search, invalid }: { search: URLSearchParams; invalid: Partial<Record<FormFilter, string>> }) {
  const who = useWhoami();
  const models = useModelNames(search.get('user') || undefined);
  const [draft, setDraft] = useState(() => ({
    from: search.get('from') ?? '',
    to: search.get('to') ?? '',
    user: search.get('user') ?? '',
    model: search.get('model') ?? '',
    status: search.get('status') ?? '',
    agent: search.get('agent') ?? '',
    header: search.get('header') ?? '',
  }));
  const apply = (e: React.FormEvent) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(draft)) if (v.trim()) q.set(k, v.trim());
    const session = search.get('session');
    if (session) q.set('session', session);
    navigate(`/ui/logs${q.toString() ? `?${q}` : ''}`, true);
  };
  const input = (name: keyof typeof draft, label: string, props: React.InputHTMLAttributes<HTMLInputElement> = {}) => (
    <div className="field">
      <label htmlFor={`f-${name}`}>{label}</label>
      <input id={`f-${name}`} value={draft[name]} onChange={(e) => setDraft({ ...draft, [name]: e.target.value })} aria-invalid={invalid[name] ? true : undefined} {...props} />
    </div>
  );
  return (
    <form className="filters" onSubmit={apply} aria-label="Filters">
      {input('from', 'From', { type: 'date' })}
      {input('to', 'To', { type: 'date' })}
      {isAdmin(who) && input('user', 'User', { type: 'search', placeholder: 'everyone' })}
      {input('model', 'Model', { type: 'search', placeholder: 'any', list: 'f-model-names', spellCheck: false })}
      <datalist id="f-model-names">
        {models.map((m) => (
          <option key={m} value={m} />
        ))}
      </datalist>
      {input('status', 'Status', { type: 'search', inputMode: 'numeric', placeholder: 'any', pattern: '[1-5][0-9][0-9]', title: 'an HTTP status code, such as 404', size: 5 })}
      <div className="field">
        <label htmlFor="f-agent">Agent</label>
        <select id="f-agent" value={draft.agent} onChange={(e) => setDraft({ ...draft, agent: e.target.value })} aria-invalid={invalid.agent ? true : undefined}>
          <option value="">any</option>
          {Object.entries(AGENT_LABELS).map(([id, label]) => (
            <option key={id} value={id}>
              {label}
            </option>
          ))}
        </select>
      </div>
      {input('header', 'Header', {
        type: 'search',
        placeholder: 'name:value',
        spellCheck: false,
        title: 'a request header and its exact value, such as x-team:platform (matched in the captured headers; credential headers cannot be searched)',
      })}
      <Button type="submit" variant="primary">
        Apply
      </Button>
    </form>
  );
}

/** useModelNames lists the model names of the last 30 days (as the Model column shows them), to pick from. */
function useModelNames(user: string | undefined): string[] {
  const usage = useUsage({ user }, 'model');
  return (usage.data?.groups ?? []).flatMap((g) => (g.key ? [g.key] : []));
}

/** NoMatch is the empty state: a first-run hint without filters, a way out with them. */
function NoMatch({ what, filter, search }: { what: 'sessions' | 'requests'; filter: LogFilter; search: URLSearchParams }) {
  const who = useWhoami();
  if (!filtered(search, isAdmin(who))) {
    return <Empty>No requests in the last 30 days yet. Point a client at keyway and its {what} show up here.</Empty>;
  }
  return (
    <Empty>
      No {what} match these filters.
      {filter.model && !filter.model.includes('/') && <> A model is named with its provider, as the Model column shows it (provider/model).</>}{' '}
      <Link href={withParam(search, ALL_FILTERS, '')}>Clear the filters</Link>
    </Empty>
  );
}

function SessionTable({ filter, search }: { filter: UsageFilter; search: URLSearchParams }) {
  const sessions = useSessions(filter, 100);
  const [open, setOpen] = useState<string | null>(null);
  if (sessions.error) return <Failed error={sessions.error} retry={sessions.reload} />;
  if (!sessions.data) return <Loading />;
  if (sessions.data.sessions.length === 0) return <NoMatch what="sessions" filter={filter} search={search} />;
  return (
    <div className="table-wrap card">
      <table>
        <thead>
          <tr>
            <th>Session</th>
            <th>User</th>
            <th>Started</th>
            <th>Models</th>
            <th className="num">Requests</th>
            <th className="num">Input</th>
            <th className="num">Output</th>
            <th className="num">Cost</th>
            <th className="num">Length</th>
          </tr>
        </thead>
        <tbody>
          {sessions.data.sessions.map((s) => {
            const expanded = open === s.sessionId;
            return (
              <Fragment key={s.sessionId}>
                <tr>
                  <td>
                    <button type="button" className="row-button mono" aria-expanded={expanded} onClick={() => setOpen(expanded ? null : s.sessionId)}>
                      {expanded ? '▾' : '▸'} {s.sessionId.slice(0, 20)}
                    </button>
                  </td>
                  <td>{s.login}</td>
                  <td>{when(s.startedAt)}</td>
                  <td>{s.models.join(', ')}</td>
                  <td className="num">{integer(s.requests)}</td>
                  <td className="num">{tokens(s.inputTokens)}</td>
                  <td className="num">{tokens(s.outputTokens)}</td>
                  <td className="num">{usd(s.costUsd)}</td>
                  <td className="num">{duration(s.endedAt - s.startedAt)}</td>
                </tr>
                {expanded && (
                  <tr className="expanded-row">
                    <td colSpan={9}>
                      <RequestTable filter={{ ...filter, session: s.sessionId }} search={search} compact />
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function statusTone(r: RequestRecord) {
  if (r.errorClass === 'client_abort') return 'warning' as const;
  return r.status >= 400 || r.errorClass ? ('danger' as const) : ('success' as const);
}

function RequestTable({ filter, search, compact }: { filter: LogFilter; search: URLSearchParams; compact?: boolean }) {
  const list = useRequests(filter, compact ? 25 : 50);
  const q = search.toString();
  if (list.error && list.rows.length === 0) return <Failed error={list.error} />;
  if (list.rows.length === 0) return list.loading ? <Loading /> : <NoMatch what="requests" filter={filter} search={search} />;
  return (
    <div className={compact ? 'table-wrap' : 'table-wrap card'}>
      <table>
        <thead>
          <tr>
            <th>Time</th>
            {!compact && <th>User</th>}
            {!compact && <th>Agent</th>}
            <th>Model</th>
            <th>Status</th>
            <th className="num">Input</th>
            <th className="num">Output</th>
            <th className="num">Cost</th>
            <th className="num">Duration</th>
            <th>Credential</th>
          </tr>
        </thead>
        <tbody>
          {list.rows.map((r) => (
            <tr key={r.id}>
              <td>
                <Link href={`/ui/logs/${encodeURIComponent(r.id)}${q ? `?${q}` : ''}`} title={when(r.startedAt)}>
                  {compact ? clock(r.startedAt) : when(r.startedAt)}
                </Link>
              </td>
              {!compact && <td>{r.login}</td>}
              {!compact && <td title={r.userAgent}>{agentLabel(r.agent)}</td>}
              <td className="mono small">{r.provider ? `${r.provider}/${r.upstreamModel ?? r.requestedModel}` : r.requestedModel}</td>
              <td>
                <Badge tone={statusTone(r)} title={r.errorCode ?? r.errorClass ?? undefined}>
                  {r.status}
                </Badge>
              </td>
              <td className="num">{r.usage ? tokens(r.usage.inputTokens) : '—'}</td>
              <td className="num">{r.usage ? tokens(r.usage.outputTokens) : '—'}</td>
              <td className="num">{usd(r.costUsd)}</td>
              <td className="num">{duration(r.durationMs)}</td>
              <td>{r.credentialSource}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.next && (
        <p>
          <Button size="small" onClick={list.more} disabled={list.loading}>
            {list.loading ? 'Loading…' : 'Load more'}
          </Button>
        </p>
      )}
    </div>
  );
}

function RequestDetailView({ id }: { id: string }) {
  const detail = useRequestDetail(id);
  if (detail.error) return <Failed error={detail.error} retry={detail.reload} />;
  if (!detail.data) return <Loading />;
  return <RequestDetailBody detail={detail.data} />;
}

const CREDENTIAL_TEXT: Record<string, string> = {
  client: "the caller's own key or token",
  fallback: "the provider's fallback key (passthrough, the caller sent none)",
  provider: "the provider's key (override mode)",
  none: 'no credential',
};

const QUOTA_OUTCOME: Record<QuotaEntry['outcome'], string> = {
  charged: 'charged',
  unpriced: 'not charged: the model has no price',
  no_usage: 'not charged: the answer reported no usage',
  refused: 'refused the request: the bucket was empty',
};

function QuotaEntries({ entries }: { entries: QuotaEntry[] }) {
  return (
    <ul className="list-plain">
      {entries.map((e) => (
        <li key={e.bucket}>
          <span className="mono">{e.bucket}</span>: {e.outcome === 'charged' ? `$${(e.nanos / 1e9).toFixed(9).replace(/0{1,7}$/, '')}` : QUOTA_OUTCOME[e.outcome]}
        </li>
      ))}
    </ul>
  );
}

const HOOK_VERDICT: Record<HookEntry['verdict'], { text: string; tone: 'success' | 'info' | 'warning' | 'danger' | 'neutral' }> = {
  allow: { text: 'allowed', tone: 'success' },
  modify: { text: 'modified the request', tone: 'info' },
  block: { text: 'blocked the request', tone: 'danger' },
  failed_open: { text: 'failed (fail_open: the request went on)', tone: 'warning' },
  failed_closed: { text: 'failed (fail_closed: the request was refused)', tone: 'danger' },
  queued: { text: 'queued after the answer', tone: 'neutral' },
  dropped: { text: 'dropped: the hook queue was full', tone: 'warning' },
};

function HookEntries({ entries }: { entries: HookEntry[] }) {
  return (
    <ul className="list-plain" aria-label="Hooks">
      {entries.map((e, i) => {
        const v = HOOK_VERDICT[e.verdict] ?? { text: e.verdict, tone: 'neutral' as const };
        return (
          <li key={i} data-hook={e.hook}>
            <span className="mono">{e.hook}</span> <span className="muted small">{e.event}</span> <Badge tone={v.tone}>{v.text}</Badge>
            {e.ms !== null && <span className="muted small"> in {e.ms < 10 ? `${e.ms.toFixed(1)} ms` : duration(e.ms)}</span>}
            {e.detail && <div className="small mono">{e.detail}</div>}
          </li>
        );
      })}
    </ul>
  );
}

function RequestDetailBody({ detail }: { detail: RequestDetail }) {
  const r = detail.request;
  const u = r.usage;
  const rows: Array<[string, ReactNode]> = [
    ['Time', `${when(r.startedAt)} (${duration(r.durationMs)}${r.ttfbMs !== null ? `, first byte after ${duration(r.ttfbMs)}` : ''})`],
    ['User', r.login],
    ['Client', `${r.client} — ${r.userAgent || 'no user agent'}`],
    ['Agent', agentLabel(r.agent)],
    ['API', `${r.format} ${r.path}${r.stream ? ' (streamed)' : ''}`],
    ['Model', `${r.requestedModel}${r.provider ? ` → ${r.provider}/${r.upstreamModel}` : ''}`],
    ['Status', <Badge key="s" tone={statusTone(r)}>{`${r.status}${r.errorCode ? ` ${r.errorCode}` : ''}${r.errorClass ? ` (${r.errorClass})` : ''}`}</Badge>],
    ['Stop reason', r.stopReason ?? '—'],
    ['Tokens', u ? `${integer(u.inputTokens)} in (${integer(u.cacheReadTokens)} cached, ${integer(u.cacheWrite5mTokens + u.cacheWrite1hTokens)} cache writes), ${integer(u.outputTokens)} out (${integer(u.reasoningTokens)} reasoning)` : 'not reported'],
    ['Cost', `${usd(r.costUsd)}${r.costBasis ? ` as ${r.costBasis}` : ''}`],
    ...(r.quotas.length > 0 ? [['Quotas', <QuotaEntries key="q" entries={r.quotas} />] as [string, ReactNode]] : []),
    ...(r.hooks && r.hooks.length > 0 ? [['Hooks', <HookEntries key="h" entries={r.hooks} />] as [string, ReactNode]] : []),
    ['Credential', `${CREDENTIAL_TEXT[r.credentialSource] ?? r.credentialSource}${r.credentialFingerprint ? ` · ${r.credentialFingerprint}` : ''}`],
    ['Session', <Link key="l" href={`/ui/logs?session=${encodeURIComponent(r.sessionId)}`} className="mono">{r.sessionId}</Link>],
    ['Request ID', <span key="i" className="mono">{r.id}</span>],
  ];
  const c = detail.capture;
  return (
    <>
      <Card title="Summary">
        <dl className="kv">
          {rows.map(([k, v]) => (
            <Fragment key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </Fragment>
          ))}
        </dl>
      </Card>
      <Card title={`Tool calls (${r.toolCallCount})`}>
        {detail.toolCalls.length === 0 ? (
          <Empty>{r.toolCallCount > 0 ? 'The details were purged under the retention policy.' : 'None.'}</Empty>
        ) : (
          <ul className="list-plain">
            {detail.toolCalls.map((t, i) => (
              <li key={i}>
                <strong className="mono">{t.name}</strong>
                {t.arguments && <pre>{pretty(t.arguments)}</pre>}
              </li>
            ))}
          </ul>
        )}
      </Card>
      {c ? (
        <div className="grid-2">
          <Card title="Request">
            <Headers headers={c.requestHeaders} />
            <Body text={c.requestBody} truncated={c.requestTruncated} label="Request body" />
          </Card>
          <Card title="Response">
            <Headers headers={c.responseHeaders} />
            <Body text={c.responseBody} truncated={c.responseTruncated} label="Response body" />
          </Card>
        </div>
      ) : (
        <Card title="Capture">
          <Empty>No capture is stored for this request (purged, or captures are off).</Empty>
        </Card>
      )}
    </>
  );
}

function Headers({ headers }: { headers: Record<string, string> }) {
  const entries = Object.entries(headers);
  return (
    <details open>
      <summary>Headers ({entries.length})</summary>
      <dl className="kv small mono">
        {entries.map(([k, v]) => (
          <Fragment key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </Fragment>
        ))}
      </dl>
    </details>
  );
}

function Body({ text, truncated, label }: { text: string; truncated: boolean; label: string }) {
  return (
    <>
      <h3 className="small muted" style={{ marginTop: '0.75rem' }}>
        {label}
        {truncated && ' (cut at the capture limit)'}
      </h3>
      <pre aria-label={label} tabIndex={0}>
        {pretty(text) || '(empty)'}
      </pre>
    </>
  );
}

/** pretty indents JSON text and leaves anything else as it is. */
function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}
