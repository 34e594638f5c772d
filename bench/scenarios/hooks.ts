/**
 * Hooks on vs off. The guardrail: a gateway whose grant wires one pre_request hook that
 * answers after 1 ms (a timer in its own process, bench/reference/delay-hook.ts) against
 * one without hooks, side by side; "added" is the 1 ms answer plus keyway's call around
 * it, and a row for the hook alone gives keyway's share.
 *
 * The event hook (entire_request, sent the request, the reassembled answer, the tool
 * calls and the cost: an audit feed) adds a few µs to the request path, less than two
 * gateway processes differ from each other by (memory layout, JIT history: an identical
 * twin read +30 µs in one quiet run), and less than the machine's speed drifts over the
 * seconds of a round. So the target's row is measured in one process with one
 * configuration: three callers, told apart by tailscale serve's identity headers, whose
 * grants are the same but for `send_hooks` on one, take turns in runs of 8 requests
 * (clients/paired.ts). Two callers without the hook give the floor (it reads 0 ± 5 µs).
 * Background work (the events thread, the hook server, here on the same two cores) slows
 * all three callers alike, so that row is the request path's own cost.
 *
 * What a client sees with that background work, the rounds rows: one gateway's
 * configuration is switched through the admin API between rounds without hooks and rounds
 * with the event hook, in the order ABBA, and "added" is the median of the pairs'
 * differences. One client process runs all the rounds and makes the switches itself
 * (clients/alternate.ts), 40 short rounds of each; a floor row switches to the same
 * configuration but for a comment. Their pairs' differences spread by ±40 µs, so they
 * are information, not the verdict. On this machine the hook server shares the two cores
 * with the client, keyway and the mock (in a deployment it is elsewhere), so the event is
 * measured three ways: a hook server on Node's `http` at normal priority, the same at nice
 * 19, and the cheapest hook server there is (bench/reference/event-sink.ts: raw TCP, a
 * native collector's cost).
 * Each row says what the variant cost in CPU a request: keyway's main thread, its other
 * threads (the events thread) and the hook server. Rows for an event on the request
 * thread in process and for CPU per request at full load explain the figures.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { compileSnapshot } from '../../src/config/snapshot.js';
import { validateConfigText } from '../../src/config/validate.js';
import { openaiChat } from '../../src/formats/openai-chat.js';
import { QuotaLedger } from '../../src/governance/ledger.js';
import { Quotas } from '../../src/governance/quotas.js';
import { DEFAULT_HOOK_SETTINGS, Hooks } from '../../src/hooks/hooks.js';
import { LOCAL_OWNER } from '../../src/identity/identity.js';
import { createLogger } from '../../src/log.js';
import type { TapResult } from '../../src/telemetry/tap.js';
import { BENCH_MODEL, chatBody } from '../lib/bodies.js';
import { CAP, keywayConfig } from '../lib/keyway-config.js';
import { compareRow, push, type PerRepeat } from '../lib/compare.js';
import { alternate, latency, paired } from '../lib/measure.js';
import { BUILD_DIR } from '../lib/paths.js';
import { findExecutable, freePort, readThreadCpu, startService } from '../lib/procs.js';
import { median, percentile } from '../lib/stats.js';
import type { BenchContext, Row, Scenario, Service } from '../lib/types.js';
import { cpuPerRequest, type CpuPerRequest } from './telemetry.js';

const PRE_TARGET_MS = 1.5;
const ASYNC_TARGET_US = 20;
const GUARDRAIL_DELAY_MS = 1;

export const hooksScenario: Scenario = {
  name: 'hooks',
  title: 'hooks off vs a 1 ms guardrail vs an event hook',
  async run(ctx) {
    const started: Service[] = [];
    const hookServer = async (delayMs: number, nice?: string, script = 'delay-hook.js') => {
      const port = await freePort();
      const args = [join(BUILD_DIR, 'bench', 'reference', script), String(port), String(delayMs)];
      const s = nice
        ? await startService(`hook-${delayMs}ms-nice`, nice, ['-n', '19', process.execPath, ...args], port)
        : await startService(`hook-${delayMs}ms`, process.execPath, args, port);
      started.push(s);
      return s;
    };
    try {
      const guard = await hookServer(GUARDRAIL_DELAY_MS);
      const audit = await hookServer(0);
      const shape = { models: 1, grants: 1, priced: true };
      const off = await ctx.startKeyway({ shape });
      started.push(off);
      const pre = await ctx.startKeyway({ shape: { ...shape, hooks: [{ id: 'guard', url: `${guard.url}/check`, events: ['pre_request'], send: ['user_message'] }] } });
      started.push(pre);
      const auditHook = (url: string) => ({ ...shape, hooks: [{ id: 'audit', url: `${url}/events`, events: ['entire_request'], send: ['request_body', 'response_body', 'tools', 'estimated_cost'] }] });
      // The same event hook answered by a hook server at the lowest priority: its CPU, which
      // on this machine shares the two cores with the client, keyway and the mock, yields to
      // theirs, as a hook server on another machine would not compete at all.
      const niceBin = findExecutable('nice');
      const auditNice = niceBin ? await hookServer(0, niceBin) : undefined;
      const sink = await hookServer(0, undefined, 'event-sink.js');
      // One gateway for every event row: its configuration is switched between rounds, so
      // "without" and "with" are the same process (the same memory layout, the same JIT
      // state, the same history), which two processes side by side are not.
      const withoutHooks = keywayConfig(ctx.mock.url, shape);
      const ab = await ctx.startKeyway({ configText: withoutHooks });
      started.push(ab);
      // For CPU per request at full load, a gateway of its own with the event hook.
      const events = await ctx.startKeyway({ shape: auditHook(audit.url) });
      started.push(events);

      const repeats = Math.max(ctx.opts.repeat, ctx.opts.quick ? 1 : 5);
      const requests = ctx.opts.quick ? 500 : 2000;
      // The guardrail against the gateway without hooks, side by side (its 1 ms dwarfs any
      // difference between two processes).
      const guardrail = { p50: {} as PerRepeat, p99: {} as PerRepeat };
      for (let r = 0; r < repeats; r++) {
        const targets = [
          { name: 'direct' as const, url: off.url },
          { name: 'keyway' as const, url: pre.url },
        ];
        const res = await latency(ctx, { targets, bodyBytes: 1024, warmup: r > 0 ? 200 : ctx.opts.quick ? 300 : 1500, requests });
        for (const t of targets) {
          push(guardrail.p50, t.name, res[t.name]!.ms.p50);
          push(guardrail.p99, t.name, res[t.name]!.ms.p99);
        }
      }
      // Many short rounds in one client process (clients/alternate.ts): the machine's speed drifts over seconds.
      const rounds = ctx.opts.quick ? 10 : 40;
      const roundRequests = ctx.opts.quick ? 200 : 400;
      await alternateRounds(ctx, ab, withoutHooks, keywayConfig(ctx.mock.url, auditHook(audit.url)), { rounds: 1, requests: ctx.opts.quick ? 300 : 1500 }); // warms up, starts the events thread
      const against = (text: string, hook?: Service) => alternateRounds(ctx, ab, withoutHooks, text, { rounds, requests: roundRequests, hook });
      // The floor: the same configuration but for a comment, a change that adds nothing.
      const floor = await against(`${withoutHooks}\n// the floor: nothing changes\n`);
      const event = await against(keywayConfig(ctx.mock.url, auditHook(audit.url)), audit);
      const eventNice = auditNice ? await against(keywayConfig(ctx.mock.url, auditHook(auditNice.url)), auditNice) : undefined;
      const eventSink = await against(keywayConfig(ctx.mock.url, auditHook(sink.url)), sink);
      await alternateRounds(ctx, ab, `${withoutHooks}\n// back to no hooks\n`, withoutHooks, { rounds: 1, requests: 10 });
      // The request path alone: one gateway, one configuration, callers taking turns (clients/paired.ts).
      const callers = await ctx.startKeyway({ configText: callersConfig(ctx.mock.url, audit.url), serveArgs: ['--identity', 'serve-headers'] });
      started.push(callers);
      const turns = await paired(ctx, {
        url: callers.url,
        bodyBytes: 1024,
        sides: Object.fromEntries(Object.entries(CALLERS).map(([side, login]) => [side, { 'tailscale-user-login': login }])),
        warmup: ctx.opts.quick ? 300 : 1500,
        runLength: PAIRED_RUN,
        runs: ctx.opts.quick ? 300 : 3000,
        chunks: 20,
      });
      await callers.stop();
      const byChunk = (side: keyof typeof CALLERS, pick: 'chunkP50' | 'chunkP99') => turns.sides[side]![pick].map((ms) => ms * 1000);
      const turnsOf = (side: keyof typeof CALLERS, pick: 'chunkP50' | 'chunkP99'): PerRepeat => ({ direct: byChunk('plain', pick), keyway: byChunk(side, pick) });
      const turnsNote = `values in µs; one gateway, one configuration, three callers (tailscale serve's identity headers) whose grants differ only by the event hook: "direct" is the caller without it, "keyway" the caller with it; the callers take turns in runs of ${PAIRED_RUN} requests (the first of each run not counted), ${turns.sides.plain!.n} counted requests each, c=1; "added" is the median over 20 slices in time order of the difference of the slices' p50s; over all requests ${((turns.sides.hooked!.p50 - turns.sides.plain!.p50) * 1000).toFixed(1)} µs; the events thread and the hook server run meanwhile on the same two cores and slow every caller alike`;
      // The guardrail alone, as a client at concurrency 1 sees it: the floor of what it adds.
      const alone: number[] = [];
      for (let r = 0; r < Math.min(repeats, 3); r++) {
        const res = await latency(ctx, { targets: [{ name: 'direct', url: guard.url }], bodyBytes: 1024, warmup: 200, requests: ctx.opts.quick ? 300 : 1000 });
        alone.push(res.direct!.ms.p50);
      }

      // CPU per request at full load, alternating runs, medians (as the quotas scenario).
      await cpuPerRequest(ctx, off);
      const runs: Array<Record<'off' | 'pre' | 'events', CpuPerRequest>> = [];
      for (let r = 0; r < Math.min(repeats, 3); r++) runs.push({ off: await cpuPerRequest(ctx, off), pre: await cpuPerRequest(ctx, pre), events: await cpuPerRequest(ctx, events) });
      const mid = (side: 'off' | 'pre' | 'events', pick: (c: CpuPerRequest) => number) => median(runs.map((x) => pick(x[side])));
      const cpuRow = (label: string, side: 'pre' | 'events'): Row => {
        const base = mid('off', (c) => c.mainUs);
        const with_ = mid(side, (c) => c.mainUs);
        return {
          scenario: this.title,
          measure: `CPU per request, main thread (off → ${label})`,
          unit: 'µs',
          direct: base,
          keyway: with_,
          added: with_ - base,
          ratio: with_ / base,
          target: '–',
          status: 'info',
          note: `"direct" is keyway without hooks; at max load, median of ${runs.length} alternating runs (${Math.round(mid('off', (c) => c.rps))} and ${Math.round(mid(side, (c) => c.rps))} req/s)`,
        };
      };

      const inProcess = await measureEventInProcess(ctx.opts.quick ? 20_000 : 100_000);
      const note = '"direct" here is keyway without hooks';
      const sameNote = `values in µs; one gateway whose configuration is switched between rounds: "direct" is its rounds without hooks, "keyway" its rounds with them, ${rounds} of each (${roundRequests} requests after 50 of warm-up, c=1, one client process switching the configuration itself), in the order ABBA; "added" is the median of the pairs' differences`;
      // What keyway adds around the call: the added latency less the hook's own, as a client
      // sees it (a 1 ms timer answers in more than 1 ms over HTTP on a busy machine).
      const hookAlone = median(alone);
      const guardAdded = median((guardrail.p50.keyway ?? []).map((k, i) => k - (guardrail.p50.direct?.[i] ?? Number.NaN)));
      const share = guardAdded - hookAlone;
      return [
        compareRow({ scenario: this.title, measure: `latency p50 (off → pre_request hook answering in ${GUARDRAIL_DELAY_MS} ms)`, unit: 'ms', target: `added ≤ ${PRE_TARGET_MS} ms` }, guardrail.p50, (c) => c.added! <= PRE_TARGET_MS, note),
        compareRow({ scenario: this.title, measure: 'latency p99 (off → pre_request hook)', unit: 'ms', target: '–' }, guardrail.p99, () => 'info', note),
        {
          scenario: this.title,
          measure: 'the guardrail hook alone, p50',
          unit: 'ms',
          keyway: hookAlone,
          target: '–',
          status: 'info',
          note: `a client calling the hook directly at concurrency 1: its ${GUARDRAIL_DELAY_MS} ms timer plus HTTP on loopback`,
        },
        {
          scenario: this.title,
          measure: "keyway's share of the guardrail's added p50",
          unit: 'ms',
          keyway: share,
          target: `≤ ${PRE_TARGET_MS - GUARDRAIL_DELAY_MS} ms`,
          status: share <= PRE_TARGET_MS - GUARDRAIL_DELAY_MS ? 'meets' : 'misses',
          note: 'added p50 less the hook alone: the payload, the call and reading the verdict',
        },
        compareRow({ scenario: this.title, measure: 'latency p50 (no hooks → the same configuration again: the floor)', unit: 'µs', target: '–' }, floor.p50, () => 'info', `${sameNote}; what "added" reads when nothing is added; ${cpuNote(floor)}`),
        compareRow({ scenario: this.title, measure: 'latency p50 on the request path (a caller without hooks → a caller with the entire_request event hook)', unit: 'µs', target: `added ≤ ${ASYNC_TARGET_US} µs` }, turnsOf('hooked', 'chunkP50'), (c) => c.added! <= ASYNC_TARGET_US, turnsNote),
        compareRow({ scenario: this.title, measure: 'latency p50 on the request path (a caller without hooks → another without: the floor)', unit: 'µs', target: '–' }, turnsOf('twin', 'chunkP50'), () => 'info', `${turnsNote}; what "added" reads when nothing is added`),
        compareRow({ scenario: this.title, measure: 'latency p99 on the request path (a caller without hooks → a caller with the event hook)', unit: 'µs', target: '–' }, turnsOf('hooked', 'chunkP99'), () => 'info', turnsNote),
        compareRow({ scenario: this.title, measure: 'latency p50 (no hooks → entire_request event hook), rounds', unit: 'µs', target: '–' }, event.p50, () => 'info', `${sameNote}; hook server on Node's http at normal priority, on the same two cores; ${cpuNote(event)}`),
        compareRow({ scenario: this.title, measure: 'latency p99 (no hooks → entire_request event hook)', unit: 'µs', target: '–' }, event.p99, () => 'info', sameNote),
        ...(eventNice
          ? [
              compareRow(
                { scenario: this.title, measure: 'latency p50 (no hooks → entire_request event hook, hook server at nice 19), rounds', unit: 'µs', target: '–' },
                eventNice.p50,
                () => 'info',
                `${sameNote}; the hook server's CPU yields to the rest, as one on another machine would not compete; ${cpuNote(eventNice)}`,
              ),
            ]
          : []),
        compareRow(
          { scenario: this.title, measure: 'latency p50 (no hooks → entire_request event hook, raw TCP event sink), rounds', unit: 'µs', target: '–' },
          eventSink.p50,
          () => 'info',
          `${sameNote}; the hook server is bench/reference/event-sink.ts (no HTTP library: a native collector's cost); ${cpuNote(eventSink)}`,
        ),
        {
          scenario: this.title,
          measure: 'an entire_request event on the request thread, in process',
          unit: 'µs',
          keyway: inProcess,
          target: `≤ ${ASYNC_TARGET_US} µs`,
          status: inProcess <= ASYNC_TARGET_US ? 'meets' : 'misses',
          note: 'main-thread CPU per event: the hook run, its payload parts (1 KB request, 1 KB answer, a tool call, the cost), the bounds, the hand-over to the events thread (which writes the JSON) and its reports back; median of 5 runs',
        },
        cpuRow('pre_request hook', 'pre'),
        cpuRow('entire_request event hook', 'events'),
      ];
    } finally {
      await Promise.allSettled(started.reverse().map((s) => s.stop()));
    }
  },
};

/** The paired measurement's callers, by side: only `hooked`'s grant wires the event hook. */
const CALLERS = { plain: 'plain@example.com', hooked: 'hooked@example.com', twin: 'twin@example.com' } as const;
const PAIRED_RUN = 8;

