/**
 * explainModel answers "why does (or doesn't) this model work for me?" in one call: for
 * a caller and a model name it says which provider would serve it, or exactly why not
 * (no role, no grant, provider disabled or broken, format flag missing, name not listed,
 * wildcard used). It runs the same resolution as real requests, then inspects every
 * provider that mentions the name to give the reasons.
 */
import { globSegmentMatches } from '../config/validate-sections.js';
import type { Access } from '../access/grants.js';
import type { Snapshot } from '../config/snapshot.js';
import type { FormatFlag, ProviderSpec } from '../config/types.js';
import { FORMATS } from '../formats/registry.js';
import { translationTarget } from '../translate/codecs.js';
import { resolveRoute } from './resolve.js';

export type Verdict = 'chosen' | 'eligible' | 'not granted' | 'disabled' | 'format not enabled' | 'unusable' | 'wildcard';

export interface Candidate {
  provider: string;
  /** The name this provider would receive. */
  upstream_model: string;
  verdict: Verdict;
  detail: string;
}

export interface Explanation {
  model: string;
  login: string;
  role: string | null;
  served: boolean;
  /** The formats (compatibility flags) through which the caller can use the model. */
  formats: FormatFlag[];
  /** For each of those formats that keyway would translate: the format the provider is called in. */
  translations: Partial<Record<FormatFlag, FormatFlag>>;
  provider: string | null;
  upstream_model: string | null;
  summary: string;
  candidates: Candidate[];
}

export function explainModel(snapshot: Snapshot, access: Access, login: string, model: string, onlyFormat?: FormatFlag, translation = true): Explanation {
  const flags = onlyFormat ? [onlyFormat] : FORMATS.map((f) => f.flag);
  const base = { model, login, role: access.role ?? null };
  const served = flags.map((flag) => ({ flag, r: resolveRoute(snapshot, flag, model, access, translation) })).filter((x) => x.r !== undefined);
  const first = served[0]?.r;
  const candidates = inspectCandidates(snapshot, access, model, onlyFormat, first?.provider.id, translation);

  if (access.role === undefined) {
    return { ...base, served: false, formats: [], translations: {}, provider: null, upstream_model: null, candidates, summary: `${login} has no role: no grant in the configuration or the tailnet policy gives them "user" or "admin", so every request is refused with 403` };
  }
  if (first) {
    const others = candidates.filter((c) => c.verdict === 'eligible').map((c) => c.provider);
    return {
      ...base,
      served: true,
      formats: served.map((s) => s.flag),
      translations: Object.fromEntries(served.filter((s) => s.r!.target !== s.flag).map((s) => [s.flag, s.r!.target])),
      provider: first.provider.id,
      upstream_model: first.upstreamModel,
      candidates,
      summary:
        `served by ${first.provider.id} as "${first.upstreamModel}" through ${served.map((s) => (s.r!.target === s.flag ? s.flag : `${s.flag} (translated from ${s.flag} to ${s.r!.target})`)).join(', ')}` +
        (others.length ? `; also eligible: ${others.join(', ')} (lower preference or later ID)` : ''),
    };
  }
  const why = candidates.length === 0
    ? `no provider lists "${model}"${model.includes('/') ? ` and "${model.split('/')[0]}" is not a provider that lists "${model.slice(model.indexOf('/') + 1)}"` : ''}; GET /v1/models shows what you can use`
    : candidates.map((c) => `${c.provider}: ${c.detail}`).join('; ');
  return { ...base, served: false, formats: [], translations: {}, provider: null, upstream_model: null, candidates, summary: `not served: ${why}` };
}

function inspectCandidates(snapshot: Snapshot, access: Access, model: string, onlyFormat: FormatFlag | undefined, chosen: string | undefined, translation: boolean): Candidate[] {
  const out: Candidate[] = [];
  for (const spec of snapshot.config.providers) {
    const prefix = `${spec.id}/`;
    const name = spec.models.includes(model) ? model : model.startsWith(prefix) && spec.models.includes(model.slice(prefix.length)) ? model.slice(prefix.length) : undefined;
    if (name === undefined) {
      const wildcard = spec.ignoredModels.find((w) => globSegmentMatches(w, model) || globSegmentMatches(w, model.slice(prefix.length)));
      if (wildcard) out.push({ provider: spec.id, upstream_model: model, verdict: 'wildcard', detail: `lists "${wildcard}", but model names are exact and wildcards match nothing; list "${model}" itself` });
      continue;
    }
    out.push({ provider: spec.id, upstream_model: name, ...judge(spec, snapshot, access, name, onlyFormat, chosen, translation) });
  }
  return out;
}

function judge(spec: ProviderSpec, snapshot: Snapshot, access: Access, name: string, onlyFormat: FormatFlag | undefined, chosen: string | undefined, translation: boolean): { verdict: Verdict; detail: string } {
  if (!spec.usable) {
    const problems = snapshot.problems.filter((p) => p.severity === 'warning' && p.path.startsWith(`providers.${spec.id}`)).map((p) => p.message);
    return { verdict: 'unusable', detail: `left out of routing because of configuration problems: ${problems.join('; ') || 'see keyway check'}` };
  }
  if (spec.disabled) return { verdict: 'disabled', detail: 'the provider is disabled ("disabled": true)' };
  const served = FORMATS.filter((f) => spec.compatibility[f.flag]).map((f) => f.flag);
  const via = onlyFormat && !spec.compatibility[onlyFormat] && translation ? translationTarget(new Set(served), onlyFormat) : undefined;
  if (onlyFormat ? !spec.compatibility[onlyFormat] && !via : served.length === 0) {
    return { verdict: 'format not enabled', detail: onlyFormat ? `compatibility.${onlyFormat} is not enabled (it serves: ${served.join(', ') || 'nothing keyway proxies'})${translation ? '' : '; translation is off (--translation off)'}` : 'no compatibility flag keyway serves is enabled' };
  }
  const how = via ? `, translated to ${via}` : '';
  if (!access.canUseModel(spec.id, name)) {
    return { verdict: 'not granted', detail: `no models pattern of yours matches "${spec.id}/${name}" (yours: ${access.modelPatterns.join(', ') || 'none'})` };
  }
  if (spec.id === chosen) return { verdict: 'chosen', detail: `serves it (preference ${spec.preference}${how})` };
  return { verdict: 'eligible', detail: `could serve it (preference ${spec.preference}${how})` };
}
