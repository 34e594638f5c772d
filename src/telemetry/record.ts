/**
 * RequestRecord is what keyway keeps about one request: who, what, how it went, how much
 * it used and cost. It never holds a credential: only where the credential came from and,
 * for a client's own credential, a keyed one-way fingerprint of it.
 */
import type { ToolCall, Usage } from './usage.js';

export type CredentialSource = 'client' | 'fallback' | 'provider' | 'none';

export interface RequestRecord {
  id: string;
  /** Start time, milliseconds since the epoch. */
  startedAt: number;
  durationMs: number;
  /** Time to the first response byte from the upstream, or null when none came. */
  ttfbMs: number | null;
  login: string;
  nodeId: string;
  tags: string[];
  userAgent: string;
  /** `api` for provider-API clients, `chat-ui` for keyway's own chat. */
  client: string;
  /** The API format (compatibility flag) the client spoke, e.g. `anthropic_messages`. */
  format: string;
  /** The format the provider was called in: `format` itself, another one when keyway translated, null without a provider. */
  providerFormat: string | null;
  path: string;
  requestedModel: string;
  provider: string | null;
  upstreamModel: string | null;
  status: number;
  /** keyway's error code when keyway ended the request (UNKNOWN_MODEL, UPSTREAM_TIMEOUT, …). */
  errorCode: string | null;
  /** `upstream_4xx`, `upstream_5xx`, `gateway`, `client_abort`, or null for success. */
  errorClass: string | null;
  stream: boolean;
  usage: Usage | null;
  toolCalls: ToolCall[];
  stopReason: string | null;
  sessionId: string;
  credentialSource: CredentialSource;
  /** `kf_…`: HMAC of the client credential with this install's secret, truncated. */
  credentialFingerprint: string | null;
  /** What the worker needs to price the request (resolved from the config at request time). */
  pricing: PricingInput | null;
  /** The quota buckets the request was checked against, and what each was charged. */
  quotas: QuotaEntry[];
  /**
   * Body bytes sent and answered, where recorded: `/direct` calls (format `direct`) and MCP
   * tool calls (format `mcp`: the arguments and the result as JSON); absent for inference.
   */
  requestBytes?: number | null;
  responseBytes?: number | null;
  /** The hooks the request called (absent when none): pre_request verdicts, asynchronous events queued. */
  hooks?: HookEntry[];
}

/**
 * One hook a request called. pre_request calls have the hook's verdict and how long the
 * call took. Asynchronous events (entire_request, tool_call_entire_request) are called
 * after the record is made, so it says only whether the call was queued or dropped
 * (a full queue); their outcomes are counted in /metrics.
 */
export interface HookEntry {
  hook: string;
  event: string;
  verdict: HookVerdict;
  /** Milliseconds the call took; null for asynchronous events. */
  ms: number | null;
  /** For failures: the reason and what happened (`timeout: no answer within 5000 ms`). */
  detail?: string;
}

export type HookVerdict = 'allow' | 'modify' | 'block' | 'failed_open' | 'failed_closed' | 'queued' | 'dropped';

/**
 * How a request touched one quota bucket. `charged`: its estimated cost was taken (which
 * may be 0, e.g. for an error answer); `unpriced`: the answer had usage but the model has
 * no price, so nothing was taken; `no_usage`: a successful answer reported no usage;
 * `refused`: the bucket was empty and the request was not forwarded.
 */
export interface QuotaEntry {
  /** The bucket (`daily:alice@example.com`). */
  bucket: string;
  /** The quota that defines it (`daily:<user>`). */
  quota: string;
  /** Nanodollars taken (1 USD = 1,000,000,000). */
  nanos: number;
  outcome: QuotaOutcome;
}

export type QuotaOutcome = 'charged' | 'unpriced' | 'no_usage' | 'refused';

export interface PricingInput {
  /** The cost basis (`anthropic`, `openai`, …), explicit or inferred. */
  basis: string;
  /** The model to price as (after `model_cost_map`). */
  model: string;
  adjustment: number;
}

/** Capture is the stored request and response of one call; purged under `database.retention`. */
export interface Capture {
  requestId: string;
  requestHeaders: Record<string, string>;
  requestBody: string;
  requestTruncated: boolean;
  responseHeaders: Record<string, string>;
  /** The answer; for a stream, the reassembled object as JSON (the raw stream if that failed). */
  responseBody: string;
  responseTruncated: boolean;
  /** Translated calls only (else null): the body keyway sent the provider, in its API. */
  upstreamRequestBody: string | null;
  /** Translated calls only (else null): the provider's answer in its API, reassembled like responseBody. */
  upstreamResponseBody: string | null;
}

/** A record as stored, with its estimated cost. */
export interface StoredRequest extends Omit<RequestRecord, 'pricing'> {
  costUsd: number | null;
  costBasis: string | null;
  /** Tool calls the answer made (their details may have been purged). */
  toolCallCount: number;
  /** The client agent, worked out from `client` and `userAgent` when read (agents.ts). */
  agent?: string;
}
