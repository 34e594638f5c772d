/**
 * Protocol translation: what translating costs, measured side by side in one run through
 * one keyway against one upstream. Both lanes call the same model of an OpenAI-chat-only
 * provider; the native lane is an OpenAI chat client, the translated lane an Anthropic
 * Messages client (Claude Code's API on a GPT model), so the upstream does the same work
 * and the difference is the translation: c=1 latency of a 1 KB JSON call, and for streams
 * the time to first byte and the gaps between events.
 *
 * In the table the `direct` column is the native lane and the `keyway` column the
 * translated one, so `added` is the cost of translating.
 *
 * The peer lane is claude-code-router (lib/ccr.ts): the translated lane's Anthropic client
 * and body, through ccr to the same upstream, measured in the same runs (the clients take
 * turns between the three lanes). Its rows put ccr in the `keyway` column, so their
 * `added` is what ccr costs over the same native lane. When ccr cannot run here the lane
 * is skipped with the reason in its row. A fidelity check (lib/fidelity.ts) then sends one
 * streamed request with stop sequences through keyway and ccr to a recording mock.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startMockUpstream, type MockUpstream } from '../../src/mock-upstream/index.js';
import { anthropicBody, BENCH_MODEL, chatBody } from '../lib/bodies.js';
import { startCcr, type CcrProvider } from '../lib/ccr.js';
import { compareRow, push, type PerRepeat } from '../lib/compare.js';
import { CAP } from '../lib/keyway-config.js';
import { chatStreamUsage, describe, faithful, judge, readAnthropicStream, type Fidelity } from '../lib/fidelity.js';
import { latency, sse } from '../lib/measure.js';
import type { BenchContext, Row, Scenario, Service, Target } from '../lib/types.js';

const CHUNKS = 200;
/** The fidelity check's model, served by a second, recording mock so the bench lanes' mock stays untouched. */
const FIDELITY_MODEL = 'gpt-fidelity';
const STOP_SEQUENCES = ['\n\nEND', 'STOP_HERE'];

function config(mockUrl: string, fidelityUrl: string): string {
  const provider = (baseurl: string, model: string) => ({ baseurl, apikey: 'sk-test-bench', models: [model], compatibility: { openai_chat: true } });
  return JSON.stringify({
    providers: { openai: provider(mockUrl, BENCH_MODEL), fidelity: provider(fidelityUrl, FIDELITY_MODEL) },
    grants: [{ src: ['(loopback)'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }] } }],
  });
}

/**
 * ccr's providers: the bench mock (its `Router.default`), the recording mock as configured
 * by its README, and the recording mock again with ccr's opt-in `streamoptions`
 * transformer, which asks the upstream for the usage chunk.
 */
function ccrProviders(mockUrl: string, fidelityUrl: string): CcrProvider[] {
  return [
    { name: 'mock', chatUrl: `${mockUrl}/v1/chat/completions`, models: [BENCH_MODEL] },
    { name: 'fidelity', chatUrl: `${fidelityUrl}/v1/chat/completions`, models: [FIDELITY_MODEL] },
    { name: 'fidelity-usage', chatUrl: `${fidelityUrl}/v1/chat/completions`, models: [FIDELITY_MODEL], transformers: ['streamoptions'] },
  ];
}

/**
 * fidelityOf sends the check's request to `url` for `model`, and judges it against what the
 * recording mock received and counts (the recorded body replayed with the usage chunk on).
 */
async function fidelityOf(url: string, model: string, mock: MockUpstream): Promise<Fidelity> {
  mock.reset();
  const body = {
    model,
    max_tokens: 256,
    stream: true,
    stop_sequences: STOP_SEQUENCES,
    system: 'You are terse.',
    messages: [{ role: 'user', content: 'Count to five. MOCK:chunks=5' }],
  };
  const post = (to: string, json: unknown) =>
    fetch(to, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify(json), signal: AbortSignal.timeout(30_000) });
  const res = await post(`${url}/v1/messages`, body);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`fidelity request through ${url}: HTTP ${res.status} ${text.slice(0, 200)}`);
  const [got] = await mock.waitForRequests(1, 5000);
  const replay = { ...(got!.json as Record<string, unknown>), stream: true, stream_options: { include_usage: true } };
  const upstream = chatStreamUsage(await (await post(`${mock.url}/v1/chat/completions`, replay)).text());
  return judge(got!.json, upstream, readAnthropicStream(text), STOP_SEQUENCES);
}

