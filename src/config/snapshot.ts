/**
 * A Snapshot is one validated configuration compiled into the lookup tables the request
 * path reads: providers by ID, candidate providers by (format, model), and the grant
 * evaluator. It is immutable; a reload builds a new one and swaps a single reference, so
 * every request sees one consistent configuration from start to finish.
 */
import { createHash } from 'node:crypto';
import { compileGrants, type Access } from '../access/grants.js';
import type { Identity } from '../identity/identity.js';
import { BASIS_BY_FORMAT } from '../telemetry/pricing.js';
import { mintedCredentialFor, type MintedCredential } from '../upstream/credentials/index.js';
import type { FormatFlag, GatewayConfig, Problem, ProviderSpec } from './types.js';

export interface CompiledProvider {
  readonly spec: ProviderSpec;
  readonly id: string;
  /** `https://api.anthropic.com`: the pool key. */
  readonly origin: string;
  /** Path prefix of the baseurl without a trailing slash (`''` or `/backend-api/codex`). */
  readonly basePath: string;
  /** Last segment of basePath when it is an API version (`v1`), to collapse `/v1/v1`. */
  readonly versionSegment: string | undefined;
  readonly formats: ReadonlySet<FormatFlag>;
  readonly models: ReadonlySet<string>;
  /** The provider key as a ready header `[name, value]`, or undefined without a key (or with a minted one). */
  readonly keyHeader: readonly [string, string] | undefined;
  /** A credential made per request (a `keyfile::` service account, SigV4 with IAM access keys), see upstream/credentials. */
  readonly minted: MintedCredential | undefined;
  /** Passthrough without a fallback key: only callers that bring a credential can use it. */
  readonly requiresClientAuth: boolean;
  /** A short name for the upstream service, for `/v1/models` metadata. */
  readonly upstream: string;
}

export interface Snapshot {
  readonly hash: string;
  readonly text: string;
  readonly config: GatewayConfig;
  readonly problems: readonly Problem[];
  readonly loadedAt: Date;
  /** Every provider, enabled or not, by ID. */
  readonly providers: ReadonlyMap<string, CompiledProvider>;
  /** Enabled providers serving a bare model name in a format, best first. */
  readonly routes: ReadonlyMap<FormatFlag, ReadonlyMap<string, readonly CompiledProvider[]>>;
  /** Enabled providers listing a bare model name, whatever formats they serve, best first (for translation). */
  readonly byModel: ReadonlyMap<string, readonly CompiledProvider[]>;
  /** Origins this snapshot sends requests to (to keep their pools open). */
  readonly origins: ReadonlySet<string>;
  accessFor(identity: Identity): Access;
}

