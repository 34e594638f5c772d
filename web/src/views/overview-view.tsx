/**
 * Overview: the viewer's own tokens and cost by model over time, quick stats and recent
 * sessions. Admins also get every user's totals with a drill-down (/ui/dashboard/:login,
 * the same screen for that user), the CSV download and the S3 export's status.
 */
import { useMemo, useState } from 'react';
import { isAdmin, useWhoami } from '../hooks/whoami';
import { csvUrl, useSessions, useUsage, useUsageByModelAndDay, type UsageFilter } from '../hooks/usage';
import { Link } from '../router';
import BarChart from '../ui/bar-chart';
import Card from '../ui/card';
import Page from '../ui/page';
import { Empty, Failed, Loading } from '../ui/state';
import { useAdoption } from '../hooks/adoption';
import { AgentChart, AgentsAndModels } from './adoption-charts';
import { ExportCard } from './export-status';
import { duration, integer, isoDay, tokens, usd, when } from '../utils/format';

const DAY = 86_400_000;
const RANGES = [7, 30, 90] as const;

export default function OverviewView({ params }: { params: Record<string, string> }) {
  const who = useWhoami();
  const subject = params.login ?? who.login;
  const own = subject === who.login;
  const [days, setDays] = useState<(typeof RANGES)[number]>(30);
  // Whole UTC days, so the chart's columns line up with the API's day groups.
  const filter = useMemo<UsageFilter>(() => {
    const to = Math.floor(Date.now() / DAY) * DAY + DAY;
    return { from: to - days * DAY, to, user: subject };
  }, [days, subject]);

  return (
    <Page
      title={own ? 'Overview' : `Usage of ${subject}`}
      actions={
        <>
          {!own && <Link href="/ui/">← Back to my overview</Link>}
          <label className="row">
            <span className="muted small">Period</span>
            <select value={days} onChange={(e) => setDays(Number(e.target.value) as (typeof RANGES)[number])} aria-label="Period">
              {RANGES.map((d) => (
                <option key={d} value={d}>
                  Last {d} days
                </option>
              ))}
            </select>
          </label>
        </>
      }
    >
      <Stats filter={filter} />
      <div className="grid-2">
        <ModelCharts filter={filter} days={days} />
      </div>
      {!own && <UserAgents login={subject} from={filter.from!} to={filter.to!} />}
      <RecentSessions filter={filter} own={own} />
      {own && isAdmin(who) && <AllUsers filter={{ from: filter.from, to: filter.to }} />}
      {own && isAdmin(who) && <ExportCard />}
    </Page>
  );
}

function Stats({ filter }: { filter: UsageFilter }) {
  const usage = useUsage(filter, 'session');
  if (usage.error) return <Failed error={usage.error} retry={usage.reload} />;
  const t = usage.data?.totals;
  const stats: Array<[string, string, string?]> = t
    ? [
        ['Requests', integer(t.requests)],
        ['Sessions', integer(usage.data!.groups.length)],
        ['Input tokens', tokens(t.inputTokens), integer(t.inputTokens)],
        ['Output tokens', tokens(t.outputTokens), integer(t.outputTokens)],
        ['Estimated cost', usd(t.costUsd)],
        ['Errors', integer(t.errors)],
      ]
    : [];
  return (
    <div className="stats" aria-busy={usage.loading}>
      {t
        ? stats.map(([label, value, exact]) => (
            <div className="stat" key={label}>
              <div className="stat-label">{label}</div>
              <div className="stat-value" title={exact}>
                {value}
              </div>
            </div>
          ))
        : <Loading />}
    </div>
  );
}

