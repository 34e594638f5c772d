/**
 * Cost estimates from the price table shipped in @pydantic/genai-prices (works offline).
 * A model the table does not know is recorded with no cost, never a guess.
 */
import { calcPrice } from '@pydantic/genai-prices';
import type { ModelCostMapEntry, ProviderSpec } from '../config/types.js';
import type { PricingInput } from './record.js';
import type { Usage } from './usage.js';

/** The genai-prices provider for each cost_basis of the configuration. */
const PRICE_PROVIDER: Record<string, string | undefined> = {
  anthropic: 'anthropic',
  openai: 'openai',
  google: 'google',
  vertex: 'google',
  bedrock: 'aws',
  'bedrock-us': 'aws',
  'bedrock-eu': 'aws',
  'bedrock-ap': 'aws',
  azure: 'azure',
  'azure-eu': 'azure',
  openrouter: 'openrouter',
  vercel: undefined, // model IDs are `vendor/model`: the vendor names the price list
};

/** The cost basis a format implies when `auto_cost_basis` is on. */
const BASIS_BY_FORMAT: Record<string, string> = {
  anthropic_messages: 'anthropic',
  openai_chat: 'openai',
  openai_responses: 'openai',
  gemini_generate_content: 'google',
  google_generate_content: 'vertex',
};

/**
 * pricingFor resolves, at request time, what to price a call as: the provider's
 * `cost_basis` (or the one its format implies), and its `model_cost_map` (first match wins).
 * Returns null when the call cannot be priced.
 */
export function pricingFor(spec: ProviderSpec, format: string, upstreamModel: string, autoCostBasis: boolean): PricingInput | null {
  const basis = spec.costBasis ?? (autoCostBasis ? BASIS_BY_FORMAT[format] : undefined);
  if (!basis) return null;
  const mapped = spec.modelCostMap.find((m) => goPathMatch(m.match, upstreamModel));
  return mapped ? { basis, model: mapped.as, adjustment: mapped.adjustment } : { basis, model: upstreamModel, adjustment: 1 };
}

/** estimateCost prices a usage in USD, or returns null for a model without known prices. */
export function estimateCost(pricing: PricingInput, usage: Usage): { usd: number; basis: string } | null {
  let providerId = PRICE_PROVIDER[pricing.basis];
  let model = pricing.model;
  if (pricing.basis === 'vercel' || (pricing.basis === 'openrouter' && model.includes('/'))) {
    const slash = model.indexOf('/');
    if (pricing.basis === 'vercel' && slash > 0) {
      providerId = model.slice(0, slash);
      model = model.slice(slash + 1);
    }
  }
  if (!providerId) return null;
  try {
    const result = calcPrice(
      {
        input_tokens: usage.inputTokens,
        output_tokens: usage.outputTokens,
        cache_read_tokens: usage.cacheReadTokens,
        cache_write_tokens: usage.cacheWrite5mTokens + usage.cacheWrite1hTokens,
      },
      model,
      { providerId },
    );
    if (!result) return null;
    const webSearch = usage.webSearchCount > 0 ? webSearchPrice(result.model_price) * usage.webSearchCount : 0;
    return { usd: (result.total_price + webSearch) * pricing.adjustment, basis: `${pricing.basis}/${result.model.id}` };
  } catch {
    return null;
  }
}

/** Per-token prices as `/v1/models` shows them: USD decimal strings. */
export interface PriceSheet {
  input: string;
  output: string;
  input_cache_read?: string;
  input_cache_write?: string;
  input_cache_write_1h?: string;
  web_search?: string;
}

/** priceSheet looks up a model's list prices, or returns undefined for a model without known prices. */
export function priceSheet(pricing: PricingInput): PriceSheet | undefined {
  const providerId = PRICE_PROVIDER[pricing.basis];
  if (!providerId) return undefined;
  try {
    const result = calcPrice({ input_tokens: 0, output_tokens: 0 }, pricing.model, { providerId });
    if (!result) return undefined;
    const p = result.model_price;
    const perToken = (key: string, per = 1e6): string | undefined => {
      const v = p[key];
      const n = typeof v === 'number' ? v : v && typeof v === 'object' && 'base' in v ? (v as { base: number }).base : undefined;
      return n === undefined ? undefined : decimal((n * pricing.adjustment) / per);
    };
    const sheet: PriceSheet = { input: perToken('input_mtok') ?? '0', output: perToken('output_mtok') ?? '0' };
    const extra: Array<[keyof PriceSheet, string | undefined]> = [
      ['input_cache_read', perToken('cache_read_mtok')],
      ['input_cache_write', perToken('cache_write_mtok')],
      ['input_cache_write_1h', perToken('cache_write_1h_mtok')],
      ['web_search', perToken('web_searches_kcount', 1000)],
    ];
    for (const [k, v] of extra) if (v !== undefined) sheet[k] = v;
    return sheet;
  } catch {
    return undefined;
  }
}

function decimal(n: number): string {
  const s = n.toFixed(12).replace(/0+$/, '');
  return s.endsWith('.') ? `${s}0` : s;
}

function webSearchPrice(price: Record<string, unknown>): number {
  const perThousand = price.web_searches_kcount;
  return typeof perThousand === 'number' ? perThousand / 1000 : 0;
}

/** goPathMatch implements Go's path.Match: `*` is a run of non-`/` characters, `?` one character. */
export function goPathMatch(pattern: string, name: string): boolean {
  const memo = new Map<string, boolean>();
  const go = (p: number, n: number): boolean => {
    const key = `${p},${n}`;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let result: boolean;
    if (p === pattern.length) result = n === name.length;
    else if (pattern[p] === '*') result = go(p + 1, n) || (n < name.length && name[n] !== '/' && go(p, n + 1));
    else if (pattern[p] === '?') result = n < name.length && name[n] !== '/' && go(p + 1, n + 1);
    else result = n < name.length && pattern[p] === name[n] && go(p + 1, n + 1);
    memo.set(key, result);
    return result;
  };
  return go(0, 0);
}

export type { ModelCostMapEntry };
