/**
 * The reporter: one table on the console, and bench/results/latest.json (every figure,
 * per repeat) plus latest.md (the table and the machine) for docs/performance.md.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Machine } from './machine.js';
import { RESULTS_DIR } from './paths.js';
import type { Options, Row, Status } from './types.js';

const HEADINGS = ['scenario', 'measure', 'direct', 'keyway', 'nginx', 'bare node', 'added', 'kw/direct', 'kw/nginx', 'target', 'result'];
/** Columns 2 to LAST_NUMERIC hold numbers and are right-aligned. */
const LAST_NUMERIC = 8;

const STATUS_TEXT: Record<Status, string> = {
  meets: 'meets',
  misses: 'MISSES',
  info: 'info',
  pending: 'pending',
  skipped: 'skipped',
  failed: 'FAILED',
};

/** formatValue prints a number in its unit with sensible precision ('–' when absent). */
export function formatValue(v: number | undefined, unit: string): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  switch (unit) {
    case 'ms':
      return `${v.toFixed(Math.abs(v) < 10 ? 3 : 1)} ms`;
    case 'req/s':
      return `${Math.round(v).toLocaleString('en-US')}/s`;
    case 'MB':
      return `${v.toFixed(1)} MB`;
    case 'µs/KB':
      return `${v.toFixed(2)} µs/KB`;
    case 'µs':
      return `${v.toFixed(1)} µs`;
    case '%':
      return `${v.toFixed(1)} %`;
    case 's':
      return `${v.toFixed(2)} s`;
    default:
      return unit ? `${Math.round(v).toLocaleString('en-US')} ${unit}` : String(Math.round(v));
  }
}

function ratio(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? '–' : `${v.toFixed(2)}×`;
}

function cells(r: Row): string[] {
  return [
    r.scenario,
    r.measure,
    formatValue(r.direct, r.unit),
    formatValue(r.keyway, r.unit),
    formatValue(r.nginx, r.unit),
    formatValue(r.bare, r.unit),
    formatValue(r.added, r.unit),
    ratio(r.ratio),
    ratio(r.vsNginx),
    r.target,
    STATUS_TEXT[r.status],
  ];
}

/** consoleTable renders the rows as an aligned text table, notes numbered below it. */
export function consoleTable(rows: readonly Row[]): string {
  const notes: string[] = [];
  const body = rows.map((r) => {
    const c = cells(r);
    if (r.note) {
      notes.push(r.note);
      c[c.length - 1] += ` [${notes.length}]`;
    }
    return c;
  });
  const all = [HEADINGS, ...body];
  const widths = HEADINGS.map((_, i) => Math.max(...all.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i >= 2 && i <= LAST_NUMERIC ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line(HEADINGS), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  notes.forEach((n, i) => out.push(`[${i + 1}] ${n}`));
  return out.join('\n');
}

/** markdownTable renders the rows as a Markdown table with a notes column. */
export function markdownTable(rows: readonly Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const head = [...HEADINGS, 'notes'];
  const out = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i >= 2 && i <= LAST_NUMERIC ? '---:' : '---')).join('|')}|`];
  for (const r of rows) out.push(`| ${[...cells(r), r.note ?? ''].map(esc).join(' | ')} |`);
  return out.join('\n');
}

/** machineLines describes the machine in a few lines of Markdown. */
export function machineLines(m: Machine): string {
  return [
    `- date: ${m.date}, commit ${m.commit}`,
    `- CPU: ${m.cpus} × ${m.cpuModel}; memory ${m.memoryGb} GiB; Linux ${m.kernel}`,
    `- Node ${m.node}; load generator ${m.loadgen}; nginx ${m.nginx}`,
    `- CPU in use by other programs just before the run: ${m.busyBeforePercent.toFixed(0)} %`,
  ].join('\n');
}

export interface Report {
  machine: Machine;
  options: Options;
  seconds: number;
  rows: Row[];
  extra: Record<string, unknown>;
}

/** writeReport writes latest.json and latest.md and returns their paths. */
export async function writeReport(report: Report): Promise<string[]> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const json = join(RESULTS_DIR, 'latest.json');
  const md = join(RESULTS_DIR, 'latest.md');
  await writeFile(json, `${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`);
  const text = [
    '# keyway benchmark: latest run',
    '',
    machineLines(report.machine),
    `- options: repeat ${report.options.repeat}, load runs ${report.options.loadSeconds} s, soak ${report.options.soakSeconds} s${report.options.quick ? ', --quick' : ''}; whole run ${Math.round(report.seconds)} s`,
    '',
    markdownTable(report.rows),
    '',
  ].join('\n');
  await writeFile(md, text);
  return [json, md];
}
