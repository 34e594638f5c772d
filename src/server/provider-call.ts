/**
 * callProvider sends a request that starts on the server (a chat message, the
 * dashboard's Test button) through the same steps as a client's: the caller's grants,
 * routing already done by the caller, the quota check and charge, the hooks (guardrails
 * before, events after), credentials by auth
 * mode (as a request that brings no credential of its own: override key, passthrough
 * fallback key, or none), telemetry.
 * It speaks the provider's own API through the format's ConversationAdapter.
 */
import type { Access } from '../access/grants.js';
import type { CompiledProvider, Snapshot } from '../config/snapshot.js';
import { GatewayError, upstreamErrorFromTransport } from '../errors.js';
import type { ApiFormat, ChatTurn } from '../formats/types.js';
import type { Identity } from '../identity/identity.js';
import { streamParserFor } from '../telemetry/stream-parser.js';
import type { Usage } from '../telemetry/usage.js';
import { matchRoute } from '../formats/registry.js';
import { addMintedHeaders } from '../upstream/credentials/index.js';
import { buildUpstreamHeaders } from '../upstream/headers.js';
import { upstreamTarget } from '../upstream/url.js';
import type { GatewayContext } from './context.js';
import { startMetering } from './metering.js';

export interface ProviderCall {
  ctx: GatewayContext;
  identity: Identity;
  access: Access;
  snapshot: Snapshot;
  provider: CompiledProvider;
  format: ApiFormat;
  upstreamModel: string;
  turns: ChatTurn[];
  system?: string;
  stream: boolean;
  maxTokens: number;
  /** Recorded as the request's client in telemetry (`chat-ui`, `dashboard-test`). */
  client: string;
  signal?: AbortSignal;
  /** Called with each piece of answer text as it streams in. */
  onText?: (text: string) => void;
  /** Awaited once the call has passed its quota check and guardrails, just before it is sent. */
  onAdmitted?: () => Promise<void> | void;
}

export interface ProviderCallResult {
  status: number;
  ok: boolean;
  text: string;
  /** The provider's own error message, or keyway's when the upstream could not be reached. */
  error?: string;
  aborted: boolean;
  requestId?: string;
  stopReason?: string;
  usage?: Usage;
  /** Set when keyway refused the call (a quota's 429, a guardrail's block, a fail_closed hook's 503): the error to answer with. */
  refusal?: GatewayError;
}

const ERROR_BODY_LIMIT = 64 * 1024;

