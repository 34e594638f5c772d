/**
 * HookCallData: the JSON keyway POSTs to a hook (reference §12.2). Every call carries
 * `event` and `metadata` (who, what, where); each `send` field adds its part. Nothing
 * here ever reads a header other than the user agent, so no credential can reach a hook:
 * not the client's key or token, not the provider's key, not a cookie, not a
 * `Tailscale-*` identity header, and the URL's query has its credential parameters
 * redacted (telemetry/capture.ts) before it gets here.
 *
 * A request's PayloadParts are taken once (for the union of what its calls send); the
 * request body is embedded as the text keyway received (it was parsed, so it is JSON)
 * rather than serialized again, and the parts several hooks send alike are serialized
 * once by the request's PayloadBuilder.
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
  cost: PartsCost | undefined;
}

/** The reference's CostEstimate: dollars, the price list and model it came from, the usage priced. */
export interface EstimatedCost {
  dollars: number;
  cost_basis: string;
  usage: Record<string, number>;
}

/** An estimated cost as it was worked out: written as an EstimatedCost when a payload is built. */
export interface PartsCost {
  dollars: number;
  basis: string;
  usage: Usage;
}

/**
 * PayloadParts is what the payloads of one request are built from, as plain values: the
 * metadata strings, JSON texts that exist already (the request body as received, the
 * tap's answer), and the rest unserialized (tool calls, the cost). An event's parts cross
 * to the events thread as they are (event-wire.ts) and its JSON is written there: on the
 * request thread, building the text and then copying it into a message cost about five
 * times what copying the parts does (10 against 2 µs an event; docs/performance.md).
 */
export interface PayloadParts {
  login: string;
  userAgent: string;
  url: string;
  model: string;
  provider: string;
  tailnetName: string;
  nodeId: string;
  requestId: string;
  sessionId: string;
  // Present only when a call sends them.
  /** `metadata.grants` as JSON. */
  grants?: string;
  /** The request body's JSON text. */
  bodyText?: string;
  /** The last user message, as text. */
  userMessage?: string;
  /** The quota buckets as JSON (read when the parts were made). */
  quotas?: string;
  /** The answer's parts (asynchronous events only): the reassembled answer and the raw responses as JSON. */
  response?: string;
  raw?: string;
  toolCalls?: readonly ToolCall[];
  cost?: PartsCost;
}

/**
 * partsOf takes from a request (and, for the events, its answer) the parts that the
 * fields in `send` (SEND_BITS, the union over the calls) need. Only what exists is
 * serialized here: the grants, the quotas, an answer the tap kept no text of.
 */
export function partsOf(r: HookRequest, send: number, answer?: HookAnswer): PayloadParts {
  const p: PayloadParts = {
    login: r.identity.login,
    userAgent: r.userAgent,
    url: r.url,
    model: r.model,
    provider: r.provider,
    tailnetName: r.tailnetName,
    nodeId: r.identity.nodeId,
    requestId: r.requestId,
    sessionId: r.sessionId,
  };
  if (send & SEND_BITS.grants) p.grants = JSON.stringify(r.access.otherApps);
  if (send & SEND_BITS.request_body) p.bodyText = r.bodyText;
  if (send & SEND_BITS.user_message) p.userMessage = r.format.userMessage?.(r.body) ?? '';
  if (send & SEND_BITS.quotas) {
    const quotas = r.quotas();
    if (quotas) p.quotas = JSON.stringify(quotas);
  }
  // The answer's parts exist only after it: absent from pre_request calls.
  if (!answer) return p;
  const reassembled = answer.summary?.reassembled;
  const responseJson = () => (p.response ??= answer.json ?? JSON.stringify(reassembled));
  if (send & SEND_BITS.response_body && reassembled !== undefined) responseJson();
  // A JSON answer's raw response is the reassembled one, the same object.
  if (send & SEND_BITS.raw_responses && answer.raw !== undefined) p.raw = answer.raw === reassembled ? responseJson() : JSON.stringify(answer.raw);
  if (send & SEND_BITS.tools) p.toolCalls = answer.summary?.toolCalls ?? [];
  if (send & SEND_BITS.estimated_cost && answer.cost) p.cost = answer.cost;
  return p;
}

/**
 * A PayloadBuilder writes the calls of one request from its parts: what several hooks
 * send alike (metadata, tool calls) is serialized once.
 */
export class PayloadBuilder {
  private meta: string | undefined;
  private userMessage: string | undefined;
  private tools: string | undefined;
  private cost: string | undefined;

  constructor(private readonly parts: PayloadParts) {}

  /** build returns the JSON text of one call for `event` with the fields of `send` (SEND_BITS) that the parts have. */
  build(event: HookEvent, send: number): string {
    const p = this.parts;
    let out = `{"event":"${event}","metadata":${this.metadata(send)}`;
    if (send & SEND_BITS.request_body && p.bodyText !== undefined) out += `,"request_body":${p.bodyText}`;
    if (send & SEND_BITS.user_message && p.userMessage !== undefined) out += `,"user_message":${(this.userMessage ??= JSON.stringify(p.userMessage))}`;
    if (send & SEND_BITS.response_body && p.response !== undefined) out += `,"response_body":${p.response}`;
    if (send & SEND_BITS.raw_responses && p.raw !== undefined) out += `,"raw_responses":${p.raw}`;
    if (send & SEND_BITS.tools && p.toolCalls) out += `,"tool_calls":${(this.tools ??= JSON.stringify(toolCallsOf(p.toolCalls)))}`;
    return `${out}}`;
  }

  private metadata(send: number): string {
    const p = this.parts;
    // The fields every call carries, without the closing brace, so optional ones append.
    // Written out rather than JSON.stringify of an object: a third of the time, per request.
    const q = JSON.stringify;
    this.meta ??= `{"login_name":${q(p.login)},"user_agent":${q(p.userAgent)},"url":${q(p.url)},"model":${q(p.model)},"provider":${q(p.provider)},"tailnet_name":${q(p.tailnetName)},"stable_node_id":${q(p.nodeId)},"request_id":${q(p.requestId)},"session_id":${q(p.sessionId)}`;
    let out = this.meta;
    if (send & SEND_BITS.grants && p.grants !== undefined) out += `,"grants":${p.grants}`;
    if (send & SEND_BITS.estimated_cost && p.cost) out += `,"estimated_cost":${(this.cost ??= JSON.stringify({ dollars: p.cost.dollars, cost_basis: p.cost.basis, usage: usageTokens(p.cost.usage) } satisfies EstimatedCost))}`;
    if (send & SEND_BITS.quotas && p.quotas !== undefined) out += `,"quotas":${p.quotas}`;
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
