/**
 * Quotas: each dollar bucket with its balance as a bar, its capacity and refill rate, and
 * a warning when requests reached it whose cost keyway could not know. Admins see every
 * bucket and can refill one; users see the buckets their grants attach. Below, refusals
 * per bucket over time (from telemetry).
 */
import { useMemo, useState } from 'react';
import { isAdmin, useWhoami } from '../hooks/whoami';
import { refillBucket, useQuotaHistory, useQuotas, waitText, type BucketView } from '../hooks/quotas';
import BarChart from '../ui/bar-chart';
import Badge from '../ui/badge';
import Button from '../ui/button';
import Card from '../ui/card';
import Dialog from '../ui/dialog';
import Field from '../ui/field';
import Page from '../ui/page';
import { Empty, Failed, Loading } from '../ui/state';
import { useToast } from '../ui/toast';
import { integer, when } from '../utils/format';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export default function QuotasView() {
  const who = useWhoami();
  const admin = isAdmin(who);
  const quotas = useQuotas();
  const [refilling, setRefilling] = useState<BucketView | undefined>();
  if (quotas.error) return <Failed error={quotas.error} retry={quotas.reload} />;
  if (!quotas.data) return <Loading />;
  const { buckets, telemetry } = quotas.data;
  return (
    <Page title="Quotas">
      <p className="muted">
        {admin
          ? 'Every quota bucket in use. A request is let through while each of its buckets is above $0.00 and charged its estimated cost afterwards, so a bucket can go into debt; it refills continuously up to its capacity.'
          : 'The quota buckets your grants charge. A request is let through while each of its buckets is above $0.00; the bucket refills continuously up to its capacity.'}
      </p>
      <Card title={admin ? 'All buckets' : 'Your buckets'}>
        {buckets.length === 0 ? (
          <Empty>{admin ? 'No quotas are configured, or none is attached to a grant yet.' : 'No quota applies to you.'}</Empty>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Bucket</th>
                  <th>Balance</th>
                  <th className="num">Capacity</th>
                  <th>Refills</th>
                  <th>Last change</th>
                  {admin && <th>Refill</th>}
                </tr>
              </thead>
              <tbody>
                {buckets.map((b) => (
                  <BucketRow key={b.bucket} bucket={b} admin={admin} onRefill={() => setRefilling(b)} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      <RefusalHistory buckets={buckets.map((b) => b.bucket)} telemetry={telemetry} />
      {refilling && <RefillDialog bucket={refilling} onClose={() => setRefilling(undefined)} onDone={quotas.reload} />}
    </Page>
  );
}

function BucketRow({ bucket: b, admin, onRefill }: { bucket: BucketView; admin: boolean; onRefill: () => void }) {
  return (
    <tr data-bucket={b.bucket}>
      <td>
        <span className="mono">{b.bucket}</span>
        {b.template && <span className="muted small"> ({b.quota})</span>}
        {!b.passes && (
          <div className="small">
            <Badge tone="danger">refusing</Badge> <span className="muted">requests pass again in about {waitText(b.retry_after_seconds ?? 1)}</span>
          </div>
        )}
        {b.unmetered_requests > 0 && (
          <div className="small" role="note">
            <Badge tone="warning" title="Requests whose cost keyway could not estimate (a model without a price, or an answer without usage) were charged $0.00.">
              cannot see {integer(b.unmetered_requests)} request{b.unmetered_requests === 1 ? '' : 's'}
            </Badge>
          </div>
        )}
      </td>
      <td>
        <BalanceBar bucket={b} />
      </td>
      <td className="num">{b.capacity}</td>
      <td>{b.rate}</td>
      <td className="small">{b.updated_at ? when(b.updated_at) : <span className="muted">never used (full)</span>}</td>
      {admin && (
        <td>
          <Button size="small" onClick={onRefill} aria-label={`Refill ${b.bucket}`}>
            Refill
          </Button>
        </td>
      )}
    </tr>
  );
}

/** BalanceBar: how full a bucket is; a bucket in debt shows an empty, red bar. */
function BalanceBar({ bucket: b }: { bucket: BucketView }) {
  const share = b.capacity_nanos > 0 ? Math.max(0, Math.min(1, b.balance_nanos / b.capacity_nanos)) : 0;
  const tone = b.balance_nanos <= 0 ? 'danger' : share < 0.2 ? 'warning' : 'ok';
  return (
    <div className="balance">
      <div
        className={`balance-bar balance-${tone}`}
        role="meter"
        aria-label={`Balance of ${b.bucket}`}
        aria-valuemin={0}
        aria-valuemax={b.capacity_nanos / 1e9}
        aria-valuenow={Math.max(0, b.balance_nanos) / 1e9}
        aria-valuetext={`${b.balance} of ${b.capacity}`}
      >
        <div className="balance-fill" style={{ width: `${(share * 100).toFixed(1)}%` }} />
      </div>
      <span className={`balance-text small${b.balance_nanos < 0 ? ' problem' : ''}`}>
        {b.balance}
        {b.balance_nanos < 0 && ' (in debt)'}
      </span>
    </div>
  );
}

function RefillDialog({ bucket, onClose, onDone }: { bucket: BucketView; onClose: () => void; onDone: () => void }) {
  const toast = useToast();
  const [amount, setAmount] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    const r = await refillBucket(bucket.bucket, amount.trim());
    setBusy(false);
    if (!r.ok) return toast.error(r.error, `Refilling ${bucket.bucket}`);
    toast.success(`${bucket.bucket} now holds ${r.data.bucket.balance}`);
    onDone();
    onClose();
  };
  return (
    <Dialog
      title={`Refill ${bucket.bucket}`}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" onClick={() => void submit()} disabled={busy}>
            {amount.trim() ? `Add ${amount.trim()}` : 'Fill up'}
          </Button>
        </>
      }
    >
      <p>
        Balance {bucket.balance} of {bucket.capacity}. A refill never goes above the capacity.
      </p>
      <Field label="Amount" help='A dollar amount such as "$5.00"; leave empty to fill the bucket up.'>
        <input value={amount} onChange={(e) => setAmount(e.target.value)} placeholder={bucket.capacity} inputMode="decimal" />
      </Field>
    </Dialog>
  );
}

const RANGES = [
  { label: 'Last 24 hours', span: DAY, every: 'hour' as const },
  { label: 'Last 7 days', span: 7 * DAY, every: 'day' as const },
  { label: 'Last 30 days', span: 30 * DAY, every: 'day' as const },
];

function RefusalHistory({ buckets, telemetry }: { buckets: string[]; telemetry: boolean }) {
  const [range, setRange] = useState(1);
  const { span, every } = RANGES[range]!;
  // Whole hours or days, so the columns line up with the API's groups.
  const from = useMemo(() => {
    const unit = every === 'hour' ? HOUR : DAY;
    return Math.floor(Date.now() / unit) * unit + unit - span;
  }, [span, every]);
  const history = useQuotaHistory(from, every, telemetry);
  const labels = useMemo(() => {
    const unit = every === 'hour' ? HOUR : DAY;
    return Array.from({ length: Math.round(span / unit) }, (_, i) => new Date(from + i * unit).toISOString().slice(0, every === 'hour' ? 13 : 10).replace(/T(\d\d)$/, 'T$1:00'));
  }, [from, span, every]);
  const body = () => {
    if (!telemetry) return <Empty>Telemetry is off (keyway serve --telemetry off): refusals are not recorded, only counted in the log.</Empty>;
    if (history.error) return <Failed error={history.error} retry={history.reload} />;
    if (!history.data) return <Loading />;
    const refusedBy = new Map<string, Map<string, number>>();
    for (const row of history.data.rows) {
      if (row.refused === 0 || !buckets.includes(row.bucket)) continue;
      let m = refusedBy.get(row.bucket);
      if (!m) refusedBy.set(row.bucket, (m = new Map()));
      m.set(row.period, row.refused);
    }
    if (refusedBy.size === 0) return <Empty>No request was refused in this period.</Empty>;
    const series = [...refusedBy].map(([bucket, m]) => ({ label: bucket, values: labels.map((l) => m.get(l) ?? 0) }));
    return (
      <>
        <BarChart title="Refused requests per bucket" labels={labels} series={series} format={(n) => integer(Math.round(n))} />
        <p className="small muted">
          Refused in this period: {series.map((s) => `${s.label} ${integer(s.values.reduce((a, b) => a + b, 0))}`).join(', ')}
        </p>
      </>
    );
  };
  return (
    <Card
      title="Refusals over time"
      actions={
        <select value={range} onChange={(e) => setRange(Number(e.target.value))} aria-label="Period">
          {RANGES.map((r, i) => (
            <option key={r.label} value={i}>
              {r.label}
            </option>
          ))}
        </select>
      }
    >
      {body()}
    </Card>
  );
}
