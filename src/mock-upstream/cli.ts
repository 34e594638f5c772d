// Command-line entry: `node build/src/mock-upstream/cli.js --port 18080` (or call
// mockUpstreamMain from another CLI). Runs until SIGINT/SIGTERM, then closes cleanly.

import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { startMockUpstream } from './server.js';
import type { MockUpstreamOptions } from './types.js';

/** MOCK_UPSTREAM_USAGE is the mock's help text (`keyway mock-upstream --help`). */
export const MOCK_UPSTREAM_USAGE = `usage: keyway mock-upstream [flags]

A local imitation of the Anthropic, OpenAI and Gemini APIs (docs/operations.md#the-mock-upstream).
Keys are checked by prefix as the real APIs would: Anthropic sk-ant-…, OpenAI sk-…,
Google AIza…; a key containing "invalid" or "wrong" always gets the provider's 401.

  --host H               interface to listen on (default 127.0.0.1)
  --port P               port (default 0: a free one, printed on start)
  --latency-ms MS        delay before every answer's headers (default 0)
  --chunks N             text deltas per streamed answer (default 3)
  --chunk-interval-ms MS pause between stream events (default 0)
  --response-bytes N     pad answers to about N bytes
  --accept-any-key       accept keys whatever their prefix (marked keys are still refused)
  --vertex-keyfile FILE  write a keyfile:: apikey whose token_uri is this mock
  --no-record            do not keep received requests in memory (long runs, benchmarks)
  --quiet, -q            no line per request
  --help, -h             this text`;

const NUMERIC: Record<string, keyof MockUpstreamOptions> = {
  '--port': 'port',
  '--latency-ms': 'latencyMs',
  '--chunks': 'chunks',
  '--chunk-interval-ms': 'chunkIntervalMs',
  '--response-bytes': 'responseBytes',
};

export function parseMockUpstreamArgs(argv: string[]): { opts: MockUpstreamOptions; quiet: boolean; help: boolean; vertexKeyfile?: string } {
  const opts: MockUpstreamOptions = {};
  let vertexKeyfile: string | undefined;
  let quiet = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${name} needs a value`);
      return v;
    };
    if (name === '--help' || name === '-h') help = true;
    else if (name === '--quiet' || name === '-q') quiet = true;
    else if (name === '--no-record') opts.record = false;
    else if (name === '--accept-any-key') opts.acceptAnyKey = true;
    else if (name === '--host') opts.host = value();
    else if (name === '--vertex-keyfile') vertexKeyfile = value();
    else if (name in NUMERIC) {
      const raw = value();
      const n = Number(raw);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: not a non-negative number: ${raw}`);
      (opts as Record<string, unknown>)[NUMERIC[name]!] = n;
    } else throw new Error(`unknown argument: ${arg}`);
  }
  return { opts, quiet, help, vertexKeyfile };
}

export async function mockUpstreamMain(argv: string[]): Promise<void> {
  const { opts, quiet, help, vertexKeyfile } = parseMockUpstreamArgs(argv);
  if (help) {
    process.stdout.write(`${MOCK_UPSTREAM_USAGE}\n`);
    return;
  }
  if (!quiet) opts.log = (line) => process.stdout.write(`${line}\n`);
  const mock = await startMockUpstream(opts);
  process.stdout.write(`mock upstream listening on ${mock.url}\n`);
  if (vertexKeyfile !== undefined) {
    // A service account of this mock (test material): the whole file is a provider apikey.
    await writeFile(vertexKeyfile, mock.oauth.issueKeyfile().apikey, { mode: 0o600 });
    process.stdout.write(`vertex keyfile:: apikey written to ${vertexKeyfile}\n`);
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void mock.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

// Run directly (not when imported by the main CLI or by tests).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  mockUpstreamMain(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${MOCK_UPSTREAM_USAGE}\n`);
    process.exitCode = 2;
  });
}
