/**
 * Tool use: the tool calls models made in their answers (by tool, agent and user over
 * time), and MCP tool calls over time by outcome, by tool and by user, with the most
 * recent calls (each one opens in the request log, with its arguments and result). Users
 * see their own calls; admins everyone's, and may narrow to one user.
 */
import { useMemo, useState } from 'react';
import { isAdmin, useWhoami } from '../hooks/whoami';
import { OUTCOMES, OUTCOME_LABELS, useToolUse, type ModelToolRow, type ModelToolUse, type ToolUse, type ToolUseFilter, type ToolUseRow } from '../hooks/mcp';
import { agentLabel } from '../hooks/adoption';
import { stacked } from './adoption-charts';
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
      ) : use.data.totals.calls === 0 && use.data.models.totals.calls === 0 ? (
        <Card>
          <Empty>No tool calls in this period. Tool calls the models make, and MCP calls through /v1/mcp, show up here.</Empty>
        </Card>
      ) : (
        <>
          {use.data.models.totals.calls > 0 && <ModelTools tools={use.data.models} bucket={use.data.bucket} filter={filter} admin={admin} />}
          {use.data.totals.calls > 0 ? (
            <ToolUseBody use={use.data} filter={filter} admin={admin} />
          ) : (
            <Card title="MCP tool calls">
              <Empty>No MCP tool calls in this period. Connect a client to /v1/mcp and its calls show up here.</Empty>
            </Card>
          )}
        </>
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
  const labels = buckets.map((at) => bucketLabel(at, use.bucket));
  return (
    <>
      <h2 className="section-title">MCP tool calls</h2>
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
        <BarChart title={`MCP tool calls per ${use.bucket} by outcome`} labels={labels} series={series} format={(n) => integer(n)} labelHeader={use.bucket === 'day' ? 'Day' : 'Hour'} />
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

/** bucketLabel names a time bucket: `2026-12-01`, or `2026-12-01 13:00` (the chart shows what follows the year). */
function bucketLabel(at: number, bucket: 'hour' | 'day'): string {
  const iso = new Date(at).toISOString();
  return bucket === 'day' ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 13)}:00`;
}

/** ModelTools: the tool calls models asked for in their answers (Bash, Read, …), whatever the client ran. */
function ModelTools({ tools, bucket, filter, admin }: { tools: ModelToolUse; bucket: 'hour' | 'day'; filter: ToolUseFilter; admin: boolean }) {
  const size = bucket === 'day' ? DAY : HOUR;
  const labels: string[] = [];
  for (let at = filter.from; at < filter.to; at += size) labels.push(bucketLabel(at, bucket));
  const series = stacked(
    tools.series.map((s) => ({ ...s, period: bucketLabel(s.at, bucket) })),
    labels,
    (r) => r.tool,
    (r) => r.calls,
    undefined,
    'other tools',
  );
  return (
    <>
      <h2 className="section-title">Tool calls by models</h2>
      <div className="stats">
        {[
          ['Tool calls', integer(tools.totals.calls)],
          ['Answers with tool calls', integer(tools.totals.requests)],
          ['Tools', integer(tools.byTool.length)],
        ].map(([label, value]) => (
          <div className="stat" key={label}>
            <div className="stat-label">{label}</div>
            <div className="stat-value">{value}</div>
          </div>
        ))}
      </div>
      <Card title={`Model tool calls per ${bucket} by tool`}>
        <BarChart title={`Model tool calls per ${bucket} by tool`} labels={labels} series={series} format={(n) => integer(n)} labelHeader={bucket === 'day' ? 'Day' : 'Hour'} />
      </Card>
      <div className="grid-2">
        <ModelBreakdown title="Model calls by tool" rows={tools.byTool} keyLabel="Tool" testId="model-tools-by-tool" />
        <ModelBreakdown title="Model calls by agent" rows={tools.byAgent.map((r) => ({ ...r, key: agentLabel(r.key) }))} keyLabel="Agent" testId="model-tools-by-agent" />
      </div>
      {admin && <ModelBreakdown title="Model calls by user" rows={tools.byUser} keyLabel="User" testId="model-tools-by-user" />}
    </>
  );
}

function ModelBreakdown({ title, rows, keyLabel, testId }: { title: string; rows: ModelToolRow[]; keyLabel: string; testId: string }) {
  return (
    <Card title={title}>
      <div className="table-wrap">
        <table data-testid={testId}>
          <thead>
            <tr>
              <th>{keyLabel}</th>
              <th className="num">Calls</th>
              <th className="num">Answers</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key ?? ''}>
                <td className="mono">{r.key}</td>
                <td className="num">{integer(r.calls)}</td>
                <td className="num">{integer(r.requests)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Card>
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