/** fidelityRows runs the check through keyway and, when it runs, ccr (as configured by its README, then with `streamoptions`). */
async function fidelityRows(ctx: BenchContext, title: string, keyway: Service, ccr: Service | undefined, mock: MockUpstream): Promise<Row[]> {
  const head = { scenario: title, measure: 'fidelity: streamed, stop_sequences, usage', unit: '' };
  const kw = await fidelityOf(keyway.url, FIDELITY_MODEL, mock);
  ctx.log(`    fidelity ${describe('keyway', kw)}`);
  const rows: Row[] = [{ ...head, target: 'stop sent, usage exact, end_turn', status: faithful(kw) ? 'meets' : 'misses', note: describe('keyway', kw), detail: kw }];
  if (!ccr) return rows;
  for (const [name, model] of [['claude-code-router', `fidelity,${FIDELITY_MODEL}`], ['claude-code-router + streamoptions', `fidelity-usage,${FIDELITY_MODEL}`]] as const) {
    try {
      const f = await fidelityOf(ccr.url, model, mock);
      ctx.log(`    fidelity ${describe(name, f)}`);
      rows.push({ ...head, measure: `${head.measure} (${name})`, target: 'peer, for comparison', status: 'info', note: describe(name, f), detail: f });
    } catch (err) {
      rows.push({ ...head, measure: `${head.measure} (${name})`, target: 'peer, for comparison', status: 'skipped', note: `${name}: ${String(err).slice(0, 200)}` });
    }
  }
  return rows;
}

/** The native lane's body: a chat request that also asks for the usage chunk, as keyway does when it translates. */
/**
 * ccrBody is the translated lane's body with the mock's instructions in the prompt as well
 * (`MOCK:<directive>`): ccr does not forward the client's headers, so the stream lanes'
 * `x-mock-scenario` header never reaches the upstream through it. Through keyway the header
 * arrives and wins over the prompt, so all three lanes get the same stream.
 */
function ccrBody(stream: boolean, directive: string | undefined): string {
  const body = JSON.parse(anthropicBody(1024, stream, BENCH_MODEL)) as { messages: Array<{ content: string }> };
  if (directive) body.messages[body.messages.length - 1]!.content += ` MOCK:${directive}`;
  return JSON.stringify(body);
}

function nativeBody(stream: boolean): string {
  const body = JSON.parse(chatBody(1024, stream)) as Record<string, unknown>;
  if (stream) body.stream_options = { include_usage: true };
  return JSON.stringify(body);
}

/** Measured is the per-repeat figures of the lanes, and what went wrong with each lane's streams. */
interface Measured {
  p50: PerRepeat;
  ttfb: PerRepeat;
  gap: PerRepeat;
  /** Stalled, incomplete or failed streams, per lane (keyway's lanes, and ccr's apart). */
  problems: string[];
  ccrProblems: string[];
}

/** WARM_SCENARIO and STREAM_SCENARIO are the mock's instructions for the warm-up streams and the measured ones. */
const WARM_SCENARIO = 'chunks=2';
const STREAM_SCENARIO = `chunks=${CHUNKS},interval=5`;

/**
 * measure runs the repeats over `json` and `streams`, every lane in the same client runs;
 * `warmStreams` are the stream lanes of the warm-up (they differ for ccr, see ccrBody).
 */
