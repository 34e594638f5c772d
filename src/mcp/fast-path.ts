/**
 * The hot messages of an established session, answered without the SDK's server
 * transport: `tools/call` (without a progress token) and the listings. The SDK's Node
 * transport converts every request to a web Request and back and answers with an SSE
 * stream; for a call that was most of keyway's own cost (docs/performance.md). Here the
 * answer is one JSON body, which Streamable HTTP allows for any request ("the server
 * MUST either return Content-Type: text/event-stream … or Content-Type:
 * application/json"), and a listing is the cached JSON of the caller's view with the
 * request's id around it.
 *
 * The rules the SDK applies are applied here too: the session belongs to the caller
 * (checked before), the client accepts both JSON and SSE, the protocol version header is
 * one keyway speaks. Anything else (initialize, notifications, batches, calls that want
 * progress, GET and DELETE) goes to the SDK. A client's `notifications/cancelled` for a
 * call answered here is answered here too: it aborts the call, and the upstream is told.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LazyCancellation, type Cancellation } from './cancellation.js';
import { requireMcpRuntime } from './runtime.js';
import type { CallOut } from './gateway.js';
import type { Caller, Extra, Session } from './session.js';

export type ListKind = 'tools' | 'resources' | 'resourceTemplates';

export interface FastOps {
  callTool(caller: Caller, params: Record<string, unknown>, extra: Extra, out?: CallOut, cancel?: Cancellation): Promise<Record<string, unknown>>;
  /** The JSON text of `{"<kind>": [...]}` for the caller's view (cached per view). */
  listJson(caller: Caller, kind: ListKind): string;
}

const LIST_METHODS: Record<string, ListKind> = { 'tools/list': 'tools', 'resources/list': 'resources', 'resources/templates/list': 'resourceTemplates' };

type Message = { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };

/**
 * tryFastPath answers `body` itself when it can and returns true; false leaves the
 * request to the SDK's transport (which then sees it exactly as it arrived).
 */
export function tryFastPath(req: IncomingMessage, res: ServerResponse, body: unknown, session: Session, caller: Caller, ops: FastOps): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  const msg = body as Message;
  if (msg.jsonrpc !== '2.0' || typeof msg.method !== 'string') return false;
  const accept = req.headers.accept ?? '';
  if (!accept.includes('application/json') || !accept.includes('text/event-stream')) return false;
  const version = req.headers['mcp-protocol-version'];
  if (version !== undefined && (typeof version !== 'string' || !requireMcpRuntime().supportedVersions.has(version))) return false;
  if (!isJsonContentType(req.headers['content-type'])) return false;
  const params = msg.params;
  if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params))) return false;
  const p = (params ?? {}) as Record<string, unknown>;

  // A notification: only a cancellation of a call answered here is ours.
  if (msg.id === undefined) {
    if (msg.method !== 'notifications/cancelled') return false;
    const inflight = session.inflight.get(String(p.requestId));
    if (!inflight) return false;
    inflight.abort();
    res.writeHead(202).end();
    return true;
  }
  if (typeof msg.id !== 'string' && typeof msg.id !== 'number') return false;
  const id = msg.id;

  const kind = LIST_METHODS[msg.method];
  if (kind) {
    if (p.cursor !== undefined) return false; // the SDK path answers the refusal
    sendBody(res, `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${ops.listJson(caller, kind)}}`);
    return true;
  }
  if (msg.method !== 'tools/call') return false;
  const meta = p._meta as { progressToken?: unknown } | undefined;
  if (meta && typeof meta === 'object' && meta.progressToken !== undefined) return false; // progress needs a stream
  if (session.inflight.has(String(id))) return false;

  // No AbortController unless something needs one (cancellation.ts).
  const cancel = new LazyCancellation();
  const key = String(id);
  session.inflight.set(key, cancel);
  // The client went away before the answer: the call upstream is cancelled.
  const onClose = () => {
    if (!res.writableFinished) cancel.abort();
  };
  res.on('close', onClose);
  const extra = {
    get signal() {
      return cancel.signal;
    },
    requestId: id,
    sendNotification: async () => {},
  } as unknown as Extra;
  const out: CallOut = {};
  ops.callTool(caller, p, extra, out, cancel).then(
    (result) => {
      // The result as JSON once: the upstream's text when it could be kept, which telemetry records too.
      out.text ??= JSON.stringify(result);
      finish(res, cancel, `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${out.text}}`);
      record(out);
    },
    (err: { code?: unknown; message?: string; data?: unknown }) => {
      const code = typeof err?.code === 'number' && Number.isSafeInteger(err.code) ? err.code : -32603;
      const error = err?.data === undefined ? { code, message: err?.message ?? 'Internal error' } : { code, message: err?.message ?? 'Internal error', data: err.data };
      finish(res, cancel, JSON.stringify({ jsonrpc: '2.0', id, error }));
      record(out);
    },
  ).finally(() => {
    session.inflight.delete(key);
    res.off('close', onClose);
  });
  return true;
}

/** record runs the call's telemetry once its answer is written; a failing observer cannot fail the call now. */
function record(out: CallOut): void {
  try {
    out.record?.();
  } catch {
    // McpTelemetry logs its own failures; another observer's throw is not the client's business.
  }
}

function finish(res: ServerResponse, cancel: Cancellation, body: string): void {
  // A cancelled request gets no answer (MCP: the receiver SHOULD NOT respond).
  if (cancel.aborted) {
    if (!res.headersSent) res.writeHead(204).end();
    return;
  }
  sendBody(res, body);
}

function sendBody(res: ServerResponse, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const type = value.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json';
}
