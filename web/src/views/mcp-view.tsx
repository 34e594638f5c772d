/**
 * MCP servers: every server and connector keyway knows, with its status and how many
 * tools, resources and templates the viewer may use. Admins also see each URL and why a
 * server is down. The list refreshes every 5 s, as often as keyway checks the servers.
 */
import { useReloadEvery } from '../hooks/use-api';
import { isAdmin, useWhoami } from '../hooks/whoami';
import { useConnectors, type Connector } from '../hooks/mcp';
import { Link } from '../router';
import Badge, { type BadgeTone } from '../ui/badge';
import Card from '../ui/card';
import Page from '../ui/page';
import { Empty, Failed, Loading } from '../ui/state';
import { integer } from '../utils/format';

const STATUS: Record<string, { tone: BadgeTone; label: string; title: string }> = {
  up: { tone: 'success', label: 'up', title: 'keyway lists its tools' },
  ready: { tone: 'success', label: 'ready', title: 'an HTTP connector: requests are proxied' },
  connecting: { tone: 'info', label: 'connecting', title: 'keyway is connecting for the first time' },
  down: { tone: 'danger', label: 'down', title: 'unreachable: its tools are hidden until it recovers' },
  unsupported: { tone: 'warning', label: 'not connected', title: 'per-user OAuth, which keyway does not implement yet' },
};

export default function McpView() {
  const who = useWhoami();
  const list = useConnectors();
  useReloadEvery(list.reload, 5_000);
  return (
    <Page title="MCP servers" actions={<Link href="/ui/tools">Tool use →</Link>}>
      <Card title="Servers and connectors">
        {list.error ? (
          <Failed error={list.error} retry={list.reload} />
        ) : !list.data ? (
          <Loading />
        ) : list.data.connectors.length <= 1 ? (
          <Empty>No MCP servers are configured. Add them under mcp.servers or connectors in the configuration; clients connect to /v1/mcp.</Empty>
        ) : (
          <ServerTable servers={list.data.connectors} admin={isAdmin(who)} />
        )}
      </Card>
      <p className="muted small">
        Clients connect to <code>{`${location.origin}/v1/mcp`}</code> (Streamable HTTP). Tools are named <code>server_tool</code>; your grants decide which you see.
      </p>
    </Page>
  );
}

function ServerTable({ servers, admin }: { servers: Connector[]; admin: boolean }) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Server</th>
            <th>Status</th>
            <th>Kind</th>
            <th>Auth</th>
            <th className="num">Tools</th>
            <th className="num">Resources</th>
            <th className="num">Templates</th>
            {admin && <th>URL</th>}
          </tr>
        </thead>
        <tbody>
          {servers.map((s) => {
            const status = STATUS[s.status] ?? { tone: 'neutral' as const, label: s.status, title: '' };
            return (
              <tr key={s.id} data-server={s.id}>
                <td>
                  <strong className="mono">{s.id}</strong>
                  {s.description && <div className="muted small">{s.description}</div>}
                  {s.labels.length > 0 && <div className="muted small">labels: {s.labels.join(', ')}</div>}
                </td>
                <td>
                  <Badge tone={status.tone} title={status.title}>
                    {status.label}
                  </Badge>
                  {admin && s.error && <div className="muted small">{s.error}</div>}
                </td>
                <td>{s.protocol === 'http' ? 'HTTP API' : s.source === 'builtin' ? 'built in' : s.source === 'registration' ? 'MCP (registered)' : 'MCP'}</td>
                <td>{s.auth_type === 'none' ? '—' : s.auth_type}</td>
                <td className="num">{s.protocol === 'http' ? '—' : integer(s.tools)}</td>
                <td className="num">{s.protocol === 'http' ? '—' : integer(s.resources)}</td>
                <td className="num">{s.protocol === 'http' ? '—' : integer(s.templates)}</td>
                {admin && <td className="mono small">{s.url ?? ''}</td>}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
