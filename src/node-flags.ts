/**
 * The Node.js flags keyway is started with: the `keyway` command's first line, the
 * package's `start` and `demo` scripts and the commands in docs/operations.md carry them
 * (test/node-flags.test.ts keeps them in step).
 *
 * `--max-semi-space-size=32`: V8's young generation at 32 MB a semi-space instead of 16.
 * With telemetry on, each request allocates its record, capture and the answer's parse;
 * with the default nursery a scavenge runs about every 400 requests at full load and
 * promotes what is still in flight into the old generation, whose marking then runs beside
 * the requests. Twice the nursery halves the scavenges and what they promote: at max load
 * recording's cost fell from 34-42 to 22-30 µs of CPU a request (docs/performance.md,
 * 2026-12-04), for about 30 MB more peak RSS under 1,000 open streams. V8 reads the size
 * when the process starts; it cannot be changed from inside.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];

/** youngGenerationSized says whether this process was started with a semi-space size of its own (command line or NODE_OPTIONS). */
export function youngGenerationSized(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => /^--max[-_]semi[-_]space[-_]size(=|$)/.test(a));
}