async function measure(ctx: BenchContext, json: Target[], warmStreams: Target[], streams: Target[]): Promise<Measured> {
  // A long-running keyway has run both paths thousands of times: measure warm code, not
  // V8's first tiers (the stream code runs only a few dozen times in one measured repeat).
  await sse(ctx, { targets: warmStreams, scenario: WARM_SCENARIO, streams: ctx.opts.quick ? 100 : 600, concurrency: 8, rampMs: 0, stallMs: 5000, deadlineMs: 120_000, expectEvents: 0 });
  const m: Measured = { p50: {}, ttfb: {}, gap: {}, problems: [], ccrProblems: [] };
  const lane = (name: string) => (name === 'direct' ? 'native' : name === 'ccr' ? 'claude-code-router' : 'translated');
  const fmt = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(3));
  for (let r = 0; r < ctx.opts.repeat; r++) {
    const lat = await latency(ctx, { targets: json, bodyBytes: 1024, warmup: 300, requests: ctx.opts.quick ? 500 : 2000 });
    for (const t of json) push(m.p50, t.name, lat[t.name]!.ms.p50);
    const res = await sse(ctx, {
      targets: streams,
      scenario: STREAM_SCENARIO,
      streams: ctx.opts.quick ? 12 : 80,
      concurrency: 8,
      rampMs: 1000,
      stallMs: 1000,
      deadlineMs: 120_000,
      // Chat: role, 200 deltas, finish, usage, [DONE]; Anthropic (keyway and ccr): start, block start, 200 deltas, block stop, delta, stop.
      expectEvents: CHUNKS + 4,
      // Each API frames a stream with its own events at both ends: compare the deltas.
      trimGaps: 3,
      warmupScenario: 'chunks=1',
    });
    for (const t of streams) {
      const x = res[t.name]!;
      push(m.ttfb, t.name, x.ttfbMs.p50);
      push(m.gap, t.name, x.gapMs.p99);
      if (x.stalled + x.incomplete + x.errors > 0) {
        (t.name === 'ccr' ? m.ccrProblems : m.problems).push(`${lane(t.name)}: ${x.stalled} stalled, ${x.incomplete} incomplete, ${x.errors} errors ${x.firstError ?? ''}`.trim());
      }
    }
    const lanes = (pick: (name: string) => number | undefined) =>
      `native ${fmt(pick('direct'))} translated ${fmt(pick('keyway'))}${pick('ccr') === undefined ? '' : ` ccr ${fmt(pick('ccr'))}`} ms`;
    ctx.log(
      `    repeat ${r + 1}: latency p50 ${lanes((n) => lat[n]?.ms.p50)}; ttfb p50 ${lanes((n) => res[n]?.ttfbMs.p50)}; gap p99 ${lanes((n) => res[n]?.gapMs.p99)}`,
    );
  }
  return m;
}