export async function callProvider(call: ProviderCall): Promise<ProviderCallResult> {
  const { ctx, provider, format } = call;
  const adapter = format.conversation;
  const built = adapter.request(call.upstreamModel, call.turns, { system: call.system, stream: call.stream, maxTokens: call.maxTokens });
  const [path, query = ''] = built.path.split('?');
  const bodyText = JSON.stringify(built.body);
  const userAgent = `keyway/${call.client}`;
  const traced = { headers: { 'user-agent': userAgent, ...built.headers }, url: built.path };
  const trace = ctx.telemetry?.startTrace(traced, call.identity, format, call.snapshot, call.client);
  const model = `${provider.id}/${call.upstreamModel}`;
  trace?.setRequest(built.body, bodyText, model, call.stream);
  const admission = ctx.quotas.admit({ snapshot: call.snapshot, access: call.access, identity: call.identity, provider, format: format.flag, upstreamModel: call.upstreamModel, model });
  if (!admission.ok) {
    trace?.setQuotaRefusal(admission.entries);
    trace?.fail(admission.error);
    return { status: 429, ok: false, text: '', error: admission.error.message, aborted: false, requestId: trace?.id, refusal: admission.error };
  }
  const hooks = ctx.hooks.start({
    snapshot: call.snapshot, access: call.access, identity: call.identity, provider, upstreamModel: call.upstreamModel, format, headers: traced.headers, url: built.path,
    body: built.body, bodyText, bodyModel: typeof built.body.model === 'string' ? built.body.model : undefined, trace,
  });
  let sendText = bodyText;
  if (hooks) {
    const chain = await hooks.preRequest();
    if (chain.entries.length > 0) trace?.setHooks(chain.entries);
    if (!chain.ok) {
      trace?.fail(chain.error);
      return { status: chain.error.status, ok: false, text: '', error: chain.error.message, aborted: false, requestId: trace?.id, refusal: chain.error };
    }
    if (chain.body) sendText = chain.body.text;
  }
  const metering = startMetering(trace, admission.ticket, format, provider, call.upstreamModel, hooks?.afterAnswer());
  await call.onAdmitted?.();
  const tap = metering.tap;

  const raw = ['content-type', 'application/json', 'user-agent', userAgent, ...Object.entries(built.headers).flat()];
  const upstream = buildUpstreamHeaders(raw, provider, call.access.addHeaders, undefined);
  const { headers, credentialSource } = upstream;
  trace?.setCredential(credentialSource, undefined);

  let status = 0;
  let text = '';
  let error: string | undefined;
  let aborted = false;
  let gatewayError: GatewayError | undefined;
  try {
    // The same path building as a client's call of this path (Vertex fills its placeholders,
    // Bedrock drops `/bedrock`).
    const route = matchRoute(path!);
    const upstreamPath = route?.upstreamPathFor?.(provider, call.upstreamModel) ?? (route?.withModel ? route.withModel(call.upstreamModel) : (route?.upstreamPath ?? path!));
    const target = upstreamTarget(provider, upstreamPath, query ? `?${query}` : '', format.credentialQueryParams);
    if (upstream.mint) addMintedHeaders(headers, await ctx.credentials.headersFor(provider, { method: 'POST', path: target.path, headers, body: sendText }));
    const res = await ctx.pools.get(provider.origin).request({ method: 'POST', path: target.path, headers, body: sendText, signal: call.signal });
    status = res.statusCode;
    tap?.onResponseStart(status, res.headers);
    const onEvent = (event: string | undefined, data: string) => {
      const piece = adapter.streamText(event, data);
      if (piece) {
        text += piece;
        call.onText?.(piece);
      } else if (adapter.streamError) {
        error ??= adapter.streamError(event, data);
      } else if (data.includes('"error"')) {
        error ??= adapter.errorMessage(safeJson(data));
      }
    };
    const parser = res.headers['content-encoding'] ? undefined : streamParserFor(String(res.headers['content-type'] ?? ''), onEvent);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      tap?.onData(chunk);
      if (parser) parser.push(chunk);
      else if (size < ERROR_BODY_LIMIT * 16) {
        chunks.push(chunk);
        size += chunk.length;
      }
    }
    parser?.end();
    if (!parser) {
      const body = safeJson(Buffer.concat(chunks).toString('utf8'));
      if (status >= 200 && status < 300) text = adapter.answerText(body);
      else error = adapter.errorMessage(body) ?? Buffer.concat(chunks).toString('utf8').slice(0, ERROR_BODY_LIMIT);
    }
    if (status >= 400 && error === undefined) error = `the provider answered ${status}`;
  } catch (err) {
    if (call.signal?.aborted) {
      aborted = true;
    } else {
      gatewayError = err instanceof GatewayError ? err : upstreamErrorFromTransport(err);
      status = gatewayError.status;
      error = gatewayError.message;
    }
  }
  const tapped = await metering.finish({ status, error: gatewayError, clientAborted: aborted });
  return {
    status,
    ok: status >= 200 && status < 300 && error === undefined && !aborted,
    text,
    error,
    aborted,
    requestId: trace?.id,
    stopReason: tapped?.summary?.stopReason,
    usage: tapped?.summary?.usage,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * serverFormat picks the API keyway uses to talk to a provider itself, in order of
 * preference; given a model, one that carries that model (a Vertex provider serves Gemini
 * through generateContent and Claude through rawPredict).
 */
export function serverFormat(provider: CompiledProvider, formats: readonly ApiFormat[], model?: string): ApiFormat | undefined {
  // Chat completions before responses: OpenAI-compatible servers speak it far more often.
  // Bedrock's Converse before its invoke: Converse has one body shape for every model.
  const order = ['anthropic_messages', 'openai_chat', 'openai_responses', 'gemini_generate_content', 'google_raw_predict', 'google_generate_content', 'experimental_gemini_cli_vertex_compat', 'bedrock_converse', 'bedrock_model_invoke'];
  const served = order.map((flag) => formats.find((f) => f.flag === flag)).filter((f): f is ApiFormat => f !== undefined && provider.formats.has(f.flag));
  return (model === undefined ? undefined : served.find((f) => f.servesModel?.(model) !== false)) ?? served[0];
}
