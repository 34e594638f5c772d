/**
 * The S3 export in the dashboard (admins): a banner on every screen while the export is
 * failing, and a card on the overview with where it stands and how far behind it is.
 */
import { Fragment } from 'react';
import { useExportStatus, type ExportStatus } from '../hooks/export';
import Badge from '../ui/badge';
import Card from '../ui/card';
import { duration, integer, when } from '../utils/format';

/** ExportBanner says, on every screen, that the export is failing and what waits. */
export function ExportBanner() {
  const { data } = useExportStatus(true);
  if (!data || data.state !== 'failing' || !data.last_error) return null;
  return (
    <div className="notice notice-danger" role="alert" data-testid="export-banner">
      <p>
        <strong>The S3 export is failing</strong> ({data.consecutive_failures} {data.consecutive_failures === 1 ? 'attempt' : 'attempts in a row'}, last at{' '}
        {when(data.last_error.at)}): <span className="mono">{data.last_error.message}</span>
      </p>
      <p>
        {waiting(data)}
        {data.next_attempt_at ? ` Next attempt ${when(data.next_attempt_at)}.` : ''}
        {data.require_export ? ' Captures are kept until they are exported (require_export).' : ''} Inference is not affected.
      </p>
    </div>
  );
}

/** ExportCard: the destination, the last export, the backlog and its lag. */
export function ExportCard() {
  const { data } = useExportStatus(true);
  if (!data || data.state === 'off' || !data.destination) return null;
  const d = data.destination;
  const rows: Array<[string, string]> = [
    ['Destination', `${d.endpoint ?? 'AWS S3'} · ${d.bucket} · ${d.region}`],
    ['Objects', d.key_pattern],
    ['Every', data.every_seconds === null ? '—' : duration(data.every_seconds * 1000)],
    ['Last export', data.last_export_at ? when(data.last_export_at) : 'not yet'],
    ['Exported', `${integer(data.exported_records)} records in ${integer(data.exported_objects)} objects`],
    ['Waiting', waiting(data)],
  ];
  return (
    <Card title={<span className="row">S3 export <StateBadge state={data.state} /></span>}>
      <dl className="kv" data-testid="export-card">
        {rows.map(([k, v]) => (
          <Fragment key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </Fragment>
        ))}
      </dl>
    </Card>
  );
}

function StateBadge({ state }: { state: ExportStatus['state'] }) {
  const tone = state === 'failing' ? 'danger' : state === 'exporting' ? 'info' : 'success';
  return <Badge tone={tone}>{state}</Badge>;
}

function waiting(s: ExportStatus): string {
  if (s.pending_records === 0) return 'Nothing waits: the export is up to date.';
  const lag = s.lag_seconds > 0 ? `, the oldest for ${duration(s.lag_seconds * 1000)}` : '';
  return `${integer(s.pending_records)} ${s.pending_records === 1 ? 'record waits' : 'records wait'}${lag}.`;
}
