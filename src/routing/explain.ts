/**
 * explainModel answers "why does (or doesn't) this model work for me?" in one call: for
 * a caller and a model name it says which provider would serve it, or exactly why not
 * (no role, no grant, provider disabled, format flag missing, name not listed). It runs
 * the same resolution as real requests, then inspects every provider that mentions the
 * name to give the reasons. (A broken provider or a wildcard model name never gets this
 * far: such a document is refused as a whole.)
 */
import type { Access } from '../access/grants.js';
import type { CompiledProvider, Snapshot } from '../config/snapshot.js';
import type { FormatFlag, ProviderSpec } from '../config/types.js';
import { FORMATS, formatByFlag } from '../formats/registry.js';
import type { QuotaExplanation } from '../governance/quota-explain.js';
import { translationTarget } from '../translate/codecs.js';
import { resolveRoute, type Resolution, type ResolutionRule } from './resolve.js';

export type Verdict = 'chosen' | 'eligible' | 'shadowed' | 'not granted' | 'disabled' | 'format not enabled';

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
  /** Which rule chose the provider: the exact model name, or a `provider/` prefix. */
  rule: ResolutionRule | null;
  summary: string;
  candidates: Candidate[];
  /** The quota buckets a request would be charged to, and whether it would pass now (when served). */
  quotas?: QuotaExplanation;
}

/** Explains the quota side of a served request: which buckets, and whether it would pass now. */
export type QuotaExplainer = (provider: CompiledProvider, format: FormatFlag, upstreamModel: string) => QuotaExplanation;

export function explainModel(snapshot: Snapshot, access: Access, login: string, model: string, onlyFormat?: FormatFlag, quotas?: QuotaExplainer, translation = true): Explanation {
  const flags = onlyFormat ? [onlyFormat] : FORMATS.map((f) => f.flag);
  const base = { model, login, role: access.role ?? null };
  const served = flags.map((flag) => ({ flag, r: resolveRoute(snapshot, flag, model, access, translation) })).filter((x) => x.r !== undefined);
  const first = served[0]?.r;
  const candidates = inspectCandidates(snapshot, access, model, onlyFormat, first, translation);

  if (access.role === undefined) {
    return { ...base, served: false, formats: [], translations: {}, provider: null, upstream_model: null, rule: null, candidates, summary: `${login} has no role: no grant in the configuration or the tailnet policy gives them "user" or "admin", so every request is refused with 403` };
  }
  if (first) {
    const others = candidates.filter((c) => c.verdict === 'eligible').map((c) => c.provider);
    const quota = quotas?.(first.provider, served[0]!.flag, first.upstreamModel);
    return {
      ...base,
      served: true,
      formats: served.map((s) => s.flag),
      translations: Object.fromEntries(served.filter((s) => s.r!.target !== s.flag).map((s) => [s.flag, s.r!.target])),
      provider: first.provider.id,
      upstream_model: first.upstreamModel,
      rule: first.rule,
      candidates,
      summary: `served by ${first.provider.id} as "${first.upstreamModel}" through ${served.map((s) => (s.r!.target === s.flag ? s.flag : `${s.flag} (translated from ${s.flag} to ${s.r!.target})`)).join(', ')} (${ruleText(snapshot, model, first)})` +
        (others.length ? `; also eligible: ${others.join(', ')} (lower preference or later ID)` : '') +
        (first.provider.requiresClientAuth ? `; ${passthroughOnly(first.provider.id)}, so a request without one gets 401. ${formatByFlag(served[0]!.flag)?.credentialHint ?? ''}`.trimEnd() : '') +
        (quota && quota.buckets.length > 0 ? `; quotas: ${quota.summary}` : ''),
      ...(quota ? { quotas: quota } : {}),
    };
  }
  const why = candidates.length === 0
    ? `no provider lists "${model}"${model.includes('/') ? ` and "${model.split('/')[0]}" is not a provider that lists "${model.slice(model.indexOf('/') + 1)}"` : ''}; GET /v1/models shows what you can use`
    : candidates.map((c) => `${c.provider}: ${c.detail}`).join('; ');
  return { ...base, served: false, formats: [], translations: {}, provider: null, upstream_model: null, rule: null, candidates, summary: `not served: ${why}` };
}

/**
 * passthroughOnly describes a provider in passthrough mode without an `apikey`: keyway
 * has nothing to send for a caller who brings no credential (inference answers 401).
 */
export function passthroughOnly(providerId: string): string {
  return `provider ${providerId} is passthrough-only: it has no API key of its own and needs the caller's own key or token`;
}

/** ruleText says which resolution rule chose the provider, and what it shadowed. */
function ruleText(snapshot: Snapshot, model: string, r: Resolution): string {
  if (r.rule === 'provider prefix') return `provider prefix: "${r.provider.id}/" names the provider, which lists "${r.upstreamModel}"`;
  const slash = model.indexOf('/');
  const prefixed = slash > 0 ? snapshot.providers.get(model.slice(0, slash)) : undefined;
  const shadows = prefixed && prefixed.id !== r.provider.id ? `, matched before the provider prefix "${prefixed.id}/"` : '';
  return `exact name: ${r.provider.id} lists "${model}"${shadows}`;
}

function inspectCandidates(snapshot: Snapshot, access: Access, model: string, onlyFormat: FormatFlag | undefined, chosen: Resolution | undefined, translation: boolean): Candidate[] {
  const out: Candidate[] = [];
  for (const spec of snapshot.config.providers) {
    const prefix = `${spec.id}/`;
    const name = spec.models.includes(model) ? model : model.startsWith(prefix) && spec.models.includes(model.slice(prefix.length)) ? model.slice(prefix.length) : undefined;
    if (name === undefined) continue;
    const judged = judge(spec, access, name, onlyFormat, chosen?.provider.id, translation);
    // Reached only by its prefix while another provider lists the whole name: that one wins.
    if (judged.verdict === 'eligible' && name !== model && chosen?.rule === 'exact name') {
      out.push({ provider: spec.id, upstream_model: name, verdict: 'shadowed', detail: `lists "${name}", but ${chosen.provider.id} lists "${model}" itself and exact names are matched before the "${spec.id}/" prefix` });
      continue;
    }
    out.push({ provider: spec.id, upstream_model: name, ...judged });
  }
  return out;
}

function judge(spec: ProviderSpec, access: Access, name: string, onlyFormat: FormatFlag | undefined, chosen: string | undefined, translation: boolean): { verdict: Verdict; detail: string } {
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
  const ownKey = spec.authMode === 'passthrough' && spec.apikey === '' ? "; passthrough-only: requests need the caller's own key or token" : '';
  if (spec.id === chosen) return { verdict: 'chosen', detail: `serves it (preference ${spec.preference}${how})${ownKey}` };
  return { verdict: 'eligible', detail: `could serve it (preference ${spec.preference}${how})${ownKey}` };
}
