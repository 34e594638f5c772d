/**
 * `/direct/{provider}/{path}`: a provider's own API, any method, for what the model routes
 * do not carry (embeddings, images, audio, files, batches; reference §1.4, §6.1). The rest
 * of the path and the query are appended to the provider's baseurl as sent and the answer
 * is relayed as it comes, with the provider's credential by its auth_mode, as for any
 * request. Nothing is routed by model (a `model` in the body is the provider's business),
 * so access is by provider: the caller needs a role and a grant for at least one model of
 * that provider. Each call is recorded as format `direct` (path, status, bytes, identity).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CompiledProvider } from '../config/snapshot.js';
import { GatewayError } from '../errors.js';
import { FORMATS } from '../formats/registry.js';
import type { ApiFormat } from '../formats/types.js';
import { fillVertexPlaceholders } from '../formats/vertex-path.js';
import type { Identity } from '../identity/identity.js';
import { DirectTrace } from '../telemetry/direct-trace.js';
import { addMintedHeaders } from '../upstream/credentials/index.js';
import { buildUpstreamHeaders } from '../upstream/headers.js';
import { forwardRequest } from '../upstream/proxy.js';
import { upstreamTarget } from '../upstream/url.js';
import { readBody } from './body.js';
import type { GatewayContext } from './context.js';
import { tagRequestId } from './request-id.js';
import { sendError, toGatewayError } from './respond.js';

export const DIRECT_PREFIX = '/direct/';

export async function handleDirect(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse, pathname: string, query: string, identity: Identity): Promise<void> {
  const started = performance.now();
  const trace = ctx.telemetry ? new DirectTrace(ctx.telemetry, req, identity) : undefined;
  let format: ApiFormat | undefined;
  let provider: CompiledProvider | undefined;
  try {
    const snapshot = ctx.config.current;
    const access = snapshot.accessFor(identity);
    if (access.role === undefined) throw new GatewayError('NO_ROLE');
    const { providerId, path } = splitDirectPath(pathname);
    provider = snapshot.providers.get(providerId);
    if (!provider || provider.spec.disabled) {
      throw new GatewayError('UNKNOWN_PROVIDER', `no provider ${JSON.stringify(providerId.slice(0, 100))} is configured; /direct/{provider}/… takes the ID of a provider (GET /api/providers lists them)`);
    }
    const target = provider;
    format = FORMATS.find((f) => target.formats.has(f.flag));
    if (!target.spec.models.some((m) => access.canUseModel(target.id, m))) {
      throw new GatewayError('NO_DIRECT_GRANT', `access denied: /direct/${target.id} needs a grant for at least one model of provider ${target.id}`);
    }
    if (hasDotSegment(path)) throw new GatewayError('BAD_PATH_SEGMENT', 'the path after /direct/{provider} may not contain "." or ".." segments or encoded slashes');

    const method = req.method ?? 'GET';
    const body = hasBody(req) ? await readBody(req, ctx.bodyLimit) : null;
    trace?.setTarget(target, body?.length ?? 0);
    const upstreamUrl = upstreamTarget(target, fillVertexPlaceholders(path, target), query, credentialParams(target));
    const upstream = buildUpstreamHeaders(req.rawHeaders, target, access.addHeaders, upstreamUrl.clientQueryCredential);
    const { headers } = upstream;
    if (body) headers.push('content-length', String(body.length));
    trace?.setCredential(upstream.credentialSource, upstream.clientCredential);
    if (upstream.mint) addMintedHeaders(headers, await ctx.credentials.headersFor(target, { method, path: upstreamUrl.path, headers, body }));

    if (trace) tagRequestId(res, trace.id);
    const outcome = await forwardRequest(res, {
      dispatcher: ctx.pools.get(target.origin),
      method,
      path: upstreamUrl.path,
      headers,
      body,
      format: format ?? FORMATS[0]!,
      observer: trace,
    });
    trace?.finish(outcome);
    if (ctx.log.isLevelEnabled('debug') || outcome.error) {
      ctx.log[outcome.error ? 'warn' : 'debug']({
        request: trace?.id,
        login: identity.login,
        direct: `${method} ${pathname}`,
        provider: target.id,
        status: outcome.status,
        credential: upstream.credentialSource,
        clientAborted: outcome.clientAborted,
        error: outcome.error?.code,
        ms: Math.round(performance.now() - started),
      }, 'direct call');
    }
  } catch (err) {
    const error = toGatewayError(err);
    trace?.fail(error);
    if (error.code === 'INTERNAL') ctx.log.error({ err: error.cause, path: pathname }, 'direct call failed');
    // In the provider's own envelope once it is known (its first format), else OpenAI's.
    sendError(res, error, format ?? FORMATS[0]!);
  }
}

/** splitDirectPath: `/direct/openai/v1/embeddings` → `openai`, `/v1/embeddings`. */
function splitDirectPath(pathname: string): { providerId: string; path: string } {
  const rest = pathname.slice(DIRECT_PREFIX.length);
  const slash = rest.indexOf('/');
  const raw = slash < 0 ? rest : rest.slice(0, slash);
  let providerId: string;
  try {
    providerId = decodeURIComponent(raw);
  } catch {
    providerId = raw;
  }
  return { providerId, path: slash < 0 ? '/' : rest.slice(slash) };
}

/**
 * hasDotSegment reports a path that could climb out of the baseurl's prefix once the
 * provider normalises it: `.`/`..` segments, also percent-encoded, and encoded slashes.
 */
function hasDotSegment(path: string): boolean {
  for (const segment of path.split('/')) {
    if (!segment.includes('.') && !segment.includes('%')) continue;
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return true;
    }
    if (decoded === '.' || decoded === '..' || decoded.includes('/') || decoded.includes('\\')) return true;
  }
  return false;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** The query parameters that carry a credential in any API the provider serves (`key` for Google's). */
function credentialParams(provider: CompiledProvider): string[] {
  const out = new Set<string>();
  for (const f of FORMATS) if (provider.formats.has(f.flag)) for (const p of f.credentialQueryParams) out.add(p);
  return [...out];
}
