/** Command-line flags of `npm run bench -- [flags]` and their defaults. */
import { parseArgs } from 'node:util';
import type { Options } from './types.js';

export const USAGE = `usage: npm run bench -- [flags]      (or: node build/bench/run.js [flags])

  --only NAME[,NAME]    run only these scenarios (--list shows them); repeatable
  --skip NAME[,NAME]    leave these scenarios out; repeatable
  --quick               one repeat, short runs, 15 s soak: a smoke test, not a measurement
  --repeat N            repeats per measurement, the table shows medians (default 3)
  --seconds N           length of each load-generator run (default 3; max-load: half)
  --soak                run the full 10-minute soak (default run: 60 s)
  --soak-minutes N      soak for N minutes (0 skips the soak)
  --no-soak             skip the soak
  --loadgen TOOL        auto | wrk | autocannon (default auto: wrk when installed)
  --no-nginx            leave out the nginx reference even when nginx is installed
  --profile             also profile keyway at max load (same as adding --only profile)
  --list                list the scenarios and exit
  --help                this text
`;

const DEFAULT_SOAK_S = 60;
const FULL_SOAK_S = 600;
const QUICK_SOAK_S = 15;

/** parseOptions turns argv into Options; it throws on unknown flags or bad values. */
export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: 'string', multiple: true },
      skip: { type: 'string', multiple: true },
      quick: { type: 'boolean' },
      repeat: { type: 'string' },
      seconds: { type: 'string' },
      soak: { type: 'boolean' },
      'soak-minutes': { type: 'string' },
      'no-soak': { type: 'boolean' },
      loadgen: { type: 'string' },
      'no-nginx': { type: 'boolean' },
      profile: { type: 'boolean' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const quick = values.quick ?? false;
  const loadgen = values.loadgen ?? 'auto';
  if (loadgen !== 'auto' && loadgen !== 'wrk' && loadgen !== 'autocannon') throw new Error(`--loadgen must be auto, wrk or autocannon, not "${loadgen}"`);
  let soakSeconds = quick ? QUICK_SOAK_S : DEFAULT_SOAK_S;
  if (values.soak) soakSeconds = FULL_SOAK_S;
  if (values['soak-minutes'] !== undefined) soakSeconds = Math.round(number('--soak-minutes', values['soak-minutes'], 0, 24 * 60) * 60);
  if (values['no-soak']) soakSeconds = 0;
  const only = list(values.only);
  if (values.profile && !only.includes('profile')) only.push(...(only.length ? ['profile'] : []));
  return {
    only,
    skip: list(values.skip),
    quick,
    repeat: values.repeat !== undefined ? number('--repeat', values.repeat, 1, 50) : quick ? 1 : 3,
    loadSeconds: values.seconds !== undefined ? number('--seconds', values.seconds, 1, 600) : quick ? 2 : 3,
    soakSeconds,
    loadgen,
    nginx: !values['no-nginx'],
    profile: values.profile ?? false,
    list: values.list ?? false,
    help: values.help ?? false,
  };
}

function list(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

function number(flag: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${flag} must be a number from ${min} to ${max}, not "${raw}"`);
  return n;
}
