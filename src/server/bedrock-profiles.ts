/**
 * `GET /bedrock/inference-profiles`: Bedrock's ListInferenceProfiles, which Claude Code in
 * Bedrock mode calls first (with `ANTHROPIC_BEDROCK_BASE_URL` as the endpoint) to learn
 * which cross-region model IDs it may use. keyway answers with the caller's granted models
 * of the providers that serve a Bedrock format, each as a system-defined inference
 * profile whose ID is the model name as configured, so whatever the client picks routes.
 * `?type=SYSTEM_DEFINED|APPLICATION` filters as Bedrock does; there is one page.
 */
import type { Access } from '../access/grants.js';
import { bedrockRegion, DEFAULT_AWS_REGION } from '../config/aws-key.js';
import type { Snapshot } from '../config/snapshot.js';

interface ProfileSummary {
  inferenceProfileName: string;
  inferenceProfileId: string;
  inferenceProfileArn: string;
  description: string;
  models: Array<{ modelArn: string }>;
  status: 'ACTIVE';
  type: 'SYSTEM_DEFINED' | 'APPLICATION';
}

/** Cross-region profile IDs start with a geography (`us.anthropic…`); the model ID is the rest. */
const GEO_PREFIXES = ['us.', 'eu.', 'apac.', 'au.', 'ca.', 'jp.', 'us-gov.', 'global.'];

export function listInferenceProfiles(snapshot: Snapshot, access: Access, query: URLSearchParams): { inferenceProfileSummaries: ProfileSummary[] } {
  const wanted = query.get('type') ?? undefined;
  const out: ProfileSummary[] = [];
  const providers = [...snapshot.providers.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const provider of providers) {
    if (provider.spec.disabled || !(provider.formats.has('bedrock_model_invoke') || provider.formats.has('bedrock_converse'))) continue;
    const region = bedrockRegion(new URL(provider.spec.baseurl).hostname) ?? DEFAULT_AWS_REGION;
    for (const model of provider.spec.models) {
      if (!access.canUseModel(provider.id, model)) continue;
      const summary = profileOf(model, region, provider.spec.name || provider.id);
      if (wanted === undefined || summary.type === wanted) out.push(summary);
    }
  }
  return { inferenceProfileSummaries: out };
}

function profileOf(model: string, region: string, providerName: string): ProfileSummary {
  const isArn = model.startsWith('arn:');
  const base = isArn ? model.slice(model.lastIndexOf('/') + 1) : model;
  const geo = GEO_PREFIXES.find((p) => base.startsWith(p));
  const foundation = geo ? base.slice(geo.length) : base;
  return {
    inferenceProfileName: base,
    inferenceProfileId: model,
    // Account 000000000000: keyway answers for the profile, it does not own one.
    inferenceProfileArn: isArn ? model : `arn:aws:bedrock:${region}:000000000000:inference-profile/${model}`,
    description: `served by keyway through ${providerName}`,
    models: [{ modelArn: `arn:aws:bedrock:${region}::foundation-model/${foundation}` }],
    status: 'ACTIVE',
    type: isArn && model.includes(':application-inference-profile/') ? 'APPLICATION' : 'SYSTEM_DEFINED',
  };
}
