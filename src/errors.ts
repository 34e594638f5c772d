/**
 * The gateway's own error catalogue. Every error keyway itself produces has a stable
 * code, an HTTP status and a default message; callers branch on `code`, never on text.
 * How an error looks on the wire is decided elsewhere, once per API format
 * (`formats/*.ts` `renderError`), so the same error reads naturally to an Anthropic,
 * OpenAI or Google client. Upstream error *responses* are never turned into these:
 * they are relayed unchanged.
 */

export const ERRORS = {
  BAD_JSON: { status: 400, message: 'request body is not valid JSON' },
  BAD_REQUEST: { status: 400, message: 'bad request' },
  MISSING_MODEL: { status: 400, message: 'request body has no "model" string' },
  DUPLICATE_MODEL_KEY: { status: 400, message: 'request body has more than one top-level "model" key; send exactly one' },
  BAD_MODEL_NAME: { status: 400, message: 'model name is not valid' },
  UNTRANSLATABLE: { status: 400, message: 'this request cannot be translated for the provider that serves the model' },
  BODY_TOO_LARGE: { status: 413, message: 'request body is too large' },
  UNKNOWN_MODEL: { status: 404, message: 'model not found' },
  UNKNOWN_ROUTE: { status: 404, message: 'no such endpoint' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed' },
  TELEMETRY_OFF: { status: 404, message: 'telemetry is off (keyway serve --telemetry off)' },
  STORE_UNAVAILABLE: { status: 503, message: 'the database is not reachable at the moment; try again shortly' },
  CLIENT_CREDENTIAL_REQUIRED: { status: 401, message: 'this provider is passthrough-only: requests must carry the caller\'s own API key or token' },
  NO_PROVIDER_KEY: { status: 400, message: 'no API key is configured for this provider; clients bring their own (passthrough-only)' },
  CHAT_DISABLED: { status: 403, message: 'access denied: the chat UI is turned off for you (enable_chat_ui)' },
  NOT_FOUND: { status: 404, message: 'not found' },
  NO_METRICS_GRANT: { status: 403, message: 'access denied: /metrics needs the read_metrics capability' },
  QUOTA_EXCEEDED: { status: 429, message: 'quota exceeded' },
  // A pre_request hook answered "block": its status_code (403 unless it says otherwise) and message.
  GUARDRAIL_BLOCKED: { status: 403, message: 'request blocked by guardrail' },
  HOOK_FAILED: { status: 503, message: 'a guardrail hook failed and its fail_policy is fail_closed' },
  // The client went away before keyway forwarded the request (nginx's 499): nothing is answered.
  CLIENT_CLOSED: { status: 499, message: 'the client closed the connection before the request was forwarded' },
  UNKNOWN_BUCKET: { status: 404, message: 'no such quota bucket' },
  NO_ROLE: { status: 403, message: 'access denied: no role granted' },
  NOT_ADMIN: { status: 403, message: 'access denied: admin role required' },
  PEER_REFUSED: { status: 403, message: 'access denied: caller has no identity' },
  CSRF: { status: 403, message: 'cross-site request refused' },
  CROSS_SITE: { status: 403, message: 'cross-site request refused' },
  UNKNOWN_HOST: { status: 421, message: 'this gateway does not answer for that host name' },
  BODY_TIMEOUT: { status: 408, message: 'request body was not received in time' },
  CONFIG_CONFLICT: { status: 409, message: 'configuration changed since it was read' },
  CONFIG_INVALID: { status: 400, message: 'configuration is not valid' },
  UPGRADE_REQUIRED: { status: 426, message: 'WebSocket transport is not supported; use HTTP' },
  UNKNOWN_CONNECTOR: { status: 404, message: 'no such connector' },
  CONNECTOR_DENIED: { status: 403, message: 'access denied: no connectors grant for this path' },
  CONNECTOR_UNAVAILABLE: { status: 503, message: 'this connector is not connected' },
  REGISTRATION_CLOSED: { status: 403, message: 'MCP server registration is off (mcp.accept_registrations)' },
  UPSTREAM_UNREACHABLE: { status: 502, message: 'upstream provider could not be reached' },
  UPSTREAM_FAILED: { status: 502, message: 'upstream provider connection failed' },
  UPSTREAM_BAD_ANSWER: { status: 502, message: "the provider's answer could not be translated" },
  UPSTREAM_TIMEOUT: { status: 504, message: 'upstream provider timed out' },
  // Vertex AI, keyfile credentials and /direct (issue 16).
  UPSTREAM_AUTH_FAILED: { status: 502, message: 'keyway could not get a credential for the upstream provider' },
  BAD_PATH_SEGMENT: { status: 400, message: 'a path segment is not valid' },
  NO_VERTEX_PROJECT: { status: 400, message: 'the path names _aperture_auto_vertex_project_id_, but the provider has no keyfile project_id to fill it with' },
  UNKNOWN_PROVIDER: { status: 404, message: 'no such provider' },
  NO_DIRECT_GRANT: { status: 403, message: 'access denied: no model of this provider is granted to you' },
  INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** GatewayError is an error keyway reports to its caller, with a catalogue code. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra response headers, e.g. `allow` for 405, `retry-after` for 429. */
  readonly headers: Record<string, string> | undefined;
  /** Extra fields for keyway's own `{error, code}` envelope (the bucket of a quota refusal). */
  readonly details: Record<string, unknown> | undefined;

  /** `status` replaces the catalogue's, for errors whose status is configured (a guardrail's block). */
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; headers?: Record<string, string>; details?: Record<string, unknown>; status?: number }) {
    super(message ?? ERRORS[code].message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = options?.status ?? ERRORS[code].status;
    this.headers = options?.headers;
    this.details = options?.details;
  }
}

/**
 * StoreUnavailableError: a read or write the database could not answer because it cannot
 * be reached (PostgreSQL down, restarting or cut off), as opposed to a query that failed.
 * The API answers it as STORE_UNAVAILABLE (503, to be retried), never as a 500.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * upstreamErrorFromTransport maps a failure of the upstream connection (not an upstream
 * error *response*) to a catalogue error. This is the only place that inspects undici's
 * error codes: timeouts are 504, everything else that kept us from an answer is 502.
 */
export function upstreamErrorFromTransport(err: unknown): GatewayError {
  const code = (err as { code?: string } | null)?.code ?? '';
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return new GatewayError('UPSTREAM_TIMEOUT', undefined, { cause: err });
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new GatewayError('UPSTREAM_UNREACHABLE', undefined, { cause: err });
    default:
      return new GatewayError('UPSTREAM_FAILED', undefined, { cause: err });
  }
}
