/**
 * Turning repeated measurements into table rows. Each repeat measures every target side
 * by side; the row shows the median over repeats of each target's value, and the median
 * of the per-repeat differences (keyway − direct) and ratios (keyway / direct, keyway /
 * nginx), since a pair measured together is a better comparison than two medians.
 */
import { median, spread } from './stats.js';
import type { Row, Status, TargetName } from './types.js';

/** PerRepeat holds one value per repeat for each target that was measured. */
export type PerRepeat = Partial<Record<TargetName, number[]>>;

/** Comparison is the medians that make up a row. */
export interface Comparison {
  direct?: number;
  keyway?: number;
  nginx?: number;
  bare?: number;
  /** claude-code-router, the translation scenario's peer (no column of its own: see translation.ts). */
  ccr?: number;
  added?: number;
  ratio?: number;
  vsNginx?: number;
  /** Smallest and largest per-repeat difference, to judge the noise. */
  addedSpread?: [number, number];
}

/** compare reduces per-repeat values to medians, differences and ratios. */
export function compare(p: PerRepeat): Comparison {
  const out: Comparison = {};
  if (p.direct?.length) out.direct = median(p.direct);
  if (p.keyway?.length) out.keyway = median(p.keyway);
  if (p.nginx?.length) out.nginx = median(p.nginx);
  if (p.bare?.length) out.bare = median(p.bare);
  if (p.ccr?.length) out.ccr = median(p.ccr);
  if (p.direct?.length && p.keyway?.length) {
    const added = p.keyway.map((v, i) => v - p.direct![i]!);
    out.added = median(added);
    out.addedSpread = spread(added);
    out.ratio = median(p.keyway.map((v, i) => v / p.direct![i]!));
  }
  if (p.nginx?.length && p.keyway?.length) out.vsNginx = median(p.keyway.map((v, i) => v / p.nginx![i]!));
  return out;
}

export interface RowHead {
  scenario: string;
  measure: string;
  unit: string;
  target: string;
}

/**
 * compareRow builds a row from per-repeat values; `judge` decides the status from the
 * comparison (true: meets, false: misses, or a Status such as 'info').
 */
export function compareRow(head: RowHead, p: PerRepeat, judge: (c: Comparison) => boolean | Status, note?: string): Row {
  const c = compare(p);
  const verdict = judge(c);
  const status: Status = verdict === true ? 'meets' : verdict === false ? 'misses' : verdict;
  // The peer has no column; its figures stay in `detail`.
  const { addedSpread, ccr: _ccr, ...values } = c;
  return {
    ...head,
    ...values,
    status,
    ...(note ? { note } : {}),
    detail: { perRepeat: p, ...(addedSpread ? { addedSpread } : {}) },
  };
}

/** pendingRow is the row of a measure whose capability has not landed yet. */
export function pendingRow(scenario: string, measure: string, target: string, issue: string): Row {
  return { scenario, measure, unit: '', target, status: 'pending', note: `pending (${issue})` };
}

/** push appends `value` to `p[name]`, creating the list. */
export function push(p: PerRepeat, name: TargetName, value: number): void {
  (p[name] ??= []).push(value);
}
