/**
 * The inference pipeline for one provider-API request:
 * authorize (role) → read body → model → route (grants) → [translate] → forward → relay → record.
 * Identity is settled before this runs. The snapshot is read once, so a reload during
 * the request changes nothing for it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity } from '../identity/identity.js';
import { GatewayError } from '../errors.js';
import { isValidModelName, parseJsonObject, replaceTopLevelString } from '../formats/json-body.js';
import type { RouteMatch } from '../formats/types.js';
import { resolveRoute } from '../routing/resolve.js';
import type { RequestTrace } from '../telemetry/trace.js';
import { buildUpstreamHeaders } from '../upstream/headers.js';
import { forwardRequest, type ForwardOutcome } from '../upstream/proxy.js';
import { translateInference } from '../translate/forward.js';
import { upstreamTarget } from '../upstream/url.js';
import type { GatewayContext } from './context.js';
import { readBody } from './body.js';
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
  if (!isValidModelName(model)) throw new GatewayError('BAD_MODEL_NAME');

  const resolution = resolveRoute(snapshot, route.format.flag, model, access, ctx.translation);
  if (!resolution) {
    throw new GatewayError('UNKNOWN_MODEL', `model "${model}" is not available for ${route.format.endpoints[0]}; GET /v1/models lists the models you can use`);
  }
  const { provider, upstreamModel } = resolution;
  if (resolution.target !== route.format.flag) {
    // The provider does not serve the client's API: keyway translates (translate/).
    const translated = await translateInference(ctx, req, res, { route, query, access, body: json, model, resolution, trace });
    if (translated) {
      void trace?.finish(translated.outcome, translated.outcome.clientAnswer);
      logOutcome(ctx, req, identity, trace, model, provider.id, translated.credentialSource, translated.outcome, started);
    }
    return;
  }
  const tap = trace?.setRoute(provider, upstreamModel);

  // The body is forwarded as received unless the model needs its provider prefix removed.
  let body = raw;
  let upstreamPath = route.upstreamPath;
  if (route.withModel) upstreamPath = route.withModel(upstreamModel);
  else if (upstreamModel !== model) body = Buffer.from(replaceTopLevelString(text, 'model', upstreamModel), 'utf8');

  const target = upstreamTarget(provider, upstreamPath, query, route.format.credentialQueryParams);
  const { headers, credentialSource, clientCredential } = buildUpstreamHeaders(req.rawHeaders, provider, access.addHeaders, target.clientQueryCredential);
  headers.push('content-length', String(body.length));
  trace?.setCredential(credentialSource, clientCredential);

  const outcome = await forwardRequest(res, {
    dispatcher: ctx.pools.get(provider.origin),
    method: 'POST',
    path: target.path,
    headers,
    body,
    format: route.format,
    observer: tap,
    responseHeaders: trace ? { 'x-keyway-request-id': trace.id } : undefined,
  });
  void trace?.finish(outcome);
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
