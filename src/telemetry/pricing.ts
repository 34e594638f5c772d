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

/** Most models whose prices are remembered; beyond it the memo starts over. */
const MAX_PRICE_MODELS = 10_000;

/** The cost basis a format implies when `auto_cost_basis` is on. */
/** BASIS_BY_FORMAT is the price list, and the service, an API format implies. */
export const BASIS_BY_FORMAT: Record<string, string> = {
  anthropic_messages: 'anthropic',
  openai_chat: 'openai',
  openai_responses: 'openai',
  gemini_generate_content: 'google',
  google_generate_content: 'vertex',
  // Vertex's price list has Anthropic's models too, under their Vertex names (`claude-…@date`).
  google_raw_predict: 'vertex',
  experimental_gemini_cli_vertex_compat: 'vertex',
  // Aperture needs an explicit cost_basis for Bedrock; keyway prices it from AWS's list
  // (one table for every region: genai-prices tells regional and global profiles apart by ID).
  bedrock_model_invoke: 'bedrock',
  bedrock_converse: 'bedrock',
};

/**
 * pricingFor resolves, at request time, what to price a call as: the provider's
 * `cost_basis` (or the one its format implies), and its `model_cost_map` (first match wins).
 * Returns null when the call cannot be priced.
 */
export function pricingFor(spec: ProviderSpec, format: string, upstreamModel: string, autoCostBasis: boolean): PricingInput | null {
  // Resolved once per provider, format and model: requests only ask about configured
  // models. Looked up by the strings as they are: a key joined from them would be a new
  // string on every request, hashed and compared in full.
  let byFormat = resolvedPricing.get(spec);
  if (!byFormat) resolvedPricing.set(spec, (byFormat = new Map()));
  let byModel = byFormat.get(format);
  if (!byModel) byFormat.set(format, (byModel = new Map()));
  let resolved = byModel.get(upstreamModel);
  if (!resolved) {
    if (byModel.size >= MAX_PRICE_MODELS) byModel.clear();
    byModel.set(upstreamModel, (resolved = {}));
  }
  const which = autoCostBasis ? 'auto' : 'explicit';
  let pricing = resolved[which];
  if (pricing === undefined) pricing = resolved[which] = resolvePricing(spec, format, upstreamModel, autoCostBasis);
  return pricing;
}

/** A model's pricing with and without `auto_cost_basis`, each resolved when first asked. */
interface ResolvedPricing {
  auto?: PricingInput | null;
  explicit?: PricingInput | null;
}

const resolvedPricing = new WeakMap<ProviderSpec, Map<string, Map<string, ResolvedPricing>>>();

function resolvePricing(spec: ProviderSpec, format: string, upstreamModel: string, autoCostBasis: boolean): PricingInput | null {
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
  const prices = priceModel(providerId, model);
  if (!prices) return null;
  const tokens: TokenCounts = {
    input: usage.inputTokens,
    output: usage.outputTokens,
    cacheRead: usage.cacheReadTokens,
    cacheWrite: usage.cacheWrite5mTokens + usage.cacheWrite1hTokens,
    cacheWrite1h: usage.cacheWrite1hTokens,
  };
  let total = linearPrice(prices, tokens);
  let perSearch = prices.webSearch;
  if (total === undefined) {
    // The table itself, at this moment (its prices may be dated or time-of-day).
    const result = price(providerId, model, tokens);
    if (!result) return null;
    total = result.total_price;
    perSearch = webSearchPrice(result.model_price);
  }
  const webSearch = usage.webSearchCount > 0 ? perSearch * usage.webSearchCount : 0;
  return { usd: (total + webSearch) * pricing.adjustment, basis: `${pricing.basis}/${prices.modelId}` };
}

interface TokenCounts {
  input: number;
  output: number;
  cacheRead: number;
  /** All cache writes, the 1-hour ones included. */
  cacheWrite: number;
  /** The part of `cacheWrite` with a 1-hour lifetime (priced higher where the table says so). */
  cacheWrite1h: number;
}

const NO_TOKENS: TokenCounts = Object.freeze({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cacheWrite1h: 0 });

/** USD per token of each kind, and per request (`fixed`). */
type Rates = TokenCounts & { fixed: number };

/**
 * What one model costs, resolved once. genai-prices finds the model among all of a
 * provider's by pattern on every call (10-20 µs); keyway asks it once per model, and for
 * prices that are per-token rates it learns the rates and prices a request by a dot
 * product. Tiered prices (a higher rate once the input passes a threshold) are such
 * rates within each tier, so rates are learned per tier. Dated or time-of-day prices, and
 * usages where cached tokens exceed the input, are left to genai-prices on every call.
 */
