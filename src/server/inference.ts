/**
 * The inference pipeline for one provider-API request:
 * authorize (role) → read body → model → route (grants) → quota check → pre_request hooks
 * → [translate] → forward → relay → record, charge and queue the hook events.
 * Identity is settled before this runs. The snapshot is read once, so a reload during
 * the request changes nothing for it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity } from '../identity/identity.js';
import { GatewayError } from '../errors.js';
import { hasDuplicateTopLevelKey, isValidModelName, parseJsonObject, replaceTopLevelString } from '../formats/json-body.js';
import type { RouteMatch } from '../formats/types.js';
import { formatByFlag } from '../formats/registry.js';
import { passthroughOnly } from '../routing/explain.js';
import { resolveRoute } from '../routing/resolve.js';
import type { RequestTrace } from '../telemetry/trace.js';
import { translateInference } from '../translate/forward.js';
import { addMintedHeaders } from '../upstream/credentials/index.js';
import { buildUpstreamHeaders, carriesCredential } from '../upstream/headers.js';
import { forwardRequest, type ForwardOutcome } from '../upstream/proxy.js';
import { upstreamTarget } from '../upstream/url.js';
import type { GatewayContext } from './context.js';
import { readBody } from './body.js';
import { startMetering } from './metering.js';
import { tagRequestId } from './request-id.js';
import { toGatewayError } from './respond.js';

export async function handleInference(
  ctx: GatewayContext,
  req: IncomingMessage,
  res: ServerResponse,
  route: RouteMatch,
  query: string,
  identity: Identity,
): Promise<void> {
  const snapshot = ctx.config.current;
  const trace = ctx.telemetry?.startTrace(req, identity, route.format, snapshot);
  // On every answer, keyway's own errors included, so any reply can be found in the logs.
  if (trace) tagRequestId(res, trace.id);
  try {
    await proxyInference(ctx, req, res, route, query, identity, trace);
  } catch (err) {
    trace?.fail(toGatewayError(err));
    throw err;
  }
}

async function proxyInference(
  ctx: GatewayContext,
  req: IncomingMessage,
  res: ServerResponse,
  route: RouteMatch,
  query: string,
  identity: Identity,
  trace: RequestTrace | undefined,
): Promise<void> {
  const snapshot = ctx.config.current;
  const access = snapshot.accessFor(identity);
  if (access.role === undefined) throw new GatewayError('NO_ROLE');

  const started = performance.now();
  const raw = await readBody(req, ctx.bodyLimit);
  const text = raw.toString('utf8');
  const json = parseJsonObject(text);
  if (json === undefined) throw new GatewayError('BAD_JSON');

  let model: string;
  if (route.urlModel !== undefined) {
    model = route.urlModel;
  } else {
    const m = json.model;
    if (typeof m !== 'string' || m === '') throw new GatewayError('MISSING_MODEL');
    model = m;
  }
  trace?.setRequest(json, text, model, route.urlStreams === true);
  // JSON.parse kept the last "model"; the provider might read the first. Route on neither.
  if (route.urlModel === undefined && hasDuplicateTopLevelKey(text, 'model')) throw new GatewayError('DUPLICATE_MODEL_KEY');
  if (!isValidModelName(model)) {
    // An empty URL model is one the format could not decode or does not accept (formats/registry.ts).
    throw new GatewayError('BAD_MODEL_NAME', route.urlModel === '' ? `the model in the URL is not a valid model name for ${route.format.endpoints[0]}` : undefined);
  }

  const resolution = resolveRoute(snapshot, route.format.flag, model, access, ctx.translation);
  if (!resolution) {
    throw new GatewayError('UNKNOWN_MODEL', `model "${model}" is not available for ${route.format.endpoints[0]}; GET /v1/models lists the models you can use`);
  }
  const { provider, upstreamModel } = resolution;
  // The provider's own API: the client's, or the one keyway translates to (translate/).
  const providerFormat = resolution.target === route.format.flag ? route.format : formatByFlag(resolution.target)!;
  // Nothing is forwarded for a caller over quota: the 429 is the whole answer, streams included.
  const admission = ctx.quotas.admit({ snapshot, access, identity, provider, format: providerFormat.flag, upstreamModel, model });
  if (!admission.ok) {
    trace?.setQuotaRefusal(admission.entries);
    throw admission.error;
  }
  // Guardrails see the request once it would be forwarded: after identity, grants and
  // quotas. A block or a fail_closed failure is the whole answer; a modify replaces the body.
  const hooks = ctx.hooks.start({
    snapshot, access, identity, provider, upstreamModel, format: route.format, headers: req.headers, url: req.url ?? '',
    body: json, bodyText: text, bodyModel: route.urlModel === undefined ? model : undefined, trace,
  });
  let bodyText = text;
  let bodyJson = json;
  if (hooks) {
    const chain = await hooks.preRequest();
    if (chain.entries.length > 0) trace?.setHooks(chain.entries);
    if (!chain.ok) throw chain.error;
    if (chain.body) {
      bodyText = chain.body.text;
      bodyJson = chain.body.json;
    }
    // The chain can take seconds: a client that left meanwhile gets nothing forwarded.
    if (res.destroyed || req.socket.destroyed) throw new GatewayError('CLIENT_CLOSED');
  }
  // A refusal after this point leaves the ticket unsettled: nothing is charged.
  const metering = startMetering(trace, admission.ticket, providerFormat, provider, upstreamModel, hooks?.afterAnswer());
  if (providerFormat !== route.format) {
    const translated = await translateInference(ctx, req, res, { route, query, access, body: bodyJson, model, resolution, trace, tap: metering.tap });
    if (translated) {
      void metering.finish(translated.outcome, translated.outcome.clientAnswer);
      logOutcome(ctx, req, identity, trace, model, provider.id, translated.credentialSource, translated.outcome, started);
    }
    return;
  }

  // The body is forwarded as received unless a hook modified it, the model needs its
  // provider prefix removed, or the format must drop fields the upstream rejects.
  let body = bodyText === text ? raw : Buffer.from(bodyText, 'utf8');
  let upstreamPath = route.upstreamPath;
  if (route.upstreamPathFor) upstreamPath = route.upstreamPathFor(provider, upstreamModel);
  else if (route.withModel) upstreamPath = route.withModel(upstreamModel);
  if (route.urlModel === undefined && upstreamModel !== model) body = Buffer.from(replaceTopLevelString(bodyText, 'model', upstreamModel), 'utf8');
  const rewritten = route.rewriteBody?.(bodyJson);
  if (rewritten !== undefined) body = Buffer.from(rewritten, 'utf8');

  const target = upstreamTarget(provider, upstreamPath, query, route.format.credentialQueryParams);
  const upstream = buildUpstreamHeaders(req.rawHeaders, provider, access.addHeaders, target.clientQueryCredential);
  const { headers, credentialSource, clientCredential } = upstream;
  // Passthrough-only and no credential from the caller (nor from add_headers): the provider
  // would only answer 401, so say why here and send nothing.
  if (credentialSource === 'none' && provider.requiresClientAuth && !carriesCredential(headers)) {
    throw new GatewayError('CLIENT_CREDENTIAL_REQUIRED', `${passthroughOnly(provider.id)}, and this request carried none. ${route.format.credentialHint}`);
  }
  headers.push('content-length', String(body.length));
  trace?.setCredential(credentialSource, clientCredential);
  // A signature covers the final request, so a minted credential is made last.
  if (upstream.mint) addMintedHeaders(headers, await ctx.credentials.headersFor(provider, { method: 'POST', path: target.path, headers, body }));

  const outcome = await forwardRequest(res, {
    dispatcher: ctx.pools.get(provider.origin),
    method: 'POST',
    path: target.path,
    headers,
    body,
    format: route.format,
    observer: metering.tap,
  });
  void metering.finish(outcome);
  logOutcome(ctx, req, identity, trace, model, provider.id, credentialSource, outcome, started);
}

function logOutcome(ctx: GatewayContext, req: IncomingMessage, identity: Identity, trace: RequestTrace | undefined, model: string, provider: string, credential: string, outcome: ForwardOutcome, started: number): void {
  if (ctx.log.isLevelEnabled('debug') || outcome.error) {
    ctx.log[outcome.error ? 'warn' : 'debug']({
      request: trace?.id,
      login: identity.login,
      path: req.url?.split('?')[0],
      model,
      provider,
      status: outcome.status,
      credential,
      clientAborted: outcome.clientAborted,
      error: outcome.error?.code,
      cause: (outcome.error?.cause as Error | undefined)?.message,
      ms: Math.round(performance.now() - started),
    }, 'proxied');
  }
}
