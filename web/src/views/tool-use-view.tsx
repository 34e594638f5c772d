/**
 * Tool use: MCP tool calls over time by outcome, and by tool and by user, with the most
 * recent calls (each one opens in the request log, with its arguments and result). Users
 * see their own calls; admins everyone's, and may narrow to one user.
 */
import { useMemo, useState } from 'react';
import { isAdmin, useWhoami } from '../hooks/whoami';
import { OUTCOMES, OUTCOME_LABELS, useToolUse, type ToolUse, type ToolUseFilter, type ToolUseRow } from '../hooks/mcp';
import { useRequests } from '../hooks/logs';
import { Link } from '../router';
import BarChart, { type Series } from '../ui/bar-chart';
import Card from '../ui/card';
import Page from '../ui/page';
import { Empty, Failed, Loading } from '../ui/state';
import { duration, integer, when } from '../utils/format';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const RANGES = [
  { id: '24h', label: 'Last 24 hours', ms: DAY, bucket: 'hour' as const },
  { id: '7d', label: 'Last 7 days', ms: 7 * DAY, bucket: 'day' as const },
  { id: '30d', label: 'Last 30 days', ms: 30 * DAY, bucket: 'day' as const },
];

export default function ToolUseView() {
  const who = useWhoami();
  const admin = isAdmin(who);
  const [range, setRange] = useState(RANGES[1]!);
  const [user, setUser] = useState('');
  const filter = useMemo<ToolUseFilter>(() => {
    const size = range.bucket === 'day' ? DAY : HOUR;
    const to = Math.floor(Date.now() / size) * size + size;
    return { from: to - range.ms, to, bucket: range.bucket, user: admin ? user || undefined : who.login };
  }, [range, user, admin, who.login]);
  const use = useToolUse(filter);

  return (
    <Page
      title="Tool use"
      actions={
        <>
          <Link href="/ui/mcp">MCP servers →</Link>
          {admin && (
            <input className="input-small" placeholder="All users" value={user} onChange={(e) => setUser(e.target.value.trim())} aria-label="User" />
          )}
          <select value={range.id} onChange={(e) => setRange(RANGES.find((r) => r.id === e.target.value)!)} aria-label="Period">
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </>
      }
    >
      {use.error ? (
        <Failed error={use.error} retry={use.reload} />
      ) : !use.data ? (
        <Loading />
      ) : use.data.totals.calls === 0 ? (
        <Card>
          <Empty>No MCP tool calls in this period. Connect a client to /v1/mcp and its calls show up here.</Empty>
        </Card>
      ) : (
        <ToolUseBody use={use.data} filter={filter} admin={admin} />
      )}
    </Page>
  );
}

function ToolUseBody({ use, filter, admin }: { use: ToolUse; filter: ToolUseFilter; admin: boolean }) {
  const t = use.totals;
  const size = use.bucket === 'day' ? DAY : HOUR;
  const buckets: number[] = [];
  for (let at = filter.from; at < filter.to; at += size) buckets.push(at);
  const present = OUTCOMES.filter((o) => use.series.some((s) => s.outcome === o));
  const series: Series[] = present.map((o) => ({
    label: OUTCOME_LABELS[o] ?? o,
    values: buckets.map((at) => use.series.filter((s) => s.outcome === o && s.at === at).reduce((n, s) => n + s.calls, 0)),
  }));
  const labels = buckets.map((at) => (use.bucket === 'day' ? new Date(at).toISOString().slice(5, 10) : `${new Date(at).getHours()}:00`));
  return (
    <>
      <div className="stats">
        {[
          ['Calls', integer(t.calls)],
          ['Errors', integer(t.errors)],
          ['Refused or unknown', integer(t.refused)],
          ['Average time', duration(t.durationMs)],
        ].map(([label, value]) => (
          <div className="stat" key={label}>
            <div className="stat-label">{label}</div>
            <div className="stat-value">{value}</div>
          </div>
        ))}
      </div>
      <Card title={`Calls per ${use.bucket} by outcome`}>
        <BarChart title={`MCP tool calls per ${use.bucket} by outcome`} labels={labels} series={series} format={(n) => integer(n)} />
      </Card>
      <div className="grid-2">
        <Breakdown title="By tool" rows={use.byTool} keyLabel="Tool" />
        {admin ? <Breakdown title="By user" rows={use.byUser} keyLabel="User" /> : <Breakdown title="By outcome" rows={use.byOutcome.map((r) => ({ ...r, key: OUTCOME_LABELS[r.key ?? ''] ?? r.key }))} keyLabel="Outcome" />}
      </div>
      {admin && <Breakdown title="By outcome" rows={use.byOutcome.map((r) => ({ ...r, key: OUTCOME_LABELS[r.key ?? ''] ?? r.key }))} keyLabel="Outcome" />}
      <RecentCalls filter={filter} />
    </>
  );
}

function Breakdown({ title, rows, keyLabel }: { title: string; rows: ToolUseRow[]; keyLabel: string }) {
  return (
    <Card title={title}>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>{keyLabel}</th>
              <th className="num">Calls</th>
              <th className="num">Errors</th>
              <th className="num">Refused</th>
              <th className="num">Avg time</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key ?? ''}>
                <td className="mono">{r.key}</td>
                <td className="num">{integer(r.calls)}</td>
                <td className="num">{integer(r.errors)}</td>
                <td className="num">{integer(r.refused)}</td>
                <td className="num">{duration(r.durationMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

function RecentCalls({ filter }: { filter: ToolUseFilter }) {
  const calls = useRequests({ from: filter.from, to: filter.to, user: filter.user, format: 'mcp' }, 20);
  return (
    <Card title="Recent calls">
      {calls.error ? (
        <Failed error={calls.error} />
      ) : calls.loading && calls.rows.length === 0 ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>When</th>
                <th>User</th>
                <th>Tool</th>
                <th>Outcome</th>
                <th className="num">Time</th>
              </tr>
            </thead>
            <tbody>
              {calls.rows.map((r) => (
                <tr key={r.id}>
                  <td>
                    <Link href={`/ui/logs/${encodeURIComponent(r.id)}`}>{when(r.startedAt)}</Link>
                  </td>
                  <td>{r.login}</td>
                  <td className="mono">{r.requestedModel}</td>
                  <td>{OUTCOME_LABELS[r.stopReason ?? ''] ?? r.stopReason}</td>
                  <td className="num">{duration(r.durationMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
