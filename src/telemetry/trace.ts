/**
 * RequestTrace collects what one inference request did as it goes through the pipeline,
 * then, after the answer has been relayed, turns it into a RequestRecord (and capture),
 * updates the metrics and queues the record. Nothing here delays the client.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** What a trace reads of the request: a client's IncomingMessage, or one keyway makes itself. */
export interface TracedRequest {
  headers: IncomingHttpHeaders;
  url?: string;
}
import type { CompiledProvider, Snapshot } from '../config/snapshot.js';
import type { GatewayError } from '../errors.js';
import type { ApiFormat } from '../formats/types.js';
import type { Identity } from '../identity/identity.js';
import type { ForwardOutcome } from '../upstream/proxy.js';
import { cut, redactHeaders, redactQuery } from './capture.js';
import { pricingFor } from './pricing.js';
import type { QuotaTicket } from '../governance/quotas.js';
import type { AfterAnswer } from '../hooks/hooks.js';
import type { Capture, CredentialSource, HookEntry, QuotaEntry, RequestRecord } from './record.js';
import { conversationFingerprint, sessionFromBody, sessionFromHeaders } from './session.js';
import { ResponseTap, type TapResult } from './tap.js';
import type { Telemetry } from './telemetry.js';

export class RequestTrace {
  readonly id = newRequestId();
  readonly startedAt = Date.now();
  private readonly startedPerf = performance.now();
  private requestedModel = '';
  private stream = false;
  private sessionId: string | undefined;
  private body: Record<string, unknown> | undefined;
  private bodyText = '';
  private provider: CompiledProvider | undefined;
  private upstreamModel: string | undefined;
  private credentialSource: CredentialSource = 'none';
  private credentialFingerprint: string | null = null;
  private quotaTicket: QuotaTicket | undefined;
  private quotaEntries: QuotaEntry[] | undefined;
  /** The format the provider was called in, when keyway translated (else the client's). */
  private providerFormat: ApiFormat | undefined;
  private upstreamBodyText: string | undefined;
  private hookEntries: HookEntry[] | undefined;
  private afterAnswer: AfterAnswer | undefined;
  tap: ResponseTap | undefined;

  constructor(
    private readonly telemetry: Telemetry,
    private readonly req: TracedRequest,
    private readonly identity: Identity,
    private readonly format: ApiFormat,
    private readonly snapshot: Snapshot,
    private readonly captureLimit: number,
    private readonly client: string,
  ) {}

  /** The parsed request: model, whether it streams, session. */
  setRequest(body: Record<string, unknown>, bodyText: string, model: string, urlStreams: boolean): void {
    this.body = body;
    this.bodyText = bodyText;
    this.requestedModel = model;
    this.stream = urlStreams || body.stream === true;
    this.sessionId = sessionFromHeaders(this.req.headers) ?? sessionFromBody(body);
  }

  /**
   * The route: provider, upstream model and, when keyway translates, the format the
   * provider is called in. Creates the tap that reads the (upstream's) answer.
   */
  setRoute(provider: CompiledProvider, upstreamModel: string, providerFormat: ApiFormat = this.format, keepRaw = false): ResponseTap {
    this.provider = provider;
    this.upstreamModel = upstreamModel;
    this.providerFormat = providerFormat;
    // keepRaw: every event is kept too, for hooks sent `raw_responses`.
    this.tap = new ResponseTap(providerFormat, this.startedPerf, this.captureLimit, keepRaw);
    return this.tap;
  }

  /** The body keyway sent upstream after translating the client's (kept in the capture). */
  setUpstreamRequest(text: string): void {
    this.upstreamBodyText = text;
  }

  /** The request's session, as its record will have it (a fingerprint is worked out once). */
  get session(): string {
    return (this.sessionId ??= this.body ? conversationFingerprint(this.identity.login, this.body) : this.id);
  }

  /** setHooks records the pre_request hooks the request went through. */
  setHooks(entries: HookEntry[]): void {
    this.hookEntries = entries;
  }

  /** setAfterAnswer hands over the asynchronous hook events, queued when the answer has been read. */
  setAfterAnswer(after: AfterAnswer | undefined): void {
    this.afterAnswer = after;
  }

  /** Whether request and response bodies are captured. */
  get capturing(): boolean {
    return this.captureLimit > 0;
  }

  /** Where the upstream credential came from; a client credential is fingerprinted and forgotten. */
  setCredential(source: CredentialSource, clientCredential: string | undefined): void {
    this.credentialSource = source;
    this.credentialFingerprint = source === 'client' && clientCredential ? this.telemetry.fingerprints.of(clientCredential) : null;
  }

  /** setQuota hands over the quota ticket: the trace charges it when the answer is read. */
  setQuota(ticket: QuotaTicket | undefined): void {
    this.quotaTicket = ticket;
  }

  /** setQuotaRefusal records the buckets that refused the request. */
  setQuotaRefusal(entries: QuotaEntry[]): void {
    this.quotaEntries = entries;
  }

  /** finish records an exchange that reached the relay; it resolves with what the tap read. */
  finish(outcome: ForwardOutcome, clientAnswer?: string): Promise<TapResult | undefined> {
    const tap = this.tap;
    if (!tap) return Promise.resolve(undefined);
    const durationMs = performance.now() - this.startedPerf;
    return tap.finish().then(
      (result) => {
        this.queueHookEvents(result, outcome.status);
        this.submit(outcome.status, outcome.error ?? null, outcome.clientAborted, durationMs, result, clientAnswer);
        return result;
      },
      () => {
        this.queueHookEvents(undefined, outcome.status);
        this.submit(outcome.status, outcome.error ?? null, outcome.clientAborted, durationMs, undefined, clientAnswer);
        return undefined;
      },
    );
  }

