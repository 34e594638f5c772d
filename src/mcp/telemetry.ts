/**
 * MCP tool calls in telemetry: each call (refused and failed ones too) becomes a request
 * record of format `mcp`, listed by `GET /api/requests` and aggregated by
 * `GET /api/tool-use`, with the arguments and the result in its capture under the same
 * retention as every capture. The record's fields mean (docs/telemetry.md):
 * `requestedModel` the name called (`server_tool`), `provider` the server, `upstreamModel`
 * the upstream's tool name, `stopReason` the outcome, `sessionId` the MCP session, sizes
 * in `requestBytes`/`responseBytes`. No credential is in any of it: the client's headers
 * are redacted, and the server's credential never passes through here.
 */
import type { Telemetry } from '../telemetry/telemetry.js';
import { cut, redactHeaders } from '../telemetry/capture.js';
import type { Capture, RequestRecord } from '../telemetry/record.js';
import { newRequestId } from '../telemetry/trace.js';
import { MCP_FORMAT } from '../telemetry/db/telemetry-db.js';
import type { McpGateway, McpObserver, ToolCallEvent, ToolCallOutcome } from './gateway.js';
import { McpMetrics } from './metrics.js';
import type { ServerStatus } from './upstream.js';

/** How each outcome reads as a status, a keyway error code and an error class. */
const OUTCOMES: Record<ToolCallOutcome, { status: number; errorCode: string | null; errorClass: string | null }> = {
  ok: { status: 200, errorCode: null, errorClass: null },
  tool_error: { status: 200, errorCode: null, errorClass: 'tool_error' },
  upstream_error: { status: 200, errorCode: null, errorClass: 'upstream_error' },
  refused: { status: 404, errorCode: 'TOOL_REFUSED', errorClass: 'gateway' },
  unknown: { status: 404, errorCode: 'UNKNOWN_TOOL', errorClass: 'gateway' },
  invalid: { status: 400, errorCode: 'BAD_REQUEST', errorClass: 'gateway' },
  unavailable: { status: 502, errorCode: 'UPSTREAM_UNREACHABLE', errorClass: 'gateway' },
  timeout: { status: 504, errorCode: 'UPSTREAM_TIMEOUT', errorClass: 'gateway' },
  cancelled: { status: 499, errorCode: null, errorClass: 'client_abort' },
};

export class McpTelemetry implements McpObserver {
  private readonly metrics: McpMetrics;

  constructor(
    private readonly telemetry: Telemetry,
    gateway: McpGateway,
  ) {
    this.metrics = new McpMetrics(telemetry.metrics.registry, gateway);
  }

  onTransition(server: string, _from: ServerStatus, to: ServerStatus): void {
    this.metrics.observeTransition(server, to);
  }

  onToolCall(e: ToolCallEvent): void {
    try {
      this.metrics.observeCall(e);
      const { identity, headers, snapshot } = e.caller;
      const how = OUTCOMES[e.outcome];
      const sessionId = headers['mcp-session-id'];
      const id = newRequestId();
      const record: RequestRecord = {
        id,
        startedAt: e.startedAt,
        durationMs: e.durationMs,
        ttfbMs: null,
        login: identity.login,
        nodeId: identity.nodeId,
        tags: [...identity.tags],
        userAgent: String(headers['user-agent'] ?? '').slice(0, 256),
        client: 'mcp',
        format: MCP_FORMAT,
        providerFormat: null,
        quotas: [],
        path: '/v1/mcp',
        requestedModel: e.name.slice(0, 512),
        provider: e.server,
        upstreamModel: e.tool,
        status: how.status,
        errorCode: how.errorCode,
        errorClass: how.errorClass,
        stream: false,
        usage: null,
        toolCalls: [],
        stopReason: e.outcome,
        sessionId: typeof sessionId === 'string' ? sessionId : id,
        credentialSource: 'none',
        credentialFingerprint: null,
        pricing: null,
        requestBytes: e.requestBytes,
        responseBytes: e.responseBytes,
      };
      const policy = this.telemetry.policy(snapshot);
      const limit = policy.retentionMs === 0 ? 0 : this.telemetry.options.captureLimit;
      let capture: Capture | null = null;
      if (limit > 0) {
        const args = cut(e.argumentsText, limit);
        const result = cut(e.resultText, limit);
        capture = {
          requestId: id,
          requestHeaders: redactHeaders(headers),
          requestBody: args.text,
          requestTruncated: args.truncated,
          responseHeaders: {},
          responseBody: result.text,
          responseTruncated: result.truncated,
          upstreamRequestBody: null,
          upstreamResponseBody: null,
        };
      }
      this.telemetry.recorder.submit(record, capture);
    } catch (err) {
      this.telemetry.log.error({ err: (err as Error).message }, 'could not record an MCP tool call');
    }
  }
}
