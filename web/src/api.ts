/**
 * api.ts is the UI's one network choke point. Every request to keyway goes through
 * apiFetch (JSON) or apiStream (server-sent events): it adds the CSRF token to requests
 * that change something, retries once with a fresh token when keyway says the token is
 * stale, and turns every failure (network, HTTP status, keyway's error body, a provider's
 * error envelope) into an ApiError with a stable `code`. Nothing else calls fetch.
 */

/** ApiError is a failed call: `status` 0 means the network failed before any answer. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    /** keyway's error code (`CONFIG_CONFLICT`, `NOT_ADMIN`, …), or `NETWORK` / `HTTP_<status>`. */
    readonly code: string,
    message: string,
    /** The parsed error body, for callers that need more than the message (problems, hash). */
    readonly body: unknown = undefined,
  ) {
    super(message);
  }
}

export type ApiResult<T> = { ok: true; data: T } | { ok: false; error: ApiError };

export interface ApiOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Sent as JSON. */
  body?: unknown;
  signal?: AbortSignal;
}

let csrfToken: string | undefined;

/** setCsrfToken stores the token that GET /api/whoami hands out (hooks/whoami.ts calls it). */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

async function refreshCsrfToken(): Promise<void> {
  const res = await fetch('/api/whoami', { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (res.ok) {
    const who = (await res.json()) as { csrf_token?: unknown };
    if (typeof who.csrf_token === 'string') csrfToken = who.csrf_token;
  }
}

function request(path: string, options: ApiOptions, accept: string): Promise<Response> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  return fetch(path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
    credentials: 'same-origin',
  });
}

/** send performs the request, retrying once with a fresh token after a 403 CSRF answer. */
async function send(path: string, options: ApiOptions, accept: string): Promise<Response> {
  let res = await request(path, options, accept);
  if (res.status === 403 && (options.method ?? 'GET') !== 'GET') {
    const body = (await res.clone().json().catch(() => undefined)) as { code?: unknown } | undefined;
    if (body?.code === 'CSRF') {
      await refreshCsrfToken();
      res = await request(path, options, accept);
    }
  }
  return res;
}

/** errorFrom reads keyway's `{error, code}` or a provider-format `{error: {message}}` body. */
async function errorFrom(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (body !== null && typeof body === 'object') {
    const b = body as { error?: unknown; code?: unknown; message?: unknown };
    const code = typeof b.code === 'string' ? b.code : `HTTP_${res.status}`;
    if (typeof b.error === 'string') return new ApiError(res.status, code, b.error, body);
    if (b.error !== null && typeof b.error === 'object') {
      const e = b.error as { message?: unknown; code?: unknown; type?: unknown };
      const nested = typeof e.code === 'string' ? e.code.toUpperCase() : code;
      if (typeof e.message === 'string') return new ApiError(res.status, nested, e.message, body);
    }
    if (typeof b.message === 'string') return new ApiError(res.status, code, b.message, body);
  }
  const fallback = text.trim().slice(0, 300) || res.statusText || 'request failed';
  return new ApiError(res.status, `HTTP_${res.status}`, `${res.status}: ${fallback}`, body);
}

function networkError(err: unknown): ApiError {
  if (err instanceof DOMException && err.name === 'AbortError') return new ApiError(0, 'ABORTED', 'request cancelled');
  return new ApiError(0, 'NETWORK', `keyway could not be reached (${err instanceof Error ? err.message : String(err)})`);
}

/** apiFetch calls a JSON endpoint of keyway; it never throws. */
export async function apiFetch<T>(path: string, options: ApiOptions = {}): Promise<ApiResult<T>> {
  let res: Response;
  try {
    res = await send(path, options, 'application/json');
  } catch (err) {
    return { ok: false, error: networkError(err) };
  }
  if (!res.ok) return { ok: false, error: await errorFrom(res) };
  if (res.status === 204) return { ok: true, data: undefined as T };
  try {
    return { ok: true, data: (await res.json()) as T };
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') return { ok: false, error: networkError(err) };
    return { ok: false, error: new ApiError(res.status, 'BAD_RESPONSE', 'keyway sent an answer that is not JSON') };
  }
}

/** A server-sent event's data, parsed as JSON. */
export type StreamEvent = Record<string, unknown> & { type?: unknown };

/**
 * apiStream POSTs `body` and calls `onEvent` for each `data:` line of the
 * text/event-stream answer until it ends. Aborting `signal` closes the connection (keyway
 * then stops the upstream request). It resolves with an ApiError for a refused request;
 * a stream that breaks midway resolves with code `STREAM_BROKEN`.
 */
export async function apiStream(path: string, body: unknown, onEvent: (event: StreamEvent) => void, signal: AbortSignal): Promise<ApiResult<void>> {
  let res: Response;
  try {
    res = await send(path, { method: 'POST', body, signal }, 'text/event-stream');
  } catch (err) {
    return { ok: false, error: networkError(err) };
  }
  if (!res.ok || !res.body) return { ok: false, error: await errorFrom(res) };
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = frame
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trimStart())
          .join('\n');
        if (!data) continue;
        try {
          onEvent(JSON.parse(data) as StreamEvent);
        } catch {
          // A frame that is not JSON is not ours to interpret.
        }
      }
    }
  } catch (err) {
    if (signal.aborted) return { ok: false, error: new ApiError(0, 'ABORTED', 'stopped') };
    return { ok: false, error: new ApiError(0, 'STREAM_BROKEN', `the answer was cut off (${err instanceof Error ? err.message : String(err)})`) };
  }
  return { ok: true, data: undefined };
}

/** query renders a query string from the defined, non-empty values (with a leading `?`). */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
