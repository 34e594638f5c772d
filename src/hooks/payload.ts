/**
 * HookCallData: the JSON keyway POSTs to a hook (reference §12.2). Every call carries
 * `event` and `metadata` (who, what, where); each `send` field adds its part. Nothing
 * here ever reads a header other than the user agent, so no credential can reach a hook:
 * not the client's key or token, not the provider's key, not a cookie, not a
 * `Tailscale-*` identity header, and the URL's query has its credential parameters
 * redacted (telemetry/capture.ts) before it gets here.
 *
 * A PayloadBuilder serves one request: the parts several hooks send alike (metadata,
 * the request body, tool calls) are serialized once, and the request body is embedded as
 * the text keyway received (it was parsed, so it is JSON) rather than serialized again.
 */
import type { Access } from '../access/grants.js';
import type { HookEvent } from '../config/types.js';
import type { ApiFormat } from '../formats/types.js';
import type { Identity } from '../identity/identity.js';
import type { ResponseSummary, ToolCall, Usage } from '../telemetry/usage.js';
import { SEND_BITS } from './hook-plan.js';

/** What a hook is told about one request, whatever the event. */
export interface HookRequest {
  identity: Identity;
  userAgent: string;
  /** The request path, its credential query parameters redacted. */
  url: string;
  /** The model as the provider is asked for it, and the provider's id. */
  model: string;
  provider: string;
  requestId: string;
  sessionId: string;
  tailnetName: string;
  format: ApiFormat;
  access: Access;
  /** The request body, and its text, as forwarded (after any pre_request modification). */
  body: Record<string, unknown>;
  bodyText: string;
  /** The quota buckets of the request as they stand now, by bucket name (undefined: none). */
  quotas(): Record<string, QuotaState> | undefined;
}

/** A bucket as hooks see it: integer nanodollars, the rate as written (`"$5.00/day"`). */
export interface QuotaState {
  current: number;
  capacity: number;
  rate: string;
}

/** What the asynchronous events add: the answer. */
export interface HookAnswer {
  summary: ResponseSummary | undefined;
  /** `raw_responses`: the parsed data of every SSE event, or the one JSON answer. */
  raw: unknown;
  /** `summary.reassembled` as JSON text, when the tap has it already. */
  json?: string;
  cost: EstimatedCost | undefined;
}

/** The reference's CostEstimate: dollars, the price list and model it came from, the usage priced. */
export interface EstimatedCost {
  dollars: number;
  cost_basis: string;
  usage: Record<string, number>;
}

export class PayloadBuilder {
  private meta: string | undefined;
  private grants: string | undefined;
  private userMessage: string | undefined;
  private tools: string | undefined;
  private response: string | undefined;
  private raw: string | undefined;

  constructor(
    private readonly request: HookRequest,
    private readonly answer: HookAnswer | undefined,
  ) {}

  /** build returns the JSON text of one call for `event` with the fields of `send` (SEND_BITS). */
  build(event: HookEvent, send: number): string {
    let out = `{"event":"${event}","metadata":${this.metadata(send)}`;
    if (send & SEND_BITS.request_body) out += `,"request_body":${this.request.bodyText}`;
    if (send & SEND_BITS.user_message) out += `,"user_message":${(this.userMessage ??= JSON.stringify(this.request.format.userMessage?.(this.request.body) ?? ''))}`;
    // The answer's parts exist only after it: absent from pre_request calls.
    const answer = this.answer;
    if (answer) {
      if (send & SEND_BITS.response_body && answer.summary?.reassembled !== undefined) out += `,"response_body":${this.responseJson(answer)}`;
      if (send & SEND_BITS.raw_responses && answer.raw !== undefined) {
        // A JSON answer's raw response is the reassembled one, the same object.
        out += `,"raw_responses":${(this.raw ??= answer.raw === answer.summary?.reassembled ? this.responseJson(answer) : JSON.stringify(answer.raw))}`;
      }
      if (send & SEND_BITS.tools) out += `,"tool_calls":${(this.tools ??= JSON.stringify(toolCallsOf(answer.summary?.toolCalls ?? [])))}`;
    }
    return `${out}}`;
  }

  private responseJson(answer: HookAnswer): string {
    return (this.response ??= answer.json ?? JSON.stringify(answer.summary!.reassembled));
  }

  private metadata(send: number): string {
    const r = this.request;
    // The fields every call carries, without the closing brace, so optional ones append.
    // Written out rather than JSON.stringify of an object: a third of the time, per request.
    const q = JSON.stringify;
    this.meta ??= `{"login_name":${q(r.identity.login)},"user_agent":${q(r.userAgent)},"url":${q(r.url)},"model":${q(r.model)},"provider":${q(r.provider)},"tailnet_name":${q(r.tailnetName)},"stable_node_id":${q(r.identity.nodeId)},"request_id":${q(r.requestId)},"session_id":${q(r.sessionId)}`;
    let out = this.meta;
    if (send & SEND_BITS.grants) out += `,"grants":${(this.grants ??= JSON.stringify(r.access.otherApps))}`;
    if (send & SEND_BITS.estimated_cost && this.answer?.cost) out += `,"estimated_cost":${JSON.stringify(this.answer.cost)}`;
    if (send & SEND_BITS.quotas) {
      const quotas = r.quotas();
      if (quotas) out += `,"quotas":${JSON.stringify(quotas)}`;
    }
    return `${out}}`;
  }
}

/** toolCallsOf turns recorded tool calls into `{name, params}` with the arguments as an object. */
export function toolCallsOf(calls: readonly ToolCall[]): Array<{ name: string; params: Record<string, unknown> }> {
  return calls.map((c) => ({ name: c.name, params: paramsOf(c.arguments) }));
}

/**
 * paramsOf parses a tool call's arguments (OpenAI sends them as JSON text; Anthropic's and
 * Gemini's are objects the readers wrote as text). Arguments that are not a JSON object (a
 * stream cut inside them, a custom tool's free text) are kept whole under `input`.
 */
function paramsOf(args: string | undefined): Record<string, unknown> {
  if (args === undefined || args === '') return {};
  try {
    const v: unknown = JSON.parse(args);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // not JSON: kept as text below
  }
  return { input: args };
}

/** usageTokens names a usage as the reference's UsageTokens does (input includes cached tokens, as keyway counts them). */
export function usageTokens(u: Usage): Record<string, number> {
  return {
    input_tokens: u.inputTokens,
    output_tokens: u.outputTokens,
    cached_tokens: u.cacheReadTokens,
    cache_creation_input_tokens: u.cacheWrite5mTokens + u.cacheWrite1hTokens,
    cache_creation_5m_input_tokens: u.cacheWrite5mTokens,
    cache_creation_1h_input_tokens: u.cacheWrite1hTokens,
    reasoning_tokens: u.reasoningTokens,
    web_search_count: u.webSearchCount,
  };
}
