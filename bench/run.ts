/**
 * `npm run bench`: keyway's benchmark suite. It starts a mock upstream, keyway and (when
 * installed) nginx, each in its own process on 127.0.0.1, measures every scenario direct
 * and through keyway in the same run, prints one table and writes bench/results/latest.json
 * and latest.md. See docs/performance.md for the method and the latest numbers.
 */
import { consoleTable, machineLines, writeReport } from './lib/report.js';
import { parseOptions, USAGE } from './lib/args.js';
import { createContext } from './lib/context.js';
import { cpuMark, otherCpuPercent } from './lib/cpu-watch.js';
import { busyPercent, describeMachine } from './lib/machine.js';
import { killAll } from './lib/procs.js';
import type { Options, Row, Scenario } from './lib/types.js';
import { SCENARIOS } from './scenarios/index.js';

/** Above this share of CPU used by other programs during a scenario, its rows say so. */
const NOISY_PERCENT = 5;

/** select returns the scenarios to run, in registry order; it throws on unknown names. */
function select(opts: Options): Scenario[] {
  const names = new Set(SCENARIOS.map((s) => s.name));
  for (const n of [...opts.only, ...opts.skip]) if (!names.has(n)) throw new Error(`unknown scenario "${n}"; --list shows them`);
  return SCENARIOS.filter((s) => {
    if (opts.skip.includes(s.name)) return false;
    if (opts.only.length > 0) return opts.only.includes(s.name);
    return !s.optIn || (s.name === 'profile' && opts.profile);
  });
}

async function main(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (opts.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(14)} ${s.title}${s.optIn ? '  (opt-in)' : ''}\n`);
    return 0;
  }
  const chosen = select(opts);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const busy = await busyPercent();
  const started = performance.now();
  const ctx = await createContext(opts, log);
  const machine = describeMachine(ctx.load.tool, ctx.nginxBin, busy);
  log(`keyway bench: ${chosen.map((s) => s.name).join(', ')}`);
  log(machineLines(machine).replace(/^- /gm, '  '));
  if (!ctx.nginxBin) log(opts.nginx ? '  nginx is not installed: no nginx reference (apt-get install -y nginx)' : '  nginx reference disabled (--no-nginx)');
  if (busy > 10) log(`  warning: other programs kept ${busy.toFixed(0)} % of the CPUs busy before the run; expect noisy figures`);
  if (ctx.load.tool === 'autocannon') log('  wrk is not installed: using autocannon, which needs more CPU (apt-get install -y wrk)');

  const rows: Row[] = [];
  const timings: Record<string, number> = {};
  const otherCpu: Record<string, number> = {};
  try {
    for (const s of chosen) {
      const t0 = performance.now();
      const mark = cpuMark();
      log(`\n▶ ${s.name}: ${s.title}`);
      let produced: Row[];
      try {
        produced = await s.run(ctx);
      } catch (err) {
        log(`  ${s.name} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
        produced = [{ scenario: s.title, measure: '–', unit: '', target: '–', status: 'failed', note: firstLine(err) }];
      }
      timings[s.name] = (performance.now() - t0) / 1000;
      otherCpu[s.name] = otherCpuPercent(mark, cpuMark());
      log(`  (${timings[s.name]!.toFixed(1)} s; other programs used ${otherCpu[s.name]!.toFixed(0)} % of the CPUs meanwhile)`);
      if (otherCpu[s.name]! > NOISY_PERCENT) {
        const warning = `other programs used ${otherCpu[s.name]!.toFixed(0)} % of the CPUs during this scenario: figures are unreliable`;
        for (const r of produced) r.note = r.note ? `${r.note}; ${warning}` : warning;
      }
      rows.push(...produced);
    }
  } finally {
    await ctx.close();
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`\n${consoleTable(rows)}\n`);
  const files = await writeReport({ machine, options: opts, seconds, rows, extra: { scenarioSeconds: timings, otherCpuPercent: otherCpu } });
  process.stdout.write(`\nwhole run ${seconds.toFixed(0)} s; wrote ${files.join(', ')}\n`);
  return rows.some((r) => r.status === 'failed') ? 1 : 0;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 200);
}

// Children must not outlive the runner, whatever ends it.
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  },
);
