/**
 * translateInference runs the part of the inference pipeline that differs when keyway
 * translates: the client's body becomes the canonical request, then the provider's API
 * request (path, body, its required headers, the client's credential re-sent in the
 * provider's style in passthrough), and the relay answers in the client's API.
 * `count_tokens` for a translated model is answered here with a local estimate.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Access } from '../access/grants.js';
import type { RouteMatch } from '../formats/types.js';
import type { Resolution } from '../routing/resolve.js';
import type { GatewayContext } from '../server/context.js';
import { withRequestId } from '../server/request-id.js';
import { sendJson } from '../server/respond.js';
import type { ResponseTap } from '../telemetry/tap.js';
import type { RequestTrace } from '../telemetry/trace.js';
import { passthroughOnly } from '../routing/explain.js';
import { GatewayError } from '../errors.js';
import { addMintedHeaders } from '../upstream/credentials/index.js';
import { buildUpstreamHeaders, carriesCredential, setHeader, type UpstreamHeaders } from '../upstream/headers.js';
import { takeParams } from '../upstream/query.js';
import { upstreamTarget } from '../upstream/url.js';
import { codecFor } from './codecs.js';
import { forwardTranslated, type TranslatedOutcome } from './relay.js';
import { estimateTokens, untranslatable, type JsonObject } from './util.js';

export interface TranslationInput {
  route: RouteMatch;
  query: string;
  access: Access;
  body: JsonObject;
  /** The model as the client named it. */
  model: string;
  resolution: Resolution;
  trace: RequestTrace | undefined;
  /** Reads the provider's answer for usage (server/metering.ts), if anything needs it. */
  tap: ResponseTap | undefined;
}

export interface TranslationResult {
  outcome: TranslatedOutcome;
  credentialSource: UpstreamHeaders['credentialSource'];
}

/** Request headers that belong to the client's API and would mislead another one. */
const CLIENT_API_HEADERS: Record<string, readonly string[]> = {
  anthropic_messages: ['anthropic-version', 'anthropic-beta', 'anthropic-dangerous-direct-browser-access'],
  gemini_generate_content: ['x-goog-api-client'],
};

export async function translateInference(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse, input: TranslationInput): Promise<TranslationResult | undefined> {
  const { route, resolution, trace } = input;
  const client = codecFor(route.format.flag)!;
  const upstream = codecFor(resolution.target)!;
  const { provider, upstreamModel } = resolution;
  const operation = operationOf(route.upstreamPath);
  if (operation === 'compact') throw untranslatable(route.upstreamPath, 'compaction is a feature of the Responses API, which the provider of this model does not serve');

  // (Routed already, by server/metering.ts, so a request refused below is still recorded with its provider.)
  const stream = route.urlStreams === true || input.body.stream === true;
  const request = client.decodeRequest(input.body, operation === 'generate' && stream);
  request.model = input.model;
  if (operation === 'count_tokens') {
    // No API counts tokens for another's format; a documented local estimate instead.
    sendJson(res, 200, client.countTokensBody(estimateTokens(request)), { 'x-keyway-translation': upstream.flag });
    trace?.answered(200);
    return undefined;
  }

  const call = upstream.encodeRequest(request, upstreamModel, provider.upstream);
  const text = JSON.stringify(call.body);
  const q = call.path.indexOf('?');
  const target = upstreamTarget(provider, q < 0 ? call.path : call.path.slice(0, q), q < 0 ? '' : call.path.slice(q), []);
  const headers = buildUpstreamHeaders(clientHeaders(req.rawHeaders, route.format.flag), provider, input.access.addHeaders, clientQueryCredential(input.query, route.format.credentialQueryParams), true);
  for (const [name, value] of call.headers) if (!hasHeader(headers.headers, name)) headers.headers.push(name, value);
  // keyway reads the answer to translate it: it must not arrive compressed.
  setHeader(headers.headers, 'accept-encoding', 'identity');
  setHeader(headers.headers, 'content-type', 'application/json');
  setHeader(headers.headers, 'accept', request.stream ? 'text/event-stream' : 'application/json');
  // Passthrough-only and no credential from the caller: the provider would only answer 401.
  if (headers.credentialSource === 'none' && provider.requiresClientAuth && !carriesCredential(headers.headers)) {
    throw new GatewayError('CLIENT_CREDENTIAL_REQUIRED', `${passthroughOnly(provider.id)}, and this request carried none. ${route.format.credentialHint}`);
  }
  headers.headers.push('content-length', String(Buffer.byteLength(text)));
  trace?.setCredential(headers.credentialSource, headers.clientCredential);
  trace?.setUpstreamRequest(text);
  if (headers.mint) addMintedHeaders(headers.headers, await ctx.credentials.headersFor(provider, { method: 'POST', path: target.path, headers: headers.headers, body: text }));

  const responseHeaders = withRequestId(res, { 'x-keyway-translation': upstream.flag });
  const outcome = await forwardTranslated(res, {
    dispatcher: ctx.pools.get(provider.origin),
    path: target.path,
    headers: headers.headers,
    body: text,
    client,
    upstream,
    request,
    // Gemini's streamGenerateContent without alt=sse streams one JSON array.
    sse: route.urlStreams !== true || input.query.includes('alt=sse'),
    observer: input.tap,
    responseHeaders,
    collect: trace?.capturing === true,
  });
  return { outcome, credentialSource: headers.credentialSource };
}

function operationOf(path: string): 'generate' | 'count_tokens' | 'compact' {
  if (path.endsWith('/count_tokens') || path.endsWith(':countTokens')) return 'count_tokens';
  if (path.endsWith('/compact')) return 'compact';
  return 'generate';
}

/** clientHeaders drops the headers of the client's own API (and its Accept-Encoding) before the usual header policy runs. */
function clientHeaders(raw: readonly string[], flag: string): string[] {
  const drop = CLIENT_API_HEADERS[flag] ?? [];
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (drop.includes(name) || name === 'accept-encoding' || name === 'accept' || name === 'content-type') continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

function hasHeader(list: readonly string[], name: string): boolean {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return true;
  return false;
}

/** clientQueryCredential is the key a client put in the URL (Gemini `?key=`), found as upstream/url.ts finds it: by decoded, case-folded name. */
function clientQueryCredential(query: string, params: readonly string[]): string | undefined {
  return query.length > 1 && params.length > 0 ? takeParams(query, params).value : undefined;
}
