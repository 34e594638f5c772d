/**
 * A banner on every screen (admins) while the telemetry database does not take writes:
 * records wait in a bounded queue and are retried; beyond the bound they are dropped.
 */
import { useTelemetryStatus } from '../hooks/telemetry-status';
import { integer, when } from '../utils/format';

export function TelemetryStoreBanner() {
  const { data } = useTelemetryStatus(true);
  if (!data || data.available) return null;
  return (
    <div className="notice notice-danger" role="alert" data-testid="telemetry-store-banner">
      <p>
        <strong>The telemetry database is not taking writes</strong>
        {data.failing_since ? ` since ${when(data.failing_since)}` : ''}
        {data.last_error ? (
          <>
            : <span className="mono">{data.last_error}</span>
          </>
        ) : null}
      </p>
      <p>
        {integer(data.queued)} {data.queued === 1 ? 'record waits' : 'records wait'} and {data.queued === 1 ? 'is' : 'are'} retried;{' '}
        {integer(data.dropped_records)} dropped so far. Inference is not affected; usage shown here is behind until the database is back.
      </p>
    </div>
  );
}
