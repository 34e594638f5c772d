import { useEffect, useRef, useState } from 'react';

/**
 * BarChart: a stacked bar chart in plain SVG (no chart library: a few hundred bytes of
 * code instead of tens of kilobytes). One bar per x label, one colour per series; each
 * segment has a tooltip. The same numbers are a table: for screen readers always, and
 * for everyone a click away (the "Table" toggle shows it in place of the bars).
 */
export const PALETTE = ['#3b6fe0', '#e07b39', '#2e9e6a', '#b455c7', '#d4a019', '#d24c61', '#2aa3b8', '#7b8794'];

export interface Series {
  label: string;
  values: number[];
}

interface Props {
  title: string;
  labels: string[];
  series: Series[];
  format: (n: number) => string;
  height?: number;
  /** The heading of the table's first column (what the x labels are). */
  labelHeader?: string;
}

const PAD = { top: 10, right: 8, bottom: 24, left: 64 };

export default function BarChart({ title, labels, series, format, height = 220, labelHeader = 'Day' }: Props) {
  const [asTable, setAsTable] = useState(false);
  // Drawn at the element's real width, so text keeps its size at any card width.
  const [W, setW] = useState(640);
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => entry && setW(Math.max(240, Math.round(entry.contentRect.width))));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const { max, ticks } = scale(Math.max(0, ...totals));
  const plotW = W - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const step = labels.length > 0 ? plotW / labels.length : plotW;
  const barW = Math.max(2, Math.min(36, step * 0.7));
  const y = (v: number) => PAD.top + plotH - (max === 0 ? 0 : (v / max) * plotH);
  const labelEvery = Math.max(1, Math.ceil(labels.length / Math.max(2, Math.floor(plotW / 56))));

  // The visible table adds a total per row; the screen readers' one stays the chart's own numbers.
  const table = (withTotal: boolean) => (
    <table>
      <caption className={asTable ? 'sr-only' : undefined}>{title}</caption>
      <thead>
        <tr>
          <th>{labelHeader}</th>
          {series.map((s) => (
            <th key={s.label} className="num">
              {s.label}
            </th>
          ))}
          {withTotal && series.length > 1 && <th className="num">Total</th>}
        </tr>
      </thead>
      <tbody>
        {labels.map((label, i) => (
          <tr key={label}>
            <td>{label}</td>
            {series.map((s) => (
              <td key={s.label} className="num">
                {format(s.values[i] ?? 0)}
              </td>
            ))}
            {withTotal && series.length > 1 && <td className="num">{format(totals[i] ?? 0)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );

  return (
    <figure className="chart-figure" style={{ margin: 0 }} ref={ref}>
      <div className="chart-toggle">
        <button type="button" className="btn btn-ghost btn-small" aria-pressed={asTable} onClick={() => setAsTable(!asTable)} title={asTable ? 'Show the chart' : 'Show the numbers as a table'}>
          {asTable ? 'Chart' : 'Table'}
        </button>
      </div>
      {asTable ? (
        <div className="table-wrap chart-table" data-testid="chart-table">
          {table(true)}
        </div>
      ) : (
        <>
          <svg className="chart" width={W} height={height} viewBox={`0 0 ${W} ${height}`} role="img" aria-label={title}>
            {ticks.map((t) => (
              <g key={t}>
                <line className="grid" x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} />
                <text x={PAD.left - 6} y={y(t) + 4} textAnchor="end">
                  {format(t)}
                </text>
              </g>
            ))}
            {labels.map((label, i) => {
              let base = 0;
              const x = PAD.left + i * step + (step - barW) / 2;
              return (
                <g key={label}>
                  {series.map((s, j) => {
                    const v = s.values[i] ?? 0;
                    if (v <= 0) return null;
                    const top = y(base + v);
                    const h = y(base) - top;
                    base += v;
                    return (
                      <rect key={s.label} x={x} y={top} width={barW} height={Math.max(h, 0.5)} fill={PALETTE[j % PALETTE.length]} rx={1.5}>
                        <title>{`${label} · ${s.label}: ${format(v)}`}</title>
                      </rect>
                    );
                  })}
                  {i % labelEvery === 0 && (
                    <text x={x + barW / 2} y={height - 6} textAnchor="middle">
                      {label.slice(5)}
                    </text>
                  )}
                </g>
              );
            })}
          </svg>
          {/* Named even when alone: an unnamed bar does not say which model it is. */}
          {series.length > 0 && (
            <ul className="legend" aria-hidden="true">
              {series.map((s, j) => (
                <li key={s.label}>
                  <span className="swatch" style={{ background: PALETTE[j % PALETTE.length] }} />
                  {s.label}
                </li>
              ))}
            </ul>
          )}
          {/* In a box: a table is never narrower than its content, so it cannot be the 1 px sr-only box itself. */}
          <div className="sr-only">{table(false)}</div>
        </>
      )}
    </figure>
  );
}

/** scale picks a round tick step (1, 2 or 5 times a power of ten) and the ticks up to the maximum. */
function scale(v: number): { max: number; ticks: number[] } {
  if (v <= 0) return { max: 0, ticks: [0] };
  const rough = v / 4;
  const p = 10 ** Math.floor(Math.log10(rough));
  const f = rough / p;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  const n = Math.ceil(v / step - 1e-9);
  return { max: n * step, ticks: Array.from({ length: n + 1 }, (_, i) => i * step) };
}