  /** answered records a request keyway answered itself, successfully (a translated count_tokens). */
  answered(status: number): void {
    this.submit(status, null, false, performance.now() - this.startedPerf, undefined);
  }

  /**
   * answered queues the asynchronous hook events. The ticket is settled first, so a hook
   * sent `quotas` sees the balances with this request charged.
   */
  private queueHookEvents(result: TapResult | undefined, status: number): void {
    if (!this.afterAnswer) return;
    try {
      this.quotaTicket?.settle(result?.summary?.usage, status);
      const entries = this.afterAnswer.answered(result);
      if (entries.length > 0) this.hookEntries = [...(this.hookEntries ?? []), ...entries];
    } catch (err) {
      this.telemetry.log.error({ err: (err as Error).message, id: this.id }, 'could not queue hook events');
    }
  }

  /** fail records a request keyway answered itself before (or instead of) forwarding. */
  fail(error: GatewayError): void {
    this.submit(error.status, error, error.code === 'CLIENT_CLOSED', performance.now() - this.startedPerf, undefined);
  }

  private submit(status: number, error: GatewayError | null, clientAborted: boolean, durationMs: number, tapped: TapResult | undefined, clientAnswer?: string): void {
    try {
      const summary = tapped?.summary;
      const provider = this.provider;
      // Charged first, so a record that cannot be built still leaves the buckets right.
      const quotas = this.quotaEntries ?? this.quotaTicket?.settle(summary?.usage, status) ?? [];
      const record: RequestRecord = {
        id: this.id,
        startedAt: this.startedAt,
        durationMs,
        ttfbMs: tapped?.ttfbMs ?? null,
        login: this.identity.login,
        nodeId: this.identity.nodeId,
        tags: [...this.identity.tags],
        userAgent: String(this.req.headers['user-agent'] ?? '').slice(0, 256),
        client: this.client,
        format: this.format.flag,
        providerFormat: provider ? (this.providerFormat ?? this.format).flag : null,
        path: redactQuery(this.req.url ?? ''),
        requestedModel: this.requestedModel,
        provider: provider?.id ?? null,
        upstreamModel: this.upstreamModel ?? null,
        status,
        errorCode: error?.code ?? null,
        errorClass: clientAborted ? 'client_abort' : error ? 'gateway' : status >= 500 ? 'upstream_5xx' : status >= 400 ? 'upstream_4xx' : null,
        stream: this.stream,
        usage: summary?.usage ?? null,
        toolCalls: summary?.toolCalls ?? [],
        stopReason: summary?.stopReason ?? null,
        sessionId: this.session,
        credentialSource: this.credentialSource,
        credentialFingerprint: this.credentialFingerprint,
        // Cost follows the provider's format (its cost basis) and model, whatever the client spoke.
        pricing: provider && this.upstreamModel ? pricingFor(provider.spec, (this.providerFormat ?? this.format).flag, this.upstreamModel, this.snapshot.config.autoCostBasis) : null,
        quotas,
      };
      if (this.hookEntries) record.hooks = this.hookEntries;
      let capture: Capture | null = null;
      if (this.captureLimit > 0 && this.body !== undefined) {
        const reqBody = cut(this.bodyText, this.captureLimit);
        // Translated: the response fields hold the client's answer, the upstream fields the provider's side.
        const translated = this.upstreamBodyText !== undefined;
        const answer = translated ? cut(clientAnswer ?? '', this.captureLimit) : undefined;
        capture = {
          requestId: this.id,
          requestHeaders: redactHeaders(this.req.headers),
          requestBody: reqBody.text,
          requestTruncated: reqBody.truncated,
          responseHeaders: tapped ? redactHeaders(tapped.responseHeaders) : {},
          responseBody: answer ? answer.text : (tapped?.body ?? ''),
          responseTruncated: answer ? answer.truncated : (tapped?.bodyTruncated ?? false),
          upstreamRequestBody: translated ? cut(this.upstreamBodyText!, this.captureLimit).text : null,
          upstreamResponseBody: translated ? (tapped?.body ?? '') : null,
        };
      }
      this.telemetry.metrics.observe(record);
      this.telemetry.recorder.submit(record, capture);
    } catch (err) {
      this.telemetry.log.error({ err: (err as Error).message, id: this.id }, 'could not record request');
    }
  }
}

/**
 * Request ids sort by time: `req_`, the start in milliseconds (11 hex digits), a counter
 * (4) and a per-process random part (5). Ids that grow keep inserts at the end of the
 * database's primary-key index; random ones scatter them across it, which cost the writer
 * thread more than half of its time per row in a large database. The counter makes ids
 * unique within a process; the random part keeps two processes on one database apart.
 */
const PROCESS_PART = randomBytes(3).toString('hex').slice(0, 5);
let counter = 0;
/** The time part is written once per millisecond, the counter from a table: number-to-hex conversions are slow in V8. */
let lastMs = -1;
let lastMsHex = '';
const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function newRequestId(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastMsHex = now.toString(16).padStart(11, '0');
  }
  counter = (counter + 1) & 0xffff;
  return `req_${lastMsHex}${HEX_BYTE[counter >> 8]!}${HEX_BYTE[counter & 0xff]!}${PROCESS_PART}`;
}
