/**
 * Model resolution: which provider serves a requested model name for a caller.
 *
 * 1. An exact name listed by enabled providers that serve the format wins first (model
 *    IDs such as OpenRouter's `qwen/qwen3-coder` contain `/` themselves).
 * 2. Otherwise `provider/model` targets that one provider, and `model` is what the
 *    upstream receives.
 * Among several candidates the caller must be granted `provider/model`; of the granted
 * ones the highest `preference` wins, ties by provider ID (see snapshot.ts).
 * The order is the reference's. An exact name that reads as another provider's prefix
 * (`openai/gpt-5` listed by an OpenRouter provider) therefore wins over that provider:
 * validation reports such names and explain says which rule chose.
 *
 * With translation on (resolveRoute), providers that serve the model in another format
 * keyway can translate to are candidates too: the highest preference still wins, and at
 * equal preference a provider serving the client's own format beats one that would need
 * translation (translate/codecs.ts says which format a provider is then called in).
 */
import type { Access } from '../access/grants.js';
import type { CompiledProvider, Snapshot } from '../config/snapshot.js';
import type { FormatFlag } from '../config/types.js';
import { translationTarget } from '../translate/codecs.js';

/** Which resolution rule chose the provider (explain tells callers; see docs/configuration.md). */
export type ResolutionRule = 'exact name' | 'provider prefix';

export interface Resolution {
  provider: CompiledProvider;
  /** The model name to send upstream (the provider prefix removed). */
  upstreamModel: string;
  rule: ResolutionRule;
  /** The format the provider is called in: the client's own, or the one keyway translates to. */
  target: FormatFlag;
}

export function resolveModel(snapshot: Snapshot, flag: FormatFlag, requested: string, access: Access): Resolution | undefined {
  const candidates = snapshot.routes.get(flag)?.get(requested);
  if (candidates) {
    for (const provider of candidates) {
      if (access.canUseModel(provider.id, requested)) return { provider, upstreamModel: requested, rule: 'exact name', target: flag };
    }
  }
  const slash = requested.indexOf('/');
  if (slash > 0) {
    const provider = snapshot.providers.get(requested.slice(0, slash));
    const model = requested.slice(slash + 1);
    if (provider && !provider.spec.disabled && provider.formats.has(flag) && provider.models.has(model) && access.canUseModel(provider.id, model)) {
      return { provider, upstreamModel: model, rule: 'provider prefix', target: flag };
    }
  }
  return undefined;
}

/** resolveRoute is resolveModel with translation: see the module comment. */
export function resolveRoute(snapshot: Snapshot, flag: FormatFlag, requested: string, access: Access, translation: boolean): Resolution | undefined {
  if (!translation) return resolveModel(snapshot, flag, requested, access);
  const candidates = snapshot.byModel.get(requested);
  if (candidates) {
    let translated: Resolution | undefined;
    for (const provider of candidates) {
      // Sorted by preference: once below the translated candidate's, no native one can win.
      if (translated && provider.spec.preference < translated.provider.spec.preference) break;
      if (!access.canUseModel(provider.id, requested)) continue;
      if (provider.formats.has(flag)) return { provider, upstreamModel: requested, rule: 'exact name', target: flag };
      if (!translated) {
        const target = translationTarget(provider.formats, flag);
        if (target) translated = { provider, upstreamModel: requested, rule: 'exact name', target };
      }
    }
    if (translated) return translated;
  }
  const slash = requested.indexOf('/');
  if (slash > 0) {
    const provider = snapshot.providers.get(requested.slice(0, slash));
    const model = requested.slice(slash + 1);
    if (provider && !provider.spec.disabled && provider.models.has(model) && access.canUseModel(provider.id, model)) {
      const target = provider.formats.has(flag) ? flag : translationTarget(provider.formats, flag);
      if (target) return { provider, upstreamModel: model, rule: 'provider prefix', target };
    }
  }
  return undefined;
}