/**
 * callersConfig is the paired measurement's configuration: the bench provider, priced,
 * the event hook, and one grant per caller, the same but for `send_hooks` on `hooked`'s.
 */
function callersConfig(mockUrl: string, hookUrl: string): string {
  const send = ['request_body', 'response_body', 'tools', 'estimated_cost'];
  const doc = JSON.parse(keywayConfig(mockUrl, { models: 1, grants: 1, priced: true, hooks: [{ id: 'audit', url: `${hookUrl}/events`, events: ['entire_request'], send }] })) as Record<string, unknown>;
  doc.grants = Object.entries(CALLERS).map(([side, login]) => ({
    src: [login],
    app: { [CAP]: [{ role: 'user' }, { models: '**' }, ...(side === 'hooked' ? [{ send_hooks: [{ name: 'audit', events: ['entire_request'], send }] }] : [])] },
  }));
  return JSON.stringify(doc, null, 1);
}

/** Alternation is one row's measurement by alternateRounds. */
interface Alternation {
  p50: PerRepeat;
  p99: PerRepeat;
  /** CPU µs a request, with the variant less without it: the main thread, the gateway's other threads. */
  mainUs: number;
  otherUs: number;
  /** The hook server's CPU µs a request during the variant's rounds. */
  hookUs: number | undefined;
}

