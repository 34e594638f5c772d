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
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { anthropicBody, BENCH_MODEL, chatBody } from '../lib/bodies.js';
import { compareRow, push, type PerRepeat } from '../lib/compare.js';
import { latency, sse } from '../lib/measure.js';
import type { Scenario, Target } from '../lib/types.js';

const CHUNKS = 200;

function config(mockUrl: string): string {
  return JSON.stringify({
    providers: { openai: { baseurl: mockUrl, apikey: 'sk-test-bench', models: [BENCH_MODEL], compatibility: { openai_chat: true } } },
    grants: [{ src: ['(loopback)'], app: { 'tailscale.com/cap/aperture': [{ role: 'admin' }, { models: '**' }] } }],
  });
}

/** The native lane's body: a chat request that also asks for the usage chunk, as keyway does when it translates. */
function nativeBody(stream: boolean): string {
  const body = JSON.parse(chatBody(1024, stream)) as Record<string, unknown>;
  if (stream) body.stream_options = { include_usage: true };
  return JSON.stringify(body);
}

export const translationScenario: Scenario = {
  name: 'translation',
  title: 'translated vs native, one upstream',
  async run(ctx) {
    const keyway = await ctx.startKeyway({ configText: config(ctx.mock.url) });
    try {
      const file = async (name: string, text: string) => {
        const path = join(ctx.tmp, `translation-${name}.json`);
        await writeFile(path, text);
        return path;
      };
      const lanes = async (stream: boolean): Promise<Target[]> => [
        { name: 'direct', url: keyway.url, path: '/v1/chat/completions', bodyFile: await file(`native-${stream}`, nativeBody(stream)), endMarker: '[DONE]' },
        { name: 'keyway', url: keyway.url, path: '/v1/messages', bodyFile: await file(`translated-${stream}`, anthropicBody(1024, stream, BENCH_MODEL)), endMarker: 'message_stop' },
      ];
      const json = await lanes(false);
      const streams = await lanes(true);
      // A long-running keyway has run both paths thousands of times: measure warm code, not
      // V8's first tiers (the stream code runs only a few dozen times in one measured repeat).
      await sse(ctx, { targets: streams, scenario: 'chunks=2', streams: ctx.opts.quick ? 100 : 600, concurrency: 8, rampMs: 0, stallMs: 5000, deadlineMs: 120_000, expectEvents: 0 });
      const p50: PerRepeat = {};
      const ttfb: PerRepeat = {};
      const gap: PerRepeat = {};
      const problems: string[] = [];
      const lane = (name: string) => (name === 'direct' ? 'native' : 'translated');
      for (let r = 0; r < ctx.opts.repeat; r++) {
        const lat = await latency(ctx, { targets: json, bodyBytes: 1024, warmup: 300, requests: ctx.opts.quick ? 500 : 2000 });
        for (const t of json) push(p50, t.name, lat[t.name]!.ms.p50);
        const res = await sse(ctx, {
          targets: streams,
          scenario: `chunks=${CHUNKS},interval=5`,
          streams: ctx.opts.quick ? 12 : 80,
          concurrency: 8,
          rampMs: 1000,
          stallMs: 1000,
          deadlineMs: 120_000,
          // Chat: role, 200 deltas, finish, usage, [DONE]; Anthropic: start, block start, 200 deltas, block stop, delta, stop.
          expectEvents: CHUNKS + 4,
          // Each API frames a stream with its own events at both ends: compare the deltas.
          trimGaps: 3,
          warmupScenario: 'chunks=1',
        });
        for (const t of streams) {
          const x = res[t.name]!;
          push(ttfb, t.name, x.ttfbMs.p50);
          push(gap, t.name, x.gapMs.p99);
          if (x.stalled + x.incomplete + x.errors > 0) problems.push(`${lane(t.name)}: ${x.stalled} stalled, ${x.incomplete} incomplete, ${x.errors} errors ${x.firstError ?? ''}`.trim());
        }
        ctx.log(`    repeat ${r + 1}: latency p50 native ${lat.direct!.ms.p50.toFixed(3)} translated ${lat.keyway!.ms.p50.toFixed(3)} ms; ttfb p50 native ${res.direct!.ttfbMs.p50.toFixed(3)} translated ${res.keyway!.ttfbMs.p50.toFixed(3)} ms; gap p99 native ${res.direct!.gapMs.p99.toFixed(3)} translated ${res.keyway!.gapMs.p99.toFixed(3)} ms`);
      }
      const note = problems.join('; ');
      const columns = 'direct column: native (OpenAI chat client → OpenAI chat upstream); keyway column: translated (Anthropic Messages client → the same upstream); both through one keyway';
      const head = { scenario: this.title, unit: 'ms' };
      return [
        compareRow({ ...head, measure: 'latency p50, 1 KB JSON, c=1', target: 'added ≤ 0.15 ms' }, p50, (c) => c.added! <= 0.15, columns),
        compareRow({ ...head, measure: 'SSE time to first byte p50', target: 'added ≤ 0.2 ms' }, ttfb, (c) => c.added! <= 0.2 && !note, note || undefined),
        compareRow({ ...head, measure: 'SSE inter-chunk gap p99', target: 'added ≤ 0.2 ms' }, gap, (c) => c.added! <= 0.2 && !note),
      ];
    } finally {
      await keyway.stop();
    }
  },
};
