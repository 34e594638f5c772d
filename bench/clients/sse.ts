/**
 * The streaming client. It opens SSE streams against several targets at once, taking
 * turns (direct, keyway, nginx, direct, …) so that all targets share the machine at the
 * same moments, and times each stream with node:http:
 *   - time to first byte: request sent → first body bytes (the first event);
 *   - inter-event gap: arrival of one complete event → arrival of the next (events that
 *     arrive in the same read count as a gap of 0, and the one after pays the wait);
 *   - stalled: a stream with a gap above `stallMs`, or that did not finish in time.
 */
import { readFileSync } from 'node:fs';
import { summarize, type Summary } from '../lib/stats.js';
import type { Agent } from 'node:http';
import { emit, hrMs, keepAliveAgent, post, readSpec, type ClientTarget } from './io.js';

export interface SseSpec {
  targets: ClientTarget[];
  path: string;
  headers: Record<string, string>;
  bodyFile: string;
  /** Streams per target. */
  streams: number;
  /** Streams open at once, all targets together. */
  concurrency: number;
  /** The first `concurrency` streams start spread over this many ms. */
  rampMs: number;
  /** A gap longer than this marks the stream as stalled. */
  stallMs: number;
  /** Every stream must be over by then (ms from start); later ones count as stalled. */
  deadlineMs: number;
  /** Events a complete stream carries (including the final [DONE]). */
  expectEvents: number;
  /**
   * x-mock-scenario of unmeasured one-event streams sent first, enough to open every
   * keep-alive connection the run will use (client → proxy → mock); none when absent.
   */
  warmupScenario?: string;
  /** Start no new stream after this many ms (for runs of a fixed length); the rest are dropped. */
  stopStartingMs?: number;
  /** Leave out this many gaps at each end of every stream: APIs frame a stream with different events. */
  trimGaps?: number;
}

export interface SseTargetResult {
  ttfbMs: Summary;
  gapMs: Summary;
  durationMs: Summary;
  ok: number;
  stalled: number;
  incomplete: number;
  errors: number;
  firstError?: string;
  events: number;
  /** Most streams of this target open at the same time. */
  maxOpen: number;
}

export type SseResult = Record<string, SseTargetResult>;

interface Tally {
  ttfb: number[];
  gaps: number[];
  durations: number[];
  ok: number;
  stalled: number;
  incomplete: number;
  errors: number;
  firstError?: string;
  events: number;
  open: number;
  maxOpen: number;
}

function newTally(): Tally {
  return { ttfb: [], gaps: [], durations: [], ok: 0, stalled: 0, incomplete: 0, errors: 0, events: 0, open: 0, maxOpen: 0 };
}

async function main(): Promise<void> {
  const spec = readSpec<SseSpec>();
  const bodies = spec.targets.map((t) => readFileSync(t.bodyFile ?? spec.bodyFile));
  const headersOf = bodies.map((body) => ({ ...spec.headers, 'content-type': 'application/json', 'content-length': body.length, accept: 'text/event-stream' }));
  const tallies = spec.targets.map(newTally);
  const agents = spec.targets.map(() => keepAliveAgent(spec.concurrency));
  const jobs: number[] = [];
  for (let i = 0; i < spec.streams; i++) for (let t = 0; t < spec.targets.length; t++) jobs.push(t);
  if (spec.warmupScenario !== undefined) await warmUp(spec, agents, bodies, headersOf);
  const started = hrMs();
  const deadline = started + spec.deadlineMs;

  const worker = async (w: number): Promise<void> => {
    await new Promise((r) => setTimeout(r, (w * spec.rampMs) / spec.concurrency));
    for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
      if (spec.stopStartingMs !== undefined && hrMs() - started > spec.stopStartingMs) return;
      if (hrMs() > deadline) {
        tallies[job]!.incomplete++;
        continue;
      }
      const target = spec.targets[job]!;
      await stream(target.url + (target.path ?? spec.path), agents[job]!, headersOf[job]!, bodies[job]!, spec, tallies[job]!, deadline, target.endMarker);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, w) => worker(w)));
  for (const a of agents) a.destroy();

  const result: SseResult = {};
  spec.targets.forEach((t, i) => {
    const y = tallies[i]!;
    result[t.name] = {
      ttfbMs: summarize(y.ttfb),
      gapMs: summarize(y.gaps),
      durationMs: summarize(y.durations),
      ok: y.ok,
      stalled: y.stalled,
      incomplete: y.incomplete,
      errors: y.errors,
      ...(y.firstError ? { firstError: y.firstError } : {}),
      events: y.events,
      maxOpen: y.maxOpen,
    };
  });
  emit(result);
}

