// Per-request behaviour switches. They come from the `x-mock-scenario` header or from a
// `MOCK:<directives>` marker anywhere in the raw request body, because real CLIs can only
// smuggle instructions through the prompt. Parsing is a hand-written scan (no regexes) since
// it runs on every request, including 85 KB Claude Code bodies.

export interface Scenario {
  /** error=<status>: reply with that status in the format's error envelope. */
  error: number | undefined;
  /** tool / tool=<name>: answer with a tool call. */
  tool: boolean;
  toolName: string | undefined;
  /** chunks=<n>: number of stream deltas. */
  chunks: number | undefined;
  /** interval=<ms>: delay between SSE events. */
  intervalMs: number | undefined;
  /** slow=<ms>: delay before the response headers (replaces latencyMs). */
  slowMs: number | undefined;
  /** die-midstream: send about half the reply, then destroy the socket. */
  die: boolean;
  /** hang: never respond. */
  hang: boolean;
  /** gzip: gzip the body (SSE is sync-flushed after each event). */
  gzip: boolean;
  /** echo-headers: the reply text is the JSON of the received headers. */
  echoHeaders: boolean;
  /** cache-read=<n> / cache-write=<n>: report cached input tokens in usage. */
  cacheRead: number | undefined;
  cacheWrite: number | undefined;
}

/** Shared, frozen "nothing special" scenario: the fast path allocates nothing. */
export const NO_SCENARIO: Readonly<Scenario> = Object.freeze({
  error: undefined,
  tool: false,
  toolName: undefined,
  chunks: undefined,
  intervalMs: undefined,
  slowMs: undefined,
  die: false,
  hang: false,
  gzip: false,
  echoHeaders: false,
  cacheRead: undefined,
  cacheWrite: undefined,
});

const MARKER = 'MOCK:';
const MAX_CHUNKS = 100_000;

/** Characters allowed in a body directive: letters, digits, '=', ',', '-', '_'. */
function isDirectiveChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) || // a-z
    (c >= 65 && c <= 90) || // A-Z
    (c >= 48 && c <= 57) || // 0-9
    c === 61 || // =
    c === 44 || // ,
    c === 45 || // -
    c === 95 // _
  );
}

/**
 * The directive text of the LAST `MOCK:` marker in the body (the most recent prompt wins in a
 * multi-turn conversation; earlier turns still carry their own markers), or undefined.
 */
export function bodyDirective(body: string): string | undefined {
  const at = body.lastIndexOf(MARKER);
  if (at < 0) return undefined;
  const start = at + MARKER.length;
  let end = start;
  while (end < body.length && isDirectiveChar(body.charCodeAt(end))) end++;
  return end > start ? body.slice(start, end) : undefined;
}

function int(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : undefined;
}

function apply(sc: Scenario, spec: string): void {
  for (const raw of spec.split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).toLowerCase();
    const val = eq < 0 ? undefined : item.slice(eq + 1);
    switch (key) {
      case 'error': {
        const s = int(val);
        // Only real error statuses; anything else would make a "successful" error reply.
        if (s !== undefined && s >= 400 && s <= 599) sc.error = s;
        break;
      }
      case 'tool':
        sc.tool = true;
        if (val) sc.toolName = val;
        break;
      case 'chunks': {
        const n = int(val);
        if (n !== undefined) sc.chunks = Math.min(Math.max(n, 1), MAX_CHUNKS);
        break;
      }
      case 'interval':
        sc.intervalMs = int(val) ?? sc.intervalMs;
        break;
      case 'slow':
        sc.slowMs = int(val) ?? sc.slowMs;
        break;
      case 'cache-read':
        sc.cacheRead = int(val) ?? sc.cacheRead;
        break;
      case 'cache-write':
        sc.cacheWrite = int(val) ?? sc.cacheWrite;
        break;
      case 'die-midstream':
        sc.die = true;
        break;
      case 'hang':
        sc.hang = true;
        break;
      case 'gzip':
        sc.gzip = true;
        break;
      case 'echo-headers':
        sc.echoHeaders = true;
        break;
      default:
        // Unknown directives are ignored so prompts can mention "MOCK:" harmlessly.
        break;
    }
  }
}

/** Body directive first, then the header, so an explicit header wins on conflicts. */
export function parseScenario(header: string | string[] | undefined, body: string): Readonly<Scenario> {
  const fromBody = body.length >= MARKER.length ? bodyDirective(body) : undefined;
  const hdr = Array.isArray(header) ? header.join(',') : header;
  if (fromBody === undefined && !hdr) return NO_SCENARIO;
  const sc: Scenario = { ...NO_SCENARIO };
  if (fromBody !== undefined) apply(sc, fromBody);
  if (hdr) apply(sc, hdr);
  return sc;
}
