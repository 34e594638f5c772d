/**
 * The request-path metrics (src/telemetry/series.ts) are aggregated by hand and rendered by
 * prom-client's registry: their text must be exactly what prom-client's own counters and
 * histograms would print, so dashboards and alerts cannot tell the difference.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { SeriesCounter, SeriesHistogram } from '../src/telemetry/series.js';

const BUCKETS = [0.005, 0.05, 0.5, 5];

test('a series counter prints what a prom-client counter prints', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const a = new SeriesCounter<'provider' | 'model'>('t_tokens_total', 'Tokens', ours);
  const b = new Counter({ name: 't_tokens_total', help: 'Tokens', labelNames: ['provider', 'model'], registers: [theirs] });
  const add = (provider: string, model: string, n: number) => {
    a.inc(`${provider}\0${model}`, () => ({ provider, model }), n);
    b.inc({ provider, model }, n);
  };
  add('anthropic', 'claude-test', 10);
  add('openai', 'gpt-test', 3);
  add('anthropic', 'claude-test', 5.5);
  add('openai', 'model "with" quotes\\', 1);
  assert.equal(await ours.metrics(), await theirs.metrics());
  assert.match(await ours.metrics(), /t_tokens_total\{provider="anthropic",model="claude-test"\} 15.5/);
});

test('a series histogram prints what a prom-client histogram prints', async () => {
  const ours = new Registry();
  const theirs = new Registry();
  const a = new SeriesHistogram<'format'>('t_duration_seconds', 'Duration', ours, BUCKETS);
  const b = new Histogram({ name: 't_duration_seconds', help: 'Duration', labelNames: ['format'], buckets: BUCKETS, registers: [theirs] });
  const values = [0.001, 0.005, 0.0051, 0.3, 0.5, 4.9, 5, 7, 120];
  for (const [i, v] of values.entries()) {
    const format = i % 2 === 0 ? 'openai_chat' : 'anthropic_messages';
    a.observe(format, () => ({ format }), v);
    b.observe({ format }, v);
  }
  const text = await ours.metrics();
  assert.equal(text, await theirs.metrics());
  // Bounds are inclusive (`le`), counts cumulative, +Inf holds everything.
  assert.match(text, /t_duration_seconds_bucket\{le="0.005",format="openai_chat"\} 1\n/);
  assert.match(text, /t_duration_seconds_bucket\{le="\+Inf",format="openai_chat"\} 5\n/);
  assert.match(text, /t_duration_seconds_count\{format="anthropic_messages"\} 4/);
});

test('reset clears every series', async () => {
  const registry = new Registry();
  const c = new SeriesCounter<'k'>('t_reset_total', 'Reset', registry);
  c.inc('x', () => ({ k: 'x' }));
  registry.resetMetrics();
  assert.doesNotMatch(await registry.metrics(), /t_reset_total\{/);
});