/**
 * alternateRounds measures one gateway at concurrency 1 in rounds, its configuration
 * switched between `base` and `variant` before each by the client itself
 * (clients/alternate.ts), in the order ABBA (a drift of the machine's speed falls on both
 * alike), with the CPU each round cost the gateway's threads and the hook server. A
 * round's first 50 requests are a warm-up: they let the switch settle (a new snapshot;
 * the events thread finishing the last round's).
 */
async function alternateRounds(ctx: BenchContext, gateway: Service, base: string, variant: string, o: { rounds: number; requests: number; hook?: Service }): Promise<Alternation> {
  const res = await alternate(ctx, {
    url: gateway.url,
    bodyBytes: 1024,
    base,
    variant,
    pairs: o.rounds,
    warmup: 50,
    requests: o.requests,
    settleMs: 100, // the round's last events delivered
    gatewayPid: gateway.pid,
    ...(o.hook ? { hookPid: o.hook.pid } : {}),
  });
  const p50: PerRepeat = {};
  const p99: PerRepeat = {};
  const cpu = { direct: { main: 0, other: 0, hook: 0, n: 0 }, keyway: { main: 0, other: 0, hook: 0, n: 0 } };
  for (const round of res.rounds) {
    const name = round.side === 'base' ? 'direct' : 'keyway';
    push(p50, name, round.p50 * 1000);
    push(p99, name, round.p99 * 1000);
    const c = cpu[name];
    c.main += round.mainMs;
    c.other += round.otherMs;
    c.hook += round.hookMs;
    c.n += round.requests;
  }
  const perRequest = (side: 'direct' | 'keyway', pick: 'main' | 'other' | 'hook') => (cpu[side][pick] * 1000) / cpu[side].n;
  return {
    p50,
    p99,
    mainUs: perRequest('keyway', 'main') - perRequest('direct', 'main'),
    otherUs: perRequest('keyway', 'other') - perRequest('direct', 'other'),
    hookUs: o.hook ? perRequest('keyway', 'hook') : undefined,
  };
}