function ModelCharts({ filter, days }: { filter: UsageFilter; days: number }) {
  const series = useUsageByModelAndDay(filter);
  const labels = useMemo(() => Array.from({ length: days }, (_, i) => isoDay(filter.from! + i * DAY)), [filter.from, days]);
  const body = (kind: 'tokens' | 'cost') => {
    if (series.error) return <Failed error={series.error} />;
    if (!series.data) return <Loading />;
    if (series.data.length === 0) return <Empty>No requests in this period yet.</Empty>;
    // A model with nothing to draw (refused requests, or no price for the cost chart) gets no series.
    const drawn = series.data
      .map((s) => ({ label: s.model, values: labels.map((d) => (kind === 'tokens' ? s.tokens : s.cost).get(d) ?? 0) }))
      .filter((s) => s.values.some((v) => v > 0));
    if (drawn.length === 0) return <Empty>{kind === 'tokens' ? 'No tokens used in this period.' : 'No estimated cost in this period (no request had a known price).'}</Empty>;
    return <BarChart title={kind === 'tokens' ? 'Tokens by model per day' : 'Estimated cost by model per day'} labels={labels} series={drawn} format={kind === 'tokens' ? tokens : usd} />;
  };
  return (
    <>
      <Card title="Tokens by model">{body('tokens')}</Card>
      <Card title="Cost by model">{body('cost')}</Card>
    </>
  );
}

/** UserAgents: on an admin's view of one user, which agents and models they use over time. */
function UserAgents({ login, from, to }: { login: string; from: number; to: number }) {
  const filter = useMemo(() => ({ from, to, bucket: 'day' as const, user: login }), [from, to, login]);
  const adoption = useAdoption(filter);
  if (adoption.error) return <Failed error={adoption.error} retry={adoption.reload} />;
  if (!adoption.data) return <Loading />;
  return (
    <>
      <AgentChart data={adoption.data} filter={filter} />
      <AgentsAndModels data={adoption.data} filter={filter} />
    </>
  );
}

function RecentSessions({ filter, own }: { filter: UsageFilter; own: boolean }) {
  const sessions = useSessions(filter, 8);
  return (
    <Card title={own ? 'Recent sessions' : 'Sessions'} actions={<Link href={`/ui/logs?user=${encodeURIComponent(filter.user ?? '')}`}>All logs →</Link>}>
      {sessions.error ? (
        <Failed error={sessions.error} retry={sessions.reload} />
      ) : !sessions.data ? (
        <Loading />
      ) : sessions.data.sessions.length === 0 ? (
        <Empty>No sessions yet. Point a client at keyway and they show up here.</Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Started</th>
                <th>Session</th>
                <th>Models</th>
                <th className="num">Requests</th>
                <th className="num">Tokens</th>
                <th className="num">Cost</th>
                <th className="num">Length</th>
              </tr>
            </thead>
            <tbody>
              {sessions.data.sessions.map((s) => (
                <tr key={s.sessionId}>
                  <td>{when(s.startedAt)}</td>
                  <td>
                    <Link href={`/ui/logs?session=${encodeURIComponent(s.sessionId)}`} className="mono">
                      {s.sessionId.slice(0, 18)}
                    </Link>
                  </td>
                  <td>{s.models.join(', ')}</td>
                  <td className="num">{integer(s.requests)}</td>
                  <td className="num">{tokens(s.inputTokens + s.outputTokens)}</td>
                  <td className="num">{usd(s.costUsd)}</td>
                  <td className="num">{duration(s.endedAt - s.startedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function AllUsers({ filter }: { filter: UsageFilter }) {
  const users = useUsage(filter, 'login');
  return (
    <Card
      title="All users"
      actions={
        <a className="btn btn-secondary btn-small" href={csvUrl(filter)} download>
          Download CSV
        </a>
      }
    >
      {users.error ? (
        <Failed error={users.error} retry={users.reload} />
      ) : !users.data ? (
        <Loading />
      ) : users.data.groups.length === 0 ? (
        <Empty>Nobody has sent a request in this period.</Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>User</th>
                <th className="num">Requests</th>
                <th className="num">Input tokens</th>
                <th className="num">Output tokens</th>
                <th className="num">Errors</th>
                <th className="num">Cost</th>
              </tr>
            </thead>
            <tbody>
              {users.data.groups.map((g) => (
                <tr key={g.key ?? ''}>
                  <td>
                    <Link href={`/ui/dashboard/${encodeURIComponent(g.key ?? '')}`}>{g.key}</Link>
                  </td>
                  <td className="num">{integer(g.requests)}</td>
                  <td className="num">{tokens(g.inputTokens)}</td>
                  <td className="num">{tokens(g.outputTokens)}</td>
                  <td className="num">{integer(g.errors)}</td>
                  <td className="num">{usd(g.costUsd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
