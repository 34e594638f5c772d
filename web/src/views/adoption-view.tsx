/**
 * Adoption (admins): who uses keyway, with which agents and models. Active users per day
 * or week, requests by agent and cost by model over time, and the users, agents and
 * models of the period, each table downloadable as CSV. A user's name opens their own
 * dashboard (/ui/dashboard/:login).
 */
import { useMemo, useState } from 'react';
import { agentLabel, useAdoption, type Adoption, type AdoptionBucket, type AdoptionFilter } from '../hooks/adoption';
import { Link } from '../router';
import Card from '../ui/card';
import Page from '../ui/page';
import { Empty, Failed, Loading } from '../ui/state';
import { integer, tokens, usd, when } from '../utils/format';
import { ActiveUsersChart, AgentChart, AgentsAndModels, CsvLink, ModelCostChart } from './adoption-charts';

const DAY = 86_400_000;
const RANGES = [7, 30, 90] as const;

export default function AdoptionView() {
  const [days, setDays] = useState<(typeof RANGES)[number]>(30);
  const [bucket, setBucket] = useState<AdoptionBucket>('day');
  // Whole UTC days, so the chart's columns line up with the API's periods.
  const filter = useMemo<AdoptionFilter>(() => {
    const to = Math.floor(Date.now() / DAY) * DAY + DAY;
    return { from: to - days * DAY, to, bucket };
  }, [days, bucket]);
  const adoption = useAdoption(filter);
  return (
    <Page
      title="Adoption"
      actions={
        <>
          <select value={bucket} onChange={(e) => setBucket(e.target.value as AdoptionBucket)} aria-label="Group by">
            <option value="day">Per day</option>
            <option value="week">Per week</option>
          </select>
          <select value={days} onChange={(e) => setDays(Number(e.target.value) as (typeof RANGES)[number])} aria-label="Period">
            {RANGES.map((d) => (
              <option key={d} value={d}>
                Last {d} days
              </option>
            ))}
          </select>
        </>
      }
    >
      {adoption.error ? (
        <Failed error={adoption.error} retry={adoption.reload} />
      ) : !adoption.data ? (
        <Loading />
      ) : adoption.data.totals.requests === 0 ? (
        <Card>
          <Empty>Nobody has sent a request in this period.</Empty>
        </Card>
      ) : (
        <AdoptionBody data={adoption.data} filter={filter} />
      )}
    </Page>
  );
}

function AdoptionBody({ data, filter }: { data: Adoption; filter: AdoptionFilter }) {
  const t = data.totals;
  return (
    <>
      <div className="stats">
        {[
          ['Active users', integer(t.users)],
          ['Requests', integer(t.requests)],
          ['Input tokens', tokens(t.inputTokens)],
          ['Output tokens', tokens(t.outputTokens)],
          ['Estimated cost', usd(t.costUsd)],
          ['Agents', integer(data.byAgent.length)],
        ].map(([label, value]) => (
          <div className="stat" key={label}>
            <div className="stat-label">{label}</div>
            <div className="stat-value">{value}</div>
          </div>
        ))}
      </div>
      <ActiveUsersChart data={data} filter={filter} />
      <div className="grid-2">
        <AgentChart data={data} filter={filter} />
        <ModelCostChart data={data} filter={filter} />
      </div>
      <Users data={data} filter={filter} />
      <AgentsAndModels data={data} filter={filter} />
    </>
  );
}

function Users({ data, filter }: { data: Adoption; filter: AdoptionFilter }) {
  return (
    <Card title="Users" actions={<CsvLink filter={filter} table="users" />}>
      <div className="table-wrap">
        <table data-testid="table-users">
          <thead>
            <tr>
              <th>User</th>
              <th>Agents</th>
              <th className="num">Active days</th>
              <th className="num">Requests</th>
              <th className="num">Input tokens</th>
              <th className="num">Output tokens</th>
              <th className="num">Cost</th>
              <th>Last seen</th>
            </tr>
          </thead>
          <tbody>
            {data.byUser.map((u) => (
              <tr key={u.login}>
                <td>
                  <Link href={`/ui/dashboard/${encodeURIComponent(u.login)}`}>{u.login}</Link>
                </td>
                <td>{u.agents.map(agentLabel).join(', ')}</td>
                <td className="num">{integer(u.activeDays)}</td>
                <td className="num">{integer(u.requests)}</td>
                <td className="num">{tokens(u.inputTokens)}</td>
                <td className="num">{tokens(u.outputTokens)}</td>
                <td className="num">{usd(u.costUsd)}</td>
                <td>{when(u.lastSeen)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}
