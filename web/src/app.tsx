/**
 * The app shell: loads the viewer (whoami), then shows the navigation and the screen for
 * the current path. Screens load lazily so the chat and the configuration editor
 * (CodeMirror) cost nothing until opened. Admin screens are hidden from non-admins, and
 * opened directly they say so; keyway refuses their API calls either way.
 */
import { lazy, Suspense, type ComponentType } from 'react';
import { isAdmin, useWhoamiRequest, WhoamiContext, type Whoami } from './hooks/whoami';
import { Link, match, useLocation } from './router';
import CommandPalette from './ui/command-palette';
import Page from './ui/page';
import { Failed, Loading } from './ui/state';
import { ToastProvider } from './ui/toast';
import { ExportBanner } from './views/export-status';
import { TelemetryStoreBanner } from './views/telemetry-status';

const OverviewView = lazy(() => import('./views/overview-view'));
const ModelsView = lazy(() => import('./views/models-view'));
const LogsView = lazy(() => import('./views/logs-view'));
const ConfigView = lazy(() => import('./views/config-view'));
const ProvidersView = lazy(() => import('./views/providers-view'));
const GrantsView = lazy(() => import('./views/grants-view'));
const ChatView = lazy(() => import('./views/chat-view'));
const QuotasView = lazy(() => import('./views/quotas-view'));
const McpView = lazy(() => import('./views/mcp-view'));
const ToolUseView = lazy(() => import('./views/tool-use-view'));
const AdoptionView = lazy(() => import('./views/adoption-view'));

interface Route {
  pattern: string;
  view: ComponentType<{ params: Record<string, string> }>;
  admin?: boolean;
}

const ROUTES: Route[] = [
  { pattern: '/ui', view: OverviewView },
  { pattern: '/ui/dashboard/:login', view: OverviewView, admin: true },
  { pattern: '/ui/models', view: ModelsView },
  { pattern: '/ui/logs', view: LogsView },
  { pattern: '/ui/logs/:requestId', view: LogsView },
  { pattern: '/ui/quotas', view: QuotasView },
  { pattern: '/ui/mcp', view: McpView },
  { pattern: '/ui/tools', view: ToolUseView },
  { pattern: '/ui/adoption', view: AdoptionView, admin: true },
  { pattern: '/ui/config', view: ConfigView, admin: true },
  { pattern: '/ui/providers', view: ProvidersView, admin: true },
  { pattern: '/ui/grants', view: GrantsView, admin: true },
];

const NAV: Array<{ href: string; label: string; admin?: boolean }> = [
  { href: '/ui/', label: 'Overview' },
  { href: '/ui/models', label: 'Models' },
  { href: '/ui/logs', label: 'Logs' },
  { href: '/ui/quotas', label: 'Quotas' },
  { href: '/ui/mcp', label: 'MCP' },
  { href: '/ui/tools', label: 'Tool Use' },
  { href: '/ui/adoption', label: 'Adoption', admin: true },
  { href: '/ui/config', label: 'Configuration', admin: true },
  { href: '/ui/providers', label: 'Providers', admin: true },
  { href: '/ui/grants', label: 'Grants', admin: true },
];

export default function App() {
  return (
    <ToastProvider>
      <Root />
    </ToastProvider>
  );
}

function Root() {
  const who = useWhoamiRequest();
  if (who.error) {
    return (
      <main className="centered">
        <h1>keyway</h1>
        <Failed error={who.error} retry={who.reload} />
      </main>
    );
  }
  if (!who.data) return <Loading />;
  return (
    <WhoamiContext.Provider value={who.data}>
      <Shell who={who.data} />
    </WhoamiContext.Provider>
  );
}

function Shell({ who }: { who: Whoami }) {
  const { path } = useLocation();
  if (path === '/chat' || path.startsWith('/chat/')) {
    return (
      <Suspense fallback={<Loading />}>
        <ChatView params={{ id: path.slice('/chat/'.length) }} />
      </Suspense>
    );
  }
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Main">
        <div className="sidebar-inner">
          <Link href="/ui/" className="brand">
            keyway
          </Link>
          <ul>
            {NAV.filter((n) => who.role !== null && (!n.admin || isAdmin(who))).map((n) => (
              <li key={n.href}>
                <Link href={n.href} aria-current={isCurrent(n.href, path) ? 'page' : undefined}>
                  {n.label}
                </Link>
              </li>
            ))}
            {who.enable_chat_ui && who.role !== null && (
              <li>
                <a href="/chat">Chat</a>
              </li>
            )}
          </ul>
          {who.role !== null && <CommandPalette screens={NAV.filter((n) => !n.admin || isAdmin(who))} admin={isAdmin(who)} />}
          <div className="viewer" title={`identity from ${who.identity_source}`}>
            <span className="viewer-name">{who.display_name || who.login}</span>
            <span className="viewer-role">{who.role ?? 'no role'}</span>
          </div>
        </div>
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        {isAdmin(who) && <ExportBanner />}
        {isAdmin(who) && <TelemetryStoreBanner />}
        {who.role === null ? <NoRole who={who} /> : <Screen who={who} path={path} />}
      </main>
    </div>
  );
}

function isCurrent(href: string, path: string): boolean {
  const base = href.replace(/\/$/, '');
  if (base === '/ui') return path === '/ui' || path === '/ui/' || path.startsWith('/ui/dashboard/');
  return path === base || path.startsWith(`${base}/`);
}

function Screen({ who, path }: { who: Whoami; path: string }) {
  const normal = path.length > 1 ? path.replace(/\/$/, '') : path;
  for (const route of ROUTES) {
    const params = match(route.pattern, normal);
    if (!params) continue;
    if (route.admin && !isAdmin(who)) return <AdminOnly />;
    const View = route.view;
    return (
      <Suspense fallback={<Loading />}>
        <View key={route.pattern} params={params} />
      </Suspense>
    );
  }
  return (
    <Page title="Not found">
      <p>
        Nothing lives at <code>{path}</code>. <Link href="/ui/">Go to the overview</Link>.
      </p>
    </Page>
  );
}

function AdminOnly() {
  return (
    <Page title="Admins only">
      <p role="alert">This screen is for keyway administrators. Your grants give you the user role.</p>
    </Page>
  );
}

function NoRole({ who }: { who: Whoami }) {
  return (
    <Page title="No access yet">
      <p role="alert">
        keyway knows you as <strong>{who.login}</strong>, but no grant gives you a role, so every request is refused. Ask an administrator to add a grant
        whose <code>src</code> matches you.
      </p>
    </Page>
  );
}
