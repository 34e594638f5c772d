/**
 * Cost estimates: keyway learns each model's per-token rates from genai-prices once and
 * then prices by a dot product. These tests pin that the shortcut gives genai-prices' own
 * answer, for plain, tiered and dated prices and for usages outside the shortcut's reach.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { calcPrice } from '@pydantic/genai-prices';
import { estimateCost } from '../src/telemetry/pricing.js';
import type { Usage } from '../src/telemetry/usage.js';

const MODELS: Array<[basis: string, providerId: string, model: string]> = [
  ['openai', 'openai', 'gpt-4o'], // plain rates, web search
  ['openai', 'openai', 'gpt-4o-mini'],
  ['openai', 'openai', 'o3'], // dated prices: always asks genai-prices
  ['anthropic', 'anthropic', 'claude-opus-4-1'],
  ['anthropic', 'anthropic', 'claude-sonnet-4-5'], // tiered above 200k input tokens
  ['anthropic', 'anthropic', 'claude-3-5-haiku-latest'],
  ['google', 'google', 'gemini-2.5-pro'], // tiered
  ['google', 'google', 'gemini-2.5-flash'],
  ['bedrock', 'aws', 'anthropic.claude-3-5-sonnet-20240620-v1:0'],
];

/** A deterministic spread of usages: small, around the 200k tier threshold, and huge. */
function usages(): Usage[] {
  let seed = 7;
  const next = (max: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return Math.floor((seed / 2147483648) * max);
  };
  const out: Usage[] = [];
  for (const scale of [1_000, 150_000, 199_999, 200_000, 200_001, 260_000, 3_000_000]) {
    for (let i = 0; i < 12; i++) {
      const input = Math.max(1, scale - next(scale / 10 + 1));
      const cacheRead = next(input / 2);
      const write5m = next((input - cacheRead) / 2);
      const write1h = i % 3 === 0 ? next((input - cacheRead - write5m) / 2) : 0;
      out.push({ inputTokens: input, outputTokens: next(20_000), cacheReadTokens: cacheRead, cacheWrite5mTokens: write5m, cacheWrite1hTokens: write1h, reasoningTokens: 0, webSearchCount: i % 4 === 0 ? 2 : 0 });
    }
  }
  // Outside the shortcut: more cached than input tokens (a provider reporting oddly), which
  // genai-prices refuses to price.
  out.push({ inputTokens: 10, outputTokens: 5, cacheReadTokens: 500, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0, webSearchCount: 0 });
  return out;
}

/** genai-prices' own answer; it refuses usages with more cached than input tokens (null). */
function expected(providerId: string, model: string, u: Usage): number | null {
  let r;
  try {
    r = calcPrice({ input_tokens: u.inputTokens, output_tokens: u.outputTokens, cache_read_tokens: u.cacheReadTokens, cache_write_tokens: u.cacheWrite5mTokens + u.cacheWrite1hTokens, cache_write_1h_tokens: u.cacheWrite1hTokens }, model, { providerId });
  } catch {
    return null;
  }
  if (!r) return null;
  const perSearch = typeof r.model_price.web_searches_kcount === 'number' ? r.model_price.web_searches_kcount / 1000 : 0;
  return r.total_price + perSearch * u.webSearchCount;
}

describe('estimateCost', () => {
  for (const [basis, providerId, model] of MODELS) {
    test(`${basis} ${model}: the same price as genai-prices for every usage`, () => {
      let priced = 0;
      for (const u of usages()) {
        const want = expected(providerId, model, u);
        const got = estimateCost({ basis, model, adjustment: 1 }, u);
        if (want === null) {
          assert.equal(got, null);
          continue;
        }
        assert.ok(got, `${model} should be priced`);
        assert.ok(Math.abs(got.usd - want) <= 1e-9 * Math.max(1e-6, want), `${model} ${JSON.stringify(u)}: ${got.usd} != ${want}`);
        assert.match(got.basis, new RegExp(`^${basis}/`));
        priced++;
      }
      assert.ok(priced > 80, `${model}: only ${priced} usages priced`);
    });
  }

  test('1-hour cache writes cost more than 5-minute ones where the table says so', () => {
    const at = (write5m: number, write1h: number) => estimateCost({ basis: 'anthropic', model: 'claude-opus-4-1', adjustment: 1 }, { inputTokens: 100_000, outputTokens: 0, cacheReadTokens: 0, cacheWrite5mTokens: write5m, cacheWrite1hTokens: write1h, reasoningTokens: 0, webSearchCount: 0 })!.usd;
    assert.ok(at(0, 50_000) > at(50_000, 0), `${at(0, 50_000)} should exceed ${at(50_000, 0)}`);
  });

  test('tiered prices change at the threshold', () => {
    const at = (input: number) => estimateCost({ basis: 'anthropic', model: 'claude-sonnet-4-5', adjustment: 1 }, { inputTokens: input, outputTokens: 0, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0, webSearchCount: 0 })!.usd;
    const below = at(200_000) / 200_000;
    const above = at(200_001) / 200_001;
    assert.ok(above > below * 1.5, `per-token price above the tier (${above}) should exceed the one below (${below})`);
  });

  test('the adjustment scales the price; unknown models and bases are not priced', () => {
    const u: Usage = { inputTokens: 1000, outputTokens: 100, cacheReadTokens: 0, cacheWrite5mTokens: 0, cacheWrite1hTokens: 0, reasoningTokens: 0, webSearchCount: 0 };
    const one = estimateCost({ basis: 'openai', model: 'gpt-4o', adjustment: 1 }, u)!.usd;
    const half = estimateCost({ basis: 'openai', model: 'gpt-4o', adjustment: 0.5 }, u)!.usd;
    assert.ok(one > 0);
    assert.equal(half, one / 2);
    assert.equal(estimateCost({ basis: 'openai', model: 'no-such-model-test', adjustment: 1 }, u), null);
    assert.equal(estimateCost({ basis: 'vercel', model: 'nobody', adjustment: 1 }, u), null);
  });
});