/** cpuNote says what the variant cost beside the request's answer, in CPU a request. */
function cpuNote(a: Alternation): string {
  const hook = a.hookUs === undefined ? '' : `, the hook server ${a.hookUs.toFixed(0)} µs`;
  const diffs = (a.p50.keyway ?? []).map((k, i) => k - (a.p50.direct?.[i] ?? Number.NaN)).filter(Number.isFinite);
  const middle = diffs.length ? `; the pairs' differences, middle half: ${percentile(diffs, 25).toFixed(1)} to ${percentile(diffs, 75).toFixed(1)} µs` : '';
  return `CPU a request with the variant less without: main thread ${a.mainUs.toFixed(1)} µs, keyway's other threads (the events thread) ${a.otherUs.toFixed(1)} µs${hook}${middle}`;
}

/**
 * measureEventInProcess measures what an entire_request event costs the request thread, as
 * its CPU time (from /proc, so the events thread and other programs do not count): the
 * hook run, the payload's parts (a 1 KB request, a 1 KB answer, a tool call, the cost), the
 * bounds, handing them to the events thread (which writes the payload) and reading its
 * reports back. The events thread sends
 * the calls to a port nothing listens on. As with telemetry on (the default), the session
 * (here from a header, as Claude Code and Codex send it; else the record's fingerprint)
 * and the answer's JSON (the tap's) are not worked out again for the hook. In µs per event.
 */