export function hashText(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** byPreference orders providers as routing prefers them: highest preference first, ties by ID. */
export function byPreference(a: CompiledProvider, b: CompiledProvider): number {
  return b.spec.preference - a.spec.preference || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function compileSnapshot(text: string, config: GatewayConfig, problems: readonly Problem[]): Snapshot {
  const providers = new Map<string, CompiledProvider>();
  const routes = new Map<FormatFlag, Map<string, CompiledProvider[]>>();
  const byModel = new Map<string, CompiledProvider[]>();
  const origins = new Set<string>();

  for (const spec of config.providers) {
    const compiled = compileProvider(spec);
    providers.set(spec.id, compiled);
    if (spec.disabled) continue;
    origins.add(compiled.origin);
    for (const model of new Set(spec.models)) {
      const list = byModel.get(model);
      if (list) list.push(compiled);
      else byModel.set(model, [compiled]);
    }
    for (const flag of compiled.formats) {
      let byModel = routes.get(flag);
      if (!byModel) routes.set(flag, (byModel = new Map()));
      for (const model of spec.models) {
        const list = byModel.get(model);
        if (list) list.push(compiled);
        else byModel.set(model, [compiled]);
      }
    }
  }
  // Highest preference first; ties go to the provider ID that sorts first, so the
  // choice never depends on the order of keys in the document.
  for (const lists of [...routes.values(), byModel]) {
    for (const list of lists.values()) {
      list.sort(byPreference);
    }
  }

  const evaluate = compileGrants(config.grants);
  const accessCache = new WeakMap<Identity, Access>();
  return Object.freeze({
    hash: hashText(text),
    text,
    config,
    problems,
    loadedAt: new Date(),
    providers,
    routes,
    byModel,
    origins,
    accessFor(identity: Identity): Access {
      let access = accessCache.get(identity);
      if (!access) accessCache.set(identity, (access = evaluate(identity)));
      return access;
    },
  });
}

const VERSION_SEGMENT = /^v\d+(?:alpha|beta)?\d*$/;

function compileProvider(spec: ProviderSpec): CompiledProvider {
  const url = new URL(spec.baseurl);
  const basePath = url.pathname.replace(/\/+$/, '');
  const lastSegment = basePath.slice(basePath.lastIndexOf('/') + 1);
  const formats = new Set<FormatFlag>();
  for (const [flag, on] of Object.entries(spec.compatibility)) if (on) formats.add(flag as FormatFlag);
  const minted = mintedCredentialFor(spec);
  return {
    spec,
    id: spec.id,
    origin: url.origin,
    basePath,
    versionSegment: VERSION_SEGMENT.test(lastSegment) ? lastSegment : undefined,
    formats,
    models: new Set(spec.models),
    keyHeader: spec.apikey === '' || minted ? undefined : keyHeader(spec),
    minted,
    requiresClientAuth: spec.authMode === 'passthrough' && spec.apikey === '',
    // Bedrock's runtime API by the name Aperture's clients know it (whatever the cost basis).
    upstream: formats.has('bedrock_model_invoke') || formats.has('bedrock_converse') ? 'bedrock-runtime' : (spec.costBasis ?? upstreamName(url.hostname, formats)),
  };
}

function keyHeader(spec: ProviderSpec): [string, string] {
  switch (spec.authorization) {
    case 'x-api-key':
      return ['x-api-key', spec.apikey];
    case 'x-goog-api-key':
      return ['x-goog-api-key', spec.apikey];
    default:
      return ['authorization', `Bearer ${spec.apikey}`];
  }
}

/** Domains of private networks: a host in one names a machine, not a service. */
const PRIVATE_SUFFIXES = ['.ts.net', '.local', '.internal', '.localhost', '.lan', '.home.arpa'];

/**
 * upstreamName names the service behind a provider: the one its host names
 * (api.anthropic.com → anthropic). A host that names none (an IP address, localhost, a
 * tailnet or LAN machine: a proxy, a mirror, the mock, a self-hosted server) says nothing
 * about what is behind it, so the provider's API formats do, as they do for its prices
 * (anthropic_messages → anthropic): pointing a provider at a local proxy leaves it what it
 * was. `self-hosted` when its formats speak the APIs of several services.
 */
function upstreamName(hostname: string, formats: ReadonlySet<FormatFlag>): string {
  // Vertex AI: aiplatform.googleapis.com, REGION-aiplatform…, aiplatform.REGION.rep….
  if (hostname.endsWith('.googleapis.com') && hostname.includes('aiplatform')) return 'vertex';
  if (hostname.endsWith('.googleapis.com')) return 'google';
  if (hostname.endsWith('.amazonaws.com')) return hostname.split('.')[0]!;
  const labels = hostname.split('.');
  const namesService = labels.length >= 2 && !/^[\d.]+$/.test(hostname) && !hostname.includes(':') && !PRIVATE_SUFFIXES.some((s) => hostname.endsWith(s));
  if (namesService) return labels[labels.length - 2]!;
  const implied = new Set([...formats].map((f) => BASIS_BY_FORMAT[f]));
  const [only] = implied;
  return implied.size === 1 && only ? only : 'self-hosted';
}
