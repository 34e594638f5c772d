/**
 * `GET /v1/models` and `GET /api/providers`: what a caller can use, filtered by their
 * grants. Neither ever includes a key; `requires_client_auth` says whether a provider
 * can only be used with the caller's own credential (passthrough without a fallback key).
 *
 * The answers depend on nothing but the snapshot and the caller's granted models (no
 * query parameters, no per-client shape; a model's `created` is when keyway first offered
 * it, which no later snapshot changes), so `listingBody` serializes each one once per
 * (snapshot, listing, granted models) and serves the same bytes until a reload makes a new
 * snapshot.
 */
import type { Access } from '../access/grants.js';
import type { CompiledProvider, Snapshot } from '../config/snapshot.js';
import { FORMATS } from '../formats/registry.js';
import { priceSheet, pricingFor, type PriceSheet } from '../telemetry/pricing.js';
import type { ModelDates } from './model-dates.js';

/** One row of `/v1/models`: shaped for OpenAI SDKs, Anthropic SDKs and Aperture clients alike. */
export interface ModelRow {
  id: string;
  object: 'model';
  type: 'model';
  created: number;
  created_at: string;
  owned_by: string;
  display_name: string;
  supported_endpoints: string[];
  metadata: {
    provider: { id: string; name: string; description: string; requires_client_auth: boolean; upstream: string; auth_mode: string };
  };
  /** Per-token list prices in USD, when the price table knows the model. */
  pricing?: PriceSheet;
}

// Price lookups cost tens of microseconds each: do them once per provider and model.
const priceCache = new WeakMap<CompiledProvider, Map<string, PriceSheet | undefined>>();

function pricesOf(snapshot: Snapshot, provider: CompiledProvider, model: string): PriceSheet | undefined {
  let byModel = priceCache.get(provider);
  if (!byModel) priceCache.set(provider, (byModel = new Map()));
  if (!byModel.has(model)) {
    const flag = FORMATS.find((f) => provider.formats.has(f.flag))?.flag ?? 'openai_chat';
    const pricing = pricingFor(provider.spec, flag, model, snapshot.config.autoCostBasis);
    byModel.set(model, pricing ? priceSheet(pricing) : undefined);
  }
  return byModel.get(model);
}

/**
 * listModels is the `/v1/models` answer. A model's `created` (and `created_at`) is when
 * keyway first offered it (ModelDates), so reloads and provider edits leave it alone; a
 * model ModelDates has not noted yet falls back to this snapshot's load time, the time it
 * is about to be noted with.
 */
export function listModels(snapshot: Snapshot, access: Access, dates: ModelDates): { object: 'list'; data: ModelRow[]; has_more: false; first_id: string | null; last_id: string | null } {
  const data: ModelRow[] = [];
  for (const provider of sortedProviders(snapshot)) {
    if (provider.spec.disabled) continue;
    const endpoints = FORMATS.filter((f) => provider.formats.has(f.flag)).flatMap((f) => f.endpoints);
    if (endpoints.length === 0) continue;
    for (const model of provider.spec.models) {
      if (!access.canUseModel(provider.id, model)) continue;
      const created = dates.firstSeen(provider.id, model) ?? snapshot.loadedAt;
      data.push({
        id: model,
        object: 'model',
        type: 'model',
        created: Math.floor(created.getTime() / 1000),
        created_at: created.toISOString(),
        owned_by: provider.id,
        display_name: model,
        supported_endpoints: endpoints,
        metadata: { provider: providerMeta(provider) },
        pricing: pricesOf(snapshot, provider, model),
      });
    }
  }
  return { object: 'list', data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}

function providerMeta(p: CompiledProvider) {
  return {
    id: p.id,
    name: p.spec.name || p.id,
    description: p.spec.description,
    requires_client_auth: p.requiresClientAuth,
    upstream: p.upstream,
    auth_mode: p.spec.authMode,
  };
}

/** listProviders: every usable provider (disabled ones too), with the caller's granted models. */
export function listProviders(snapshot: Snapshot, access: Access) {
  return sortedProviders(snapshot).map((p) => ({
    id: p.id,
    name: p.spec.name || p.id,
    description: p.spec.description,
    models: p.spec.models.filter((m) => access.canUseModel(p.id, m)),
    compatibility: p.spec.compatibility,
    auth_mode: p.spec.authMode,
    requires_client_auth: p.requiresClientAuth,
    disabled: p.spec.disabled,
  }));
}

function sortedProviders(snapshot: Snapshot): CompiledProvider[] {
  return [...snapshot.providers.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * listGeminiModels answers `GET /v1beta/models` in the Gemini API's own shape, so Google's
 * SDKs can list models too: the caller's granted models of providers that serve the
 * Gemini format, by bare name (a client may still call `provider/model`).
 */
export function listGeminiModels(snapshot: Snapshot, access: Access) {
  const models: Array<{ name: string; baseModelId: string; displayName: string; description: string; supportedGenerationMethods: string[] }> = [];
  for (const provider of sortedProviders(snapshot)) {
    if (provider.spec.disabled || !provider.formats.has('gemini_generate_content')) continue;
    for (const model of provider.spec.models) {
      if (!access.canUseModel(provider.id, model)) continue;
      models.push({
        name: `models/${model}`,
        baseModelId: model,
        displayName: model,
        description: `${provider.spec.name || provider.id}${provider.spec.description ? `: ${provider.spec.description}` : ''}`,
        supportedGenerationMethods: ['generateContent', 'streamGenerateContent', 'countTokens'],
      });
    }
  }
  return { models };
}

export type Listing = 'models' | 'gemini' | 'providers';

const BUILDERS: Record<Listing, (snapshot: Snapshot, access: Access, dates: ModelDates) => unknown> = {
  models: listModels,
  gemini: listGeminiModels,
  providers: listProviders,
};

// Serialized answers per snapshot, keyed by listing and Access.modelsKey (not by the Access
// object: that lives only as long as its Identity, which can be one per connection or per
// request). A reload makes a new Snapshot, so its cache starts empty and the old one goes
// with the old snapshot. Least recently used bodies are dropped beyond these bounds.
const MAX_BODIES = 32;
const MAX_BYTES = 64 * 1024 * 1024;
const bodies = new WeakMap<Snapshot, { entries: Map<string, Buffer>; bytes: number }>();

/** listingBody returns the JSON body of a listing for this caller, built at most once per snapshot. */
export function listingBody(listing: Listing, snapshot: Snapshot, access: Access, dates: ModelDates): Buffer {
  let cache = bodies.get(snapshot);
  if (!cache) bodies.set(snapshot, (cache = { entries: new Map(), bytes: 0 }));
  const key = `${listing}\0${access.modelsKey}`;
  let body = cache.entries.get(key);
  if (body) {
    // Most recently used last, so eviction below drops the coldest first.
    cache.entries.delete(key);
    cache.entries.set(key, body);
    return body;
  }
  body = Buffer.from(JSON.stringify(BUILDERS[listing](snapshot, access, dates)));
  cache.entries.set(key, body);
  cache.bytes += body.length;
  for (const [k, b] of cache.entries) {
    if (k === key || (cache.entries.size <= MAX_BODIES && cache.bytes <= MAX_BYTES)) break;
    cache.entries.delete(k);
    cache.bytes -= b.length;
  }
  return body;
}