/** warmUp opens, per target, as many connections as the run will keep busy at once. */
async function warmUp(spec: SseSpec, agents: Agent[], bodies: Buffer[], headers: Array<Record<string, string | number>>): Promise<void> {
  const perTarget = Math.ceil(spec.concurrency / spec.targets.length) + 1;
  const warm = { ...spec, expectEvents: 0 };
  await Promise.all(
    spec.targets.flatMap((t, i) =>
      Array.from({ length: perTarget }, () => stream(t.url + (t.path ?? spec.path), agents[i]!, { ...headers[i]!, 'x-mock-scenario': spec.warmupScenario! }, bodies[i]!, warm, newTally(), hrMs() + 30_000)),
    ),
  );
}

/** A StreamProbe times the events of one stream and reports the outcome to a Tally, once. */
class StreamProbe {
  private readonly start = hrMs();
  /** This stream's gaps, added to the tally (trimmed) when it settles. */
  private readonly gaps: number[] = [];
  private last = 0;
  private events = 0;
  private maxGap = 0;
  /** Whether the previous read ended in '\n' (an event may end across two reads). */
  private newlineBefore = false;
  /** The last bytes seen, to check for the final `[DONE]`. */
  private tail = '';
  private settled = false;

  constructor(
    private readonly tally: Tally,
    private readonly spec: SseSpec,
    /** The text a complete stream ends with. */
    private readonly endMarker = '[DONE]',
  ) {
    tally.open++;
    tally.maxOpen = Math.max(tally.maxOpen, tally.open);
  }

  /** onData counts the events a read completes ("\n\n") and records the gaps. */
  onData(chunk: Buffer): void {
    const now = hrMs();
    let done = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === 0x0a && (i > 0 ? chunk[i - 1] === 0x0a : this.newlineBefore)) done++;
    }
    this.newlineBefore = chunk[chunk.length - 1] === 0x0a;
    if (this.last === 0) this.tally.ttfb.push(now - this.start);
    else if (done > 0) {
      const gap = now - this.last;
      if (gap > this.maxGap) this.maxGap = gap;
      this.gaps.push(gap);
      for (let k = 1; k < done; k++) this.gaps.push(0);
    }
    if (done > 0 || this.last === 0) this.last = now;
    this.events += done;
    this.tail = (this.tail + chunk.toString('latin1', Math.max(0, chunk.length - 64))).slice(-64);
  }

  /** settle records how the stream ended: 'end', 'stalled', or an error text. Later calls do nothing. */
  settle(outcome: string): boolean {
    if (this.settled) return false;
    this.settled = true;
    const y = this.tally;
    y.open--;
    y.events += this.events;
    const trim = this.spec.trimGaps ?? 0;
    for (let i = trim; i < this.gaps.length - trim; i++) y.gaps.push(this.gaps[i]!);
    if (outcome === 'end') {
      y.durations.push(hrMs() - this.start);
      if (this.events < this.spec.expectEvents || !this.tail.includes(this.endMarker)) y.incomplete++;
      else if (this.maxGap > this.spec.stallMs) y.stalled++;
      else y.ok++;
    } else if (outcome === 'stalled') {
      y.stalled++;
    } else {
      y.errors++;
      y.firstError ??= outcome;
    }
    return true;
  }
}

/** stream runs one SSE request to its end (or the deadline) and adds what it saw to `tally`. */
function stream(
  url: string,
  agent: Agent,
  headers: Record<string, string | number>,
  body: Buffer,
  spec: SseSpec,
  tally: Tally,
  deadline: number,
  endMarker?: string,
): Promise<void> {
  return new Promise((resolve) => {
    const probe = new StreamProbe(tally, spec, endMarker);
    let timer: NodeJS.Timeout | undefined;
    const settle = (outcome: string) => {
      clearTimeout(timer);
      if (probe.settle(outcome)) resolve();
    };
    post(url, agent, headers, body, Math.max(1000, deadline - hrMs()), (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return settle(`HTTP ${res.statusCode}`);
      }
      timer = setTimeout(() => {
        settle('stalled');
        res.destroy();
      }, Math.max(0, deadline - hrMs()));
      res.on('data', (chunk: Buffer) => probe.onData(chunk));
      res.on('end', () => settle('end'));
      res.on('error', (err) => settle(err.message));
      res.on('close', () => settle('connection closed before the end of the stream'));
    }, (err) => settle(err.message));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
