/**
 * The adoption charts and tables, shared by the Adoption screen (everyone) and the
 * per-user dashboard (/ui/dashboard/:login, one user): requests by agent and cost by
 * model per period, and the agent and model tables, each with its CSV download.
 */
import { adoptionCsvUrl, agentLabel, periods, type Adoption, type AdoptionFilter, type AdoptionRow, type AdoptionTable } from '../hooks/adoption';
import { Link } from '../router';
import BarChart, { type Series } from '../ui/bar-chart';
import Card from '../ui/card';
import { Empty } from '../ui/state';
import { integer, tokens, usd } from '../utils/format';

/** Series beyond this many are drawn as one "other", so a period's bar adds up to its total. */
const TOP = 6;

/**
 * stacked makes chart series from rows of (period, key, value): the biggest keys by
 * their sum, and one `other` series for the rest.
 */
export function stacked<R extends { period: string }>(rows: R[], labels: string[], keyOf: (r: R) => string, valueOf: (r: R) => number, nameOf: (key: string) => string = (k) => k, other = 'other'): Series[] {
  const sums = new Map<string, number>();
  for (const r of rows) sums.set(keyOf(r), (sums.get(keyOf(r)) ?? 0) + valueOf(r));
  const keys = [...sums].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1]).map(([k]) => k);
  const named = keys.length > TOP ? keys.slice(0, TOP - 1) : keys;
  const index = new Map(labels.map((l, i) => [l, i]));
  const series = named.map((k) => ({ label: nameOf(k), values: labels.map(() => 0) }));
  const rest = { label: other, values: labels.map(() => 0) };
  for (const r of rows) {
    const i = index.get(r.period);
    if (i === undefined) continue;
    const at = named.indexOf(keyOf(r));
    (at >= 0 ? series[at]! : rest).values[i]! += valueOf(r);
  }
  return keys.length > named.length ? [...series, rest] : series;
}

export function CsvLink({ filter, table }: { filter: AdoptionFilter; table: AdoptionTable }) {
  return (
    <a className="btn btn-secondary btn-small" href={adoptionCsvUrl(filter, table)} download data-testid={`csv-${table}`}>
      Download CSV
    </a>
  );
}

const per = (f: AdoptionFilter) => (f.bucket === 'week' ? 'week' : 'day');
const labelHeaderOf = (f: AdoptionFilter) => (f.bucket === 'week' ? 'Week of' : 'Day');

export function ActiveUsersChart({ data, filter }: { data: Adoption; filter: AdoptionFilter }) {
  const labels = periods(filter.from, filter.to, filter.bucket);
  const values = labels.map((p) => data.activeUsers.find((a) => a.period === p)?.users ?? 0);
  return (
    <Card title={`Active users per ${per(filter)}`} actions={<CsvLink filter={filter} table="active" />}>
      <BarChart title={`Active users per ${per(filter)}`} labels={labels} series={[{ label: 'Active users', values }]} format={integer} labelHeader={labelHeaderOf(filter)} />
    </Card>
  );
}

export function AgentChart({ data, filter }: { data: Adoption; filter: AdoptionFilter }) {
  const labels = periods(filter.from, filter.to, filter.bucket);
  const byAgent = stacked(data.agentSeries, labels, (r) => r.agent, (r) => r.requests, agentLabel, 'other agents');
  return (
    <Card title={`Requests by agent per ${per(filter)}`}>
      {byAgent.length === 0 ? <Empty>No requests in this period.</Empty> : <BarChart title={`Requests by agent per ${per(filter)}`} labels={labels} series={byAgent} format={integer} labelHeader={labelHeaderOf(filter)} />}
    </Card>
  );
}

export function ModelCostChart({ data, filter }: { data: Adoption; filter: AdoptionFilter }) {
  const labels = periods(filter.from, filter.to, filter.bucket);
  const byModel = stacked(data.modelSeries, labels, (r) => r.model, (r) => r.costUsd, undefined, 'other models');
  return (
    <Card title={`Cost by model per ${per(filter)}`}>
      {byModel.length === 0 ? <Empty>No estimated cost in this period.</Empty> : <BarChart title={`Estimated cost by model per ${per(filter)}`} labels={labels} series={byModel} format={usd} labelHeader={labelHeaderOf(filter)} />}
    </Card>
  );
}

function Sums({ r }: { r: AdoptionRow }) {
  return (
    <>
      <td className="num">{integer(r.requests)}</td>
      <td className="num">{tokens(r.inputTokens)}</td>
      <td className="num">{tokens(r.outputTokens)}</td>
      <td className="num">{usd(r.costUsd)}</td>
    </>
  );
}

const SUM_HEADS = ['Requests', 'Input tokens', 'Output tokens', 'Cost'];

/** BreakdownTable: the agents or the models of the period, with users (unless one user's) and sums. */
export function BreakdownTable({ title, table, filter, rows, showUsers }: { title: string; table: 'agents' | 'models'; filter: AdoptionFilter; rows: Array<AdoptionRow & { key: string; label: string; href?: string }>; showUsers: boolean }) {
  return (
    <Card title={title} actions={<CsvLink filter={filter} table={table} />}>
      {rows.length === 0 ? (
        <Empty>No requests in this period.</Empty>
      ) : (
        <div className="table-wrap">
          <table data-testid={`table-${table}`}>
            <thead>
              <tr>
                <th>{table === 'agents' ? 'Agent' : 'Model'}</th>
                {showUsers && <th className="num">Users</th>}
                {SUM_HEADS.map((h) => (
                  <th key={h} className="num">
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.key}>
                  <td className={table === 'models' ? 'mono small' : undefined}>{r.href ? <Link href={r.href}>{r.label}</Link> : r.label}</td>
                  {showUsers && <td className="num">{integer(r.users)}</td>}
                  <Sums r={r} />
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

/** logsHref links a breakdown row to the request log, narrowed to it (and to the user, if one). */
export function logsHref(filter: AdoptionFilter, param: 'agent' | 'model', value: string): string {
  const q = new URLSearchParams({ [param]: value });
  if (filter.user) q.set('user', filter.user);
  return `/ui/logs?${q}`;
}

export function AgentsAndModels({ data, filter }: { data: Adoption; filter: AdoptionFilter }) {
  const showUsers = !filter.user;
  return (
    <div className="grid-2">
      <BreakdownTable
        title="Agents"
        table="agents"
        filter={filter}
        showUsers={showUsers}
        rows={data.byAgent.map((a) => ({ ...a, key: a.agent, label: agentLabel(a.agent), href: logsHref(filter, 'agent', a.agent) }))}
      />
      <BreakdownTable title="Models" table="models" filter={filter} showUsers={showUsers} rows={data.byModel.map((m) => ({ ...m, key: m.model, label: m.model, href: logsHref(filter, 'model', m.model) }))} />
    </div>
  );
}
