/**
 * `GET /v1/models`, `GET /v1/models/{id}` and `GET /api/providers`: what a caller can
 * use, filtered by their grants. Neither ever includes a key; `requires_client_auth` says whether a provider
 * can only be used with the caller's own credential (passthrough without a fallback key).
 *
 * The answers depend on nothing but the snapshot and the caller's granted models (no
 * query parameters, no per-client shape; a model's `created` is when keyway first offered
 * it, which no later snapshot changes), so `listingBody` serializes each one once per
 * (snapshot, listing, granted models) and serves the same bytes until a reload makes a new
 * snapshot.
 */
import type { Access } from '../access/grants.js';
import { byPreference, type CompiledProvider, type Snapshot } from '../config/snapshot.js';
import type { FormatFlag } from '../config/types.js';
import { FORMATS } from '../formats/registry.js';
import { resolveRoute, type Resolution } from '../routing/resolve.js';
import { translationTarget } from '../translate/codecs.js';
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
  /** Every endpoint the model can be reached through: the provider's own first, then the translated ones. */
  supported_endpoints: string[];
  metadata: {
    provider: { id: string; name: string; description: string; requires_client_auth: boolean; upstream: string; auth_mode: string };
    /** The endpoints of supported_endpoints that keyway reaches by translating (docs/translation.md). */
    translated_endpoints: string[];
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
export function listModels(snapshot: Snapshot, access: Access, dates: ModelDates, translation = true): { object: 'list'; data: ModelRow[]; has_more: false; first_id: string | null; last_id: string | null } {
  const data: ModelRow[] = [];
  for (const provider of sortedProviders(snapshot)) {
    if (provider.spec.disabled) continue;
    const endpoints = endpointsOf(provider, translation);
    if (endpoints.native.length === 0) continue;
    for (const model of provider.spec.models) {
      if (!access.canUseModel(provider.id, model)) continue;
      data.push(modelRow(snapshot, dates, provider, model, endpoints));
    }
  }
  return { object: 'list', data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}

interface Endpoints {
  native: string[];
  translated: string[];
}

/** endpointsOf lists a provider's own endpoints and, with translation on, those keyway reaches it through by translating. */
function endpointsOf(provider: CompiledProvider, translation: boolean): Endpoints {
  const native = FORMATS.filter((f) => provider.formats.has(f.flag)).flatMap((f) => f.endpoints);
  const translated = translation ? FORMATS.filter((f) => !provider.formats.has(f.flag) && translationTarget(provider.formats, f.flag)).flatMap((f) => f.endpoints) : [];
  return { native, translated };
}

/** modelRow is one row of the listing; `id` is the name the caller used (bare or provider/model). */
function modelRow(snapshot: Snapshot, dates: ModelDates, provider: CompiledProvider, model: string, endpoints: Endpoints, id = model): ModelRow {
  const created = dates.firstSeen(provider.id, model) ?? snapshot.loadedAt;
  return {
    id,
    object: 'model',
    type: 'model',
    created: Math.floor(created.getTime() / 1000),
    created_at: created.toISOString(),
    owned_by: provider.id,
    display_name: model,
    supported_endpoints: [...endpoints.native, ...endpoints.translated],
    metadata: { provider: providerMeta(provider), translated_endpoints: endpoints.translated },
    pricing: pricesOf(snapshot, provider, model),
  };
}

/**
 * bestResolution resolves `id` as a request in each of `flags` would and keeps the winner:
 * an exact model name before a `provider/model` reading, then the provider routing would
 * prefer (highest preference, ties by ID). Undefined when the caller may not use it.
 */
function bestResolution(snapshot: Snapshot, access: Access, id: string, flags: readonly FormatFlag[], translation: boolean): Resolution | undefined {
  let best: Resolution | undefined;
  for (const flag of flags) {
    const r = resolveRoute(snapshot, flag, id, access, translation);
    if (!r) continue;
    const exact = r.upstreamModel === id;
    const bestExact = best?.upstreamModel === id;
    if (!best || (exact && !bestExact) || (exact === bestExact && byPreference(r.provider, best.provider) < 0)) best = r;
  }
  return best;
}

const ALL_FLAGS = FORMATS.map((f) => f.flag);

/**
 * retrieveModel answers `GET /v1/models/{id}` (the OpenAI and Anthropic SDKs'
 * `models.retrieve`): the listing's row for the provider a request for `id` would reach,
 * with `id` as asked. Undefined for a model the caller does not have, so an ungranted
 * model looks exactly like one that does not exist.
 */
export function retrieveModel(snapshot: Snapshot, access: Access, dates: ModelDates, id: string, translation = true): ModelRow | undefined {
  const r = bestResolution(snapshot, access, id, ALL_FLAGS, translation);
  return r && modelRow(snapshot, dates, r.provider, r.upstreamModel, endpointsOf(r.provider, translation), id);
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

/** listProviders: every provider (disabled ones too), with the caller's granted models. */
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
export function listGeminiModels(snapshot: Snapshot, access: Access, _dates?: ModelDates, translation = true) {
  const models: GeminiModel[] = [];
  for (const provider of sortedProviders(snapshot)) {
    const reachable = provider.formats.has('gemini_generate_content') || (translation && translationTarget(provider.formats, 'gemini_generate_content') !== undefined);
    if (provider.spec.disabled || !reachable) continue;
    for (const model of provider.spec.models) {
      if (!access.canUseModel(provider.id, model)) continue;
      models.push(geminiModel(provider, model));
    }
  }
  return { models };
}

interface GeminiModel {
  name: string;
  baseModelId: string;
  displayName: string;
  description: string;
  supportedGenerationMethods: string[];
}

function geminiModel(provider: CompiledProvider, model: string, id = model): GeminiModel {
  return {
    name: `models/${id}`,
    baseModelId: model,
    displayName: model,
    description: `${provider.spec.name || provider.id}${provider.spec.description ? `: ${provider.spec.description}` : ''}`,
    supportedGenerationMethods: ['generateContent', 'streamGenerateContent', 'countTokens'],
  };
}

/** retrieveGeminiModel answers `GET /v1beta/models/{id}` (@google/genai's `models.get`) in Gemini's shape. */
export function retrieveGeminiModel(snapshot: Snapshot, access: Access, id: string, translation = true) {
  const r = bestResolution(snapshot, access, id, ['gemini_generate_content'], translation);
  return r && geminiModel(r.provider, r.upstreamModel, id);
}

export type Listing = 'models' | 'gemini' | 'providers';

const BUILDERS: Record<Listing, (snapshot: Snapshot, access: Access, dates: ModelDates, translation: boolean) => unknown> = {
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
export function listingBody(listing: Listing, snapshot: Snapshot, access: Access, dates: ModelDates, translation = true): Buffer {
  let cache = bodies.get(snapshot);
  if (!cache) bodies.set(snapshot, (cache = { entries: new Map(), bytes: 0 }));
  const key = `${listing}\0${translation ? 1 : 0}\0${access.modelsKey}`;
  let body = cache.entries.get(key);
  if (body) {
    // Most recently used last, so eviction below drops the coldest first.
    cache.entries.delete(key);
    cache.entries.set(key, body);
    return body;
  }
  body = Buffer.from(JSON.stringify(BUILDERS[listing](snapshot, access, dates, translation)));
  cache.entries.set(key, body);
  cache.bytes += body.length;
  for (const [k, b] of cache.entries) {
    if (k === key || (cache.entries.size <= MAX_BODIES && cache.bytes <= MAX_BYTES)) break;
    cache.entries.delete(k);
    cache.bytes -= b.length;
  }
  return body;
}