export const translationScenario: Scenario = {
  name: 'translation',
  title: 'translated vs native, one upstream',
  async run(ctx) {
    const recording = await startMockUpstream({ host: '127.0.0.1', port: 0 });
    let keyway: Service | undefined;
    let ccr: Service | undefined;
    try {
      keyway = await ctx.startKeyway({ configText: config(ctx.mock.url, recording.url) });
      const home = join(ctx.tmp, 'ccr-home');
      await mkdir(home, { recursive: true });
      const peer = await startCcr(home, ccrProviders(ctx.mock.url, recording.url));
      let ccrSkipped: string | undefined;
      if ('service' in peer) {
        ccr = peer.service;
        ctx.log(`    claude-code-router ${peer.version} on ${ccr.url}`);
      } else {
        ccrSkipped = peer.skipped;
        ctx.log(`    claude-code-router lane skipped: ${ccrSkipped}`);
      }
      const fidelity = await fidelityRows(ctx, this.title, keyway, ccr, recording);

      const file = async (name: string, text: string) => {
        const path = join(ctx.tmp, `translation-${name}.json`);
        await writeFile(path, text);
        return path;
      };
      /** The lanes, with the mock's `directive` in ccr's body (none for JSON calls). */
      const lanes = async (stream: boolean, directive?: string): Promise<Target[]> => [
        { name: 'direct', url: keyway!.url, path: '/v1/chat/completions', bodyFile: await file(`native-${stream}`, nativeBody(stream)), endMarker: '[DONE]' },
        { name: 'keyway', url: keyway!.url, path: '/v1/messages', bodyFile: await file(`translated-${stream}`, anthropicBody(1024, stream, BENCH_MODEL)), endMarker: 'message_stop' },
        // The same Anthropic request: ccr routes it to its Router.default, the bench model on the same mock.
        ...(ccr ? [{ name: 'ccr' as const, url: ccr.url, path: '/v1/messages', bodyFile: await file(`ccr-${stream}-${directive ?? 'none'}`, ccrBody(stream, directive)), endMarker: 'message_stop' }] : []),
      ];
      const json = await lanes(false);
      const warmStreams = await lanes(true, WARM_SCENARIO);
      const streams = await lanes(true, STREAM_SCENARIO);
      let m: Measured;
      try {
        m = await measure(ctx, json, warmStreams, streams);
      } catch (err) {
        // A peer that breaks mid-run must not cost keyway's rows: measure again without it.
        if (!ccr) throw err;
        ccrSkipped = `claude-code-router failed during the run: ${String(err).split('\n')[0]}`;
        ctx.log(`    ${ccrSkipped}; measuring again without it`);
        const own = (ts: Target[]) => ts.filter((t) => t.name !== 'ccr');
        m = await measure(ctx, own(json), own(warmStreams), own(streams));
      }

      const note = m.problems.join('; ');
      const columns = 'direct column: native (OpenAI chat client → OpenAI chat upstream); keyway column: translated (Anthropic Messages client → the same upstream); both through one keyway';
      const head = { scenario: this.title, unit: 'ms' };
      const translated = (p: PerRepeat): PerRepeat => ({ direct: p.direct, keyway: p.keyway });
      const rows: Row[] = [
        compareRow({ ...head, measure: 'latency p50, 1 KB JSON, c=1', target: 'added ≤ 0.15 ms' }, translated(m.p50), (c) => c.added! <= 0.15, columns),
        compareRow({ ...head, measure: 'SSE time to first byte p50', target: 'added ≤ 0.2 ms' }, translated(m.ttfb), (c) => c.added! <= 0.2 && !note, note || undefined),
        compareRow({ ...head, measure: 'SSE inter-chunk gap p99', target: 'added ≤ 0.2 ms' }, translated(m.gap), (c) => c.added! <= 0.2 && !note),
      ];
      if (m.p50.ccr?.length) {
        // The peer rows: ccr in the keyway column, against the same native lane, measured in the same client runs.
        const viaCcr = (p: PerRepeat): PerRepeat => ({ direct: p.direct, keyway: p.ccr });
        const peerHead = { ...head, target: 'peer, for comparison' };
        const ccrNote = 'claude-code-router rows: direct column native (through keyway), keyway column claude-code-router 1.0.73 (the same Anthropic client and body → the same upstream), in the same runs';
        rows.push(
          compareRow({ ...peerHead, measure: 'latency p50, 1 KB JSON, c=1 (claude-code-router)' }, viaCcr(m.p50), () => 'info', ccrNote),
          compareRow({ ...peerHead, measure: 'SSE time to first byte p50 (claude-code-router)' }, viaCcr(m.ttfb), () => 'info', m.ccrProblems.join('; ') || undefined),
          compareRow({ ...peerHead, measure: 'SSE inter-chunk gap p99 (claude-code-router)' }, viaCcr(m.gap), () => 'info'),
        );
      } else {
        rows.push({ scenario: this.title, measure: 'claude-code-router peer lane', unit: '', target: 'peer, for comparison', status: 'skipped', note: ccrSkipped ?? 'not started' });
      }
      return [...rows, ...fidelity];
    } finally {
      await Promise.allSettled([keyway?.stop(), ccr?.stop(), recording.close()]);
    }
  },
};
