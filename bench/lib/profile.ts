/**
 * A summary of a V8 .cpuprofile (from `node --cpu-prof`): where the time went, by
 * function (self time), by area (keyway, undici, Node's http, GC, …), and the keyway
 * functions with the most time including what they call.
 */
import { readFile } from 'node:fs/promises';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  where: string;
  ms: number;
  percent: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Share of busy time (idle excluded) per area. */
  areas: Array<{ area: string; percent: number }>;
  /** Functions by self time. */
  self: HotSpot[];
  /** keyway's own functions by time including callees. */
  keywayInclusive: HotSpot[];
}

/** area puts a frame in a coarse bucket. */
function area(f: CallFrame): string {
  if (f.functionName === '(garbage collector)') return 'GC';
  if (f.functionName === '(program)' || f.functionName === '(root)') return 'V8/native (program)';
  if (f.url.includes('/node_modules/undici/')) return 'undici (upstream client)';
  if (f.url.includes('/node_modules/pino')) return 'pino (logging)';
  if (f.url.includes('/build/src/')) return 'keyway (build/src)';
  if (f.url.includes('/build/bench/')) return 'bench reference proxy (build/bench)';
  if (f.url.startsWith('node:')) return 'Node core (http, net, streams)';
  if (f.url === '') return 'native / builtins';
  return 'other';
}

function where(f: CallFrame): string {
  if (f.url === '') return '(native)';
  const src = f.url.indexOf('/build/src/');
  if (src >= 0) return `src/${f.url.slice(src + 11).replace(/\.js$/, '.ts')} (js line ${f.lineNumber + 1})`;
  const nm = f.url.lastIndexOf('/node_modules/');
  if (nm >= 0) return `${f.url.slice(nm + 14)}:${f.lineNumber + 1}`;
  return `${f.url.replace(/^file:\/\//, '')}:${f.lineNumber + 1}`;
}

/** summarizeProfile reads a .cpuprofile and reduces it to the top `top` entries. */
export async function summarizeProfile(file: string, top = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  let busyUs = 0;
  const areas = new Map<string, number>();
  const selfByFn = new Map<string, { f: CallFrame; us: number }>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame;
    if (f.functionName === '(idle)') continue;
    busyUs += us;
    areas.set(area(f), (areas.get(area(f)) ?? 0) + us);
    const key = `${f.functionName}@${f.url}:${f.lineNumber}`;
    const e = selfByFn.get(key) ?? { f, us: 0 };
    e.us += us;
    selfByFn.set(key, e);
  }
  const inclusive = keywayInclusive(profile, byId, selfUs);
  const spot = (f: CallFrame, us: number): HotSpot => ({
    name: f.functionName || '(anonymous)',
    where: where(f),
    ms: us / 1000,
    percent: (100 * us) / busyUs,
  });
  return {
    totalMs: busyUs / 1000,
    areas: [...areas].sort((a, b) => b[1] - a[1]).map(([a, us]) => ({ area: a, percent: (100 * us) / busyUs })),
    self: [...selfByFn.values()].sort((a, b) => b.us - a.us).slice(0, top).map((e) => spot(e.f, e.us)),
    keywayInclusive: [...inclusive.values()].sort((a, b) => b.us - a.us).slice(0, top).map((e) => spot(e.f, e.us)),
  };
}

/** Total time under each keyway function (a function counted once per stack). */
function keywayInclusive(profile: CpuProfile, byId: Map<number, ProfileNode>, selfUs: Map<number, number>): Map<string, { f: CallFrame; us: number }> {
  const out = new Map<string, { f: CallFrame; us: number }>();
  const root = profile.nodes[0];
  if (!root) return out;
  // Walk the tree once with the set of keyway functions on the current stack.
  const walk = (id: number, onStack: Set<string>): number => {
    const node = byId.get(id)!;
    const f = node.callFrame;
    const key = f.url.includes('/build/src/') ? `${f.functionName}@${f.url}:${f.lineNumber}` : undefined;
    const fresh = key !== undefined && !onStack.has(key);
    if (fresh) onStack.add(key);
    let total = selfUs.get(id) ?? 0;
    for (const c of node.children ?? []) total += walk(c, onStack);
    if (fresh) {
      onStack.delete(key);
      const e = out.get(key) ?? { f, us: 0 };
      e.us += total;
      out.set(key, e);
    }
    return total;
  };
  walk(root.id, new Set());
  return out;
}

/** formatProfile renders a summary as plain text. */
export function formatProfile(s: ProfileSummary): string {
  const lines = [`busy CPU time sampled: ${s.totalMs.toFixed(0)} ms`, '', 'by area:'];
  for (const a of s.areas) lines.push(`  ${a.percent.toFixed(1).padStart(5)} %  ${a.area}`);
  lines.push('', 'top functions by self time:');
  for (const h of s.self) lines.push(`  ${h.percent.toFixed(1).padStart(5)} %  ${h.name}  ${h.where}`);
  if (s.keywayInclusive.length > 0) {
    lines.push('', 'keyway functions by total time (including callees):');
    for (const h of s.keywayInclusive) lines.push(`  ${h.percent.toFixed(1).padStart(5)} %  ${h.name}  ${h.where}`);
  }
  return lines.join('\n');
}
