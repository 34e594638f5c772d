/**
 * Models: every model the viewer is granted, grouped by provider, with the provider's
 * name and description, API formats, prices per million tokens and auth mode. The Test
 * button sends a short request from the server with the provider's key; a passthrough-only
 * provider has no key, so its button is disabled and says why.
 */
import { useState } from 'react';
import { waitText } from '../hooks/quotas';
import { Link } from '../router';
import { FORMAT_LABELS, testModel, useModels, useProviders, type ModelRow, type Pricing, type ProviderRow, type TestResult } from '../hooks/models';
import Badge from '../ui/badge';
import Button from '../ui/button';
import Card from '../ui/card';
import Page from '../ui/page';
import { Empty, Failed, Loading } from '../ui/state';
import { useToast } from '../ui/toast';
import { perMillion } from '../utils/format';

export const NO_KEY_REASON = 'No API key is configured for this provider (passthrough-only): clients bring their own credential, so there is nothing to test with.';

export default function ModelsView() {
  const models = useModels();
  const providers = useProviders();
  if (models.error) return <Failed error={models.error} retry={models.reload} />;
  if (providers.error) return <Failed error={providers.error} retry={providers.reload} />;
  if (!models.data || !providers.data) return <Loading />;

  const byProvider = new Map<string, ModelRow[]>();
  for (const m of models.data.data) {
    const id = m.metadata.provider.id;
    byProvider.set(id, [...(byProvider.get(id) ?? []), m]);
  }
  const info = new Map(providers.data.map((p) => [p.id, p]));

  return (
    <Page title="Models">
      {byProvider.size === 0 && <Empty>No models are granted to you. An administrator can add a grant with a models pattern.</Empty>}
      {[...byProvider].map(([id, rows]) => (
        <ProviderCard key={id} rows={rows} provider={info.get(id)} />
      ))}
    </Page>
  );
}

function AuthBadge({ row }: { row: ModelRow }) {
  const p = row.metadata.provider;
  if (p.auth_mode === 'passthrough') {
    return p.requires_client_auth ? (
      <>
        <Badge tone="info" title="Each client's own key or subscription token is forwarded to the provider">passthrough</Badge>{' '}
        <Badge tone="warning" title="No fallback key is configured: clients must send their own credential">needs your own key</Badge>
      </>
    ) : (
      <Badge tone="info" title="Clients' own credentials are forwarded; requests without one use the fallback key">passthrough + fallback key</Badge>
    );
  }
  if (p.auth_mode === 'none') return <Badge title="No credential is sent upstream">no auth</Badge>;
  return <Badge tone="success" title="keyway sends the provider's key on every request">provider key</Badge>;
}

function ProviderCard({ rows, provider }: { rows: ModelRow[]; provider: ProviderRow | undefined }) {
  const first = rows[0]!.metadata.provider;
  const formats = provider ? Object.entries(provider.compatibility).filter(([, on]) => on).map(([flag]) => FORMAT_LABELS[flag] ?? flag) : [];
  return (
    <Card
      title={
        <>
          {first.name} <span className="muted small mono">{first.id}</span>
        </>
      }
      actions={<AuthBadge row={rows[0]!} />}
    >
      {first.description && <p className="muted">{first.description}</p>}
      <p className="small">
        <span className="muted">API formats:</span> {formats.join(', ') || '—'}
      </p>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th>Model</th>
              <th className="num">Input / 1M</th>
              <th className="num">Output / 1M</th>
              <th>Test</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((m) => (
              <ModelLine key={m.id} row={m} />
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

function priceDetail(p: Pricing | undefined): string | undefined {
  if (!p) return undefined;
  const parts: string[] = [];
  if (p.input_cache_read) parts.push(`cache read ${perMillion(p.input_cache_read)}`);
  if (p.input_cache_write) parts.push(`cache write ${perMillion(p.input_cache_write)}`);
  if (p.input_cache_write_1h) parts.push(`cache write (1 h) ${perMillion(p.input_cache_write_1h)}`);
  if (p.web_search) parts.push(`web search $${Number(p.web_search).toFixed(3)} each`);
  return parts.length ? `Per million tokens: ${parts.join(', ')}` : undefined;
}

function ModelLine({ row }: { row: ModelRow }) {
  const toast = useToast();
  const p = row.metadata.provider;
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<TestResult | undefined>();
  const run = async () => {
    setBusy(true);
    setResult(undefined);
    const r = await testModel(p.id, row.id);
    setBusy(false);
    if (r.ok) setResult(r.data);
    else toast.error(r.error, `Test of ${p.id}/${row.id}`);
  };
  const detail = priceDetail(row.pricing);
  return (
    <tr data-model={`${p.id}/${row.id}`}>
      <td>
        <span className="mono">{row.id}</span>
        {result && <TestOutcome result={result} />}
      </td>
      <td className="num" title={detail}>
        {perMillion(row.pricing?.input)}
      </td>
      <td className="num" title={detail}>
        {perMillion(row.pricing?.output)}
      </td>
      <td>
        {p.requires_client_auth ? (
          <Button size="small" disabledReason={NO_KEY_REASON}>
            Test
          </Button>
        ) : (
          <Button size="small" onClick={run} disabled={busy} aria-label={`Test ${p.id}/${row.id}`}>
            {busy ? 'Testing…' : 'Test'}
          </Button>
        )}
      </td>
    </tr>
  );
}

function TestOutcome({ result }: { result: TestResult }) {
  return (
    <div className={`notice ${result.ok ? 'notice-success' : 'notice-danger'} small`} role="status" data-testid="test-result">
      {result.ok ? (
        <>
          <strong>OK</strong> in {result.latency_ms} ms: “{result.text}”
        </>
      ) : (
        <>
          <strong>Failed ({result.status})</strong> after {result.latency_ms} ms: {result.error}
          {result.quota && (
            <div data-testid="test-quota">
              Refused by the quota bucket <span className="mono">{result.quota.bucket}</span>; it lets requests through again in about {waitText(result.quota.retry_after)}. <Link href="/ui/quotas">See your quotas</Link>
            </div>
          )}
        </>
      )}
    </div>
  );
}
