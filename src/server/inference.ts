/**
 * The inference pipeline for one provider-API request:
 * authorize (role) → read body → model → route (grants) → quota check → pre_request hooks
 * → forward → relay → record, charge and queue the hook events.
 * Identity is settled before this runs. The snapshot is read once, so a reload during
 * the request changes nothing for it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity } from '../identity/identity.js';
import { GatewayError } from '../errors.js';
import { hasDuplicateTopLevelKey, isValidModelName, parseJsonObject, replaceTopLevelString } from '../formats/json-body.js';
import type { RouteMatch } from '../formats/types.js';
import { passthroughOnly } from '../routing/explain.js';
import { resolveModel } from '../routing/resolve.js';
import type { RequestTrace } from '../telemetry/trace.js';
import { buildUpstreamHeaders, carriesCredential } from '../upstream/headers.js';
import { forwardRequest } from '../upstream/proxy.js';
import { upstreamTarget } from '../upstream/url.js';
import type { GatewayContext } from './context.js';
import { readBody } from './body.js';
import { startMetering } from './metering.js';
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
  if (trace) res.setHeader('x-keyway-request-id', trace.id);
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
  if (!isValidModelName(model)) throw new GatewayError('BAD_MODEL_NAME');

  const resolution = resolveModel(snapshot, route.format.flag, model, access);
  if (!resolution) {
    throw new GatewayError('UNKNOWN_MODEL', `model "${model}" is not available for ${route.format.endpoints[0]}; GET /v1/models lists the models you can use`);
  }
  const { provider, upstreamModel } = resolution;
  // Nothing is forwarded for a caller over quota: the 429 is the whole answer, streams included.
  const admission = ctx.quotas.admit({ snapshot, access, identity, provider, format: route.format.flag, upstreamModel, model });
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
  if (hooks) {
    const chain = await hooks.preRequest();
    if (chain.entries.length > 0) trace?.setHooks(chain.entries);
    if (!chain.ok) throw chain.error;
    if (chain.body) bodyText = chain.body.text;
    // The chain can take seconds: a client that left meanwhile gets nothing forwarded.
    if (res.destroyed || req.socket.destroyed) throw new GatewayError('CLIENT_CLOSED');
  }
  // A refusal after this point leaves the ticket unsettled: nothing is charged.
  const metering = startMetering(trace, admission.ticket, route.format, provider, upstreamModel, hooks?.afterAnswer());

  // The body is forwarded as received unless a hook modified it or the model needs its
  // provider prefix removed.
  let body = bodyText === text ? raw : Buffer.from(bodyText, 'utf8');
  let upstreamPath = route.upstreamPath;
  if (route.withModel) upstreamPath = route.withModel(upstreamModel);
  else if (upstreamModel !== model) body = Buffer.from(replaceTopLevelString(bodyText, 'model', upstreamModel), 'utf8');

  const target = upstreamTarget(provider, upstreamPath, query, route.format.credentialQueryParams);
  const { headers, credentialSource, clientCredential } = buildUpstreamHeaders(req.rawHeaders, provider, access.addHeaders, target.clientQueryCredential);
  // Passthrough-only and no credential from the caller (nor from add_headers): the provider
  // would only answer 401, so say why here and send nothing.
  if (credentialSource === 'none' && provider.requiresClientAuth && !carriesCredential(headers)) {
    throw new GatewayError('CLIENT_CREDENTIAL_REQUIRED', `${passthroughOnly(provider.id)}, and this request carried none. ${route.format.credentialHint}`);
  }
  headers.push('content-length', String(body.length));
  trace?.setCredential(credentialSource, clientCredential);

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
  if (ctx.log.isLevelEnabled('debug') || outcome.error) {
    ctx.log[outcome.error ? 'warn' : 'debug']({
      request: trace?.id,
      login: identity.login,
      path: req.url?.split('?')[0],
      model,
      provider: provider.id,
      status: outcome.status,
      credential: credentialSource,
      clientAborted: outcome.clientAborted,
      error: outcome.error?.code,
      cause: (outcome.error?.cause as Error | undefined)?.message,
      ms: Math.round(performance.now() - started),
    }, 'proxied');
  }
}
