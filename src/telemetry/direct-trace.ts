/**
 * DirectTrace records one `/direct/{provider}/…` call: who, which provider and path, the
 * status, the time to the first byte, and the body bytes each way. A direct call is not
 * routed by model and its API is whatever the provider's is (embeddings, files, audio),
 * so no usage is read and no body is captured; the record's format is `direct`. It reads
 * the answer as the relay's observer, counting bytes and holding nothing back.
 */
import type { IncomingMessage } from 'node:http';
import type { CompiledProvider } from '../config/snapshot.js';
import type { GatewayError } from '../errors.js';
import type { Identity } from '../identity/identity.js';
import type { ForwardOutcome, RelayObserver } from '../upstream/proxy.js';
import { redactQuery } from './capture.js';
import type { CredentialSource, RequestRecord } from './record.js';
import type { Telemetry } from './telemetry.js';
import { newRequestId } from './trace.js';

/** DIRECT_FORMAT is the `format` of direct calls in records and metrics. */
export const DIRECT_FORMAT = 'direct';

export class DirectTrace implements RelayObserver {
  readonly id = newRequestId();
  private readonly startedAt = Date.now();
  private readonly startedPerf = performance.now();
  private ttfbMs: number | null = null;
  private provider: CompiledProvider | undefined;
  private requestBytes: number | null = null;
  private responseBytes = 0;
  private stream = false;
  private credentialSource: CredentialSource = 'none';
  private credentialFingerprint: string | null = null;
  private done = false;

  constructor(
    private readonly telemetry: Telemetry,
    private readonly req: IncomingMessage,
    private readonly identity: Identity,
  ) {}

  /** setTarget names the provider and the request body's size once they are known. */
  setTarget(provider: CompiledProvider, requestBytes: number): void {
    this.provider = provider;
    this.requestBytes = requestBytes;
  }

  /** setCredential: where the upstream credential came from; a client's is only fingerprinted. */
  setCredential(source: CredentialSource, clientCredential: string | undefined): void {
    this.credentialSource = source;
    this.credentialFingerprint = source === 'client' && clientCredential ? this.telemetry.fingerprints.of(clientCredential) : null;
  }

  onResponseStart(_status: number, headers: Record<string, string | string[] | undefined>): void {
    this.ttfbMs = performance.now() - this.startedPerf;
    this.stream = String(headers['content-type'] ?? '').startsWith('text/event-stream');
  }

  onData(chunk: Buffer): void {
    this.responseBytes += chunk.length;
  }

  /** finish records a call that reached the relay. */
  finish(outcome: ForwardOutcome): void {
    this.submit(outcome.status, outcome.error ?? null, outcome.clientAborted);
  }

  /** fail records a call keyway refused or could not forward. */
  fail(error: GatewayError): void {
    this.submit(error.status, error, false);
  }

  private submit(status: number, error: GatewayError | null, clientAborted: boolean): void {
    if (this.done) return;
    this.done = true;
    try {
      const record: RequestRecord = {
        id: this.id,
        startedAt: this.startedAt,
        durationMs: performance.now() - this.startedPerf,
        ttfbMs: this.ttfbMs,
        login: this.identity.login,
        nodeId: this.identity.nodeId,
        tags: [...this.identity.tags],
        userAgent: String(this.req.headers['user-agent'] ?? '').slice(0, 256),
        client: 'api',
        format: DIRECT_FORMAT,
        providerFormat: null,
        path: redactQuery(this.req.url ?? ''),
        requestedModel: '',
        provider: this.provider?.id ?? null,
        upstreamModel: null,
        status,
        errorCode: error?.code ?? null,
        errorClass: clientAborted ? 'client_abort' : error ? 'gateway' : status >= 500 ? 'upstream_5xx' : status >= 400 ? 'upstream_4xx' : null,
        stream: this.stream,
        usage: null,
        toolCalls: [],
        quotas: [],
        stopReason: null,
        // Direct calls are not conversations: each is its own session.
        sessionId: this.id,
        credentialSource: this.credentialSource,
        credentialFingerprint: this.credentialFingerprint,
        pricing: null,
        requestBytes: this.requestBytes,
        responseBytes: this.ttfbMs === null ? null : this.responseBytes,
      };
      this.telemetry.metrics.observe(record);
      this.telemetry.recorder.submit(record, null);
    } catch (err) {
      this.telemetry.log.error({ err: (err as Error).message, id: this.id }, 'could not record direct call');
    }
  }
}