interface PriceModel {
  providerId: string;
  model: string;
  modelId: string;
  webSearch: number;
  /** Input-token thresholds where tiers start (the tier applies above it); undefined: not rates. */
  tierStarts: number[] | undefined;
  /** Rates per tier (index: how many thresholds the input exceeds), learned on first use. */
  tiers: Map<number, Rates | null>;
}

const priceModels = new Map<string, PriceModel | null>();

function priceModel(providerId: string, model: string): PriceModel | null {
  const key = `${providerId}\0${model}`;
  let cached = priceModels.get(key);
  if (cached === undefined) {
    if (priceModels.size >= MAX_PRICE_MODELS) priceModels.clear();
    const at = price(providerId, model, NO_TOKENS);
    cached = at && {
      providerId,
      model,
      modelId: at.model.id,
      webSearch: webSearchPrice(at.model_price),
      tierStarts: Array.isArray(at.model.prices) ? undefined : tierStarts(at.model_price),
      tiers: new Map(),
    };
    priceModels.set(key, cached);
  }
  return cached;
}

/** The sorted tier thresholds of a price, or undefined when a price is neither a rate nor tiered rates. */
function tierStarts(modelPrice: Record<string, unknown>): number[] | undefined {
  const starts = new Set<number>();
  for (const v of Object.values(modelPrice)) {
    if (v === undefined || typeof v === 'number') continue;
    const tiers = (v as { tiers?: unknown }).tiers;
    if (!Array.isArray(tiers)) return undefined;
    for (const t of tiers as Array<{ start?: unknown }>) {
      if (typeof t.start !== 'number') return undefined;
      starts.add(t.start);
    }
  }
  return [...starts].sort((a, b) => a - b);
}

function linearPrice(m: PriceModel, t: TokenCounts): number | undefined {
  if (!m.tierStarts || t.cacheRead + t.cacheWrite > t.input) return undefined;
  let tier = 0;
  while (tier < m.tierStarts.length && t.input > m.tierStarts[tier]!) tier++;
  let rates = m.tiers.get(tier);
  if (rates === undefined) m.tiers.set(tier, (rates = learnRates(m, tier)));
  return rates ? rates.fixed + dot(rates, t) : undefined;
}

/**
 * learnRates measures a tier's rates with the table's own arithmetic (the change in price
 * per token of each kind, around a point inside the tier with cached tokens part of the
 * input as in real usage), then checks them at a second point; any disagreement (a price
 * that is not linear after all) leaves this tier to genai-prices.
 */
function learnRates(m: PriceModel, tier: number): Rates | null {
  const starts = m.tierStarts!;
  const low = tier === 0 ? 0 : starts[tier - 1]!;
  const high = tier < starts.length ? starts[tier]! : low + 16e6;
  const span = high - low;
  const x = low + span / 2;
  const base: TokenCounts = { input: x, output: 1e5, cacheRead: x / 8, cacheWrite: x / 8, cacheWrite1h: x / 32 };
  const at = (t: TokenCounts): number => price(m.providerId, m.model, t)?.total_price ?? NaN;
  const slope = (k: keyof TokenCounts, step: number) => (at({ ...base, [k]: base[k] + step }) - at(base)) / step;
  const rates: TokenCounts = {
    input: slope('input', span / 8),
    output: slope('output', 1e5),
    cacheRead: slope('cacheRead', x / 8),
    cacheWrite: slope('cacheWrite', x / 8),
    cacheWrite1h: slope('cacheWrite1h', x / 32),
  };
  const fixed = at(base) - dot(rates, base);
  const y = low + span / 4 + 1;
  const probe: TokenCounts = { input: y, output: 54_321, cacheRead: y / 3, cacheWrite: y / 5, cacheWrite1h: y / 20 };
  const expected = at(probe);
  const got = fixed + dot(rates, probe);
  return Math.abs(got - expected) <= 1e-9 * Math.max(1e-6, Math.abs(expected)) ? { ...rates, fixed } : null;
}

function dot(r: TokenCounts, t: TokenCounts): number {
  return r.input * t.input + r.output * t.output + r.cacheRead * t.cacheRead + r.cacheWrite * t.cacheWrite + r.cacheWrite1h * t.cacheWrite1h;
}

/** price asks genai-prices, which finds the model by pattern; null when it is unknown or the usage is refused. */
function price(providerId: string, model: string, t: TokenCounts) {
  try {
    return calcPrice(
      { input_tokens: t.input, output_tokens: t.output, cache_read_tokens: t.cacheRead, cache_write_tokens: t.cacheWrite, cache_write_1h_tokens: t.cacheWrite1h },
      model,
      { providerId },
    );
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
  const result = price(providerId, pricing.model, NO_TOKENS);
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