async function measureEventInProcess(events: number): Promise<number> {
  const shape = { models: 1, grants: 1, priced: true, hooks: [{ id: 'audit', url: 'http://127.0.0.1:9/events', events: ['entire_request'], send: ['request_body', 'response_body', 'tools', 'estimated_cost'] }] };
  const text = keywayConfig('http://127.0.0.1:9', shape);
  const { config, problems } = validateConfigText(text, { env: {} });
  if (!config) throw new Error('bench hook config is not valid');
  const snapshot = compileSnapshot(text, config, problems);
  const log = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));
  const quotas = new Quotas(new QuotaLedger(undefined, Date.now, log), log);
  const hooks = new Hooks({ ...DEFAULT_HOOK_SETTINGS, events: { ...DEFAULT_HOOK_SETTINGS.events, maxQueued: 1e9, maxQueuedBytes: Number.MAX_SAFE_INTEGER } }, quotas, log);
  const provider = snapshot.providers.get('mock')!;
  const access = snapshot.accessFor(LOCAL_OWNER);
  const bodyText = chatBody(1024, false);
  const body = JSON.parse(bodyText) as Record<string, unknown>;
  const answer = { id: 'chatcmpl-1', object: 'chat.completion', model: BENCH_MODEL, choices: [{ index: 0, message: { role: 'assistant', content: 'x'.repeat(900) }, finish_reason: 'stop' }], usage: { prompt_tokens: 260, completion_tokens: 40 } };
  const result: TapResult = {
    summary: { usage: { inputTokens: 260, outputTokens: 40, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0, webSearchCount: 0 }, model: BENCH_MODEL, toolCalls: [{ name: 'read_file', arguments: '{"path":"src/index.ts"}' }], stopReason: 'stop', reassembled: answer },
    ttfbMs: 1,
    responseHeaders: {},
    body: '',
    bodyTruncated: false,
    // With telemetry on (the default) the tap has the answer's JSON already: a JSON answer's
    // text, a stream's reassembled capture.
    answerJson: JSON.stringify(answer),
  };
  const headers = { 'user-agent': 'bench', 'x-session-id': 'sess-bench' };
  const one = () => {
    const run = hooks.start({ snapshot, access, identity: LOCAL_OWNER, provider, upstreamModel: BENCH_MODEL, format: openaiChat, headers, url: '/v1/chat/completions', body, bodyText, bodyModel: BENCH_MODEL, trace: undefined });
    run!.afterAnswer()!.answered(result);
  };
  const pace = async (n: number) => {
    for (let i = 0; i < n; i++) {
      one();
      // Let the batches go and the reports come back, as between requests.
      if (i % 500 === 499) await new Promise((res) => setImmediate(res));
    }
  };
  try {
    await pace(5_000); // JIT warm-up, the thread's start
    const runs: number[] = [];
    for (let r = 0; r < 5; r++) {
      const before = readThreadCpu(process.pid)!.mainMs;
      await pace(events);
      await new Promise((res) => setTimeout(res, 200)); // the last reports
      runs.push(((readThreadCpu(process.pid)!.mainMs - before) * 1000) / events);
    }
    return median(runs);
  } finally {
    await hooks.close(0);
  }
}
