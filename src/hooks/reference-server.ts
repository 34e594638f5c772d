/**
 * `keyway hook-server`: a tiny reference guardrail, for operators to start from (and for
 * the tests). It answers keyway's HookCallData: a pre_request whose prompt matches a
 * pattern is blocked, everything else is allowed; asynchronous events are acknowledged
 * and logged as one line. It is deliberately plain node:http, one file: copy it, replace
 * `decide` with your own policy. See docs/hooks.md.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';

export const HOOK_SERVER_USAGE = `usage: keyway hook-server --pattern REGEX [flags]

A reference guardrail hook (docs/hooks.md): it blocks every pre_request whose prompt
(user_message, or the whole request_body when the hook is not sent user_message) matches
REGEX, allows the rest, and acknowledges entire_request and tool_call_entire_request
events with one log line each. Point a hook at it:

  "hooks": { "guard": { "url": "http://127.0.0.1:8090/", "fail_policy": "fail_closed" } }

  --pattern REGEX      a JavaScript regular expression, case-insensitive unless --case-sensitive
  --case-sensitive     match the pattern as written
  --message TEXT       what a blocked client reads (default: "request blocked by guardrail: the prompt matches a blocked pattern")
  --status N           the status of a block, 400-599 (default 403)
  --apikey KEY         require this key (Authorization: Bearer, X-Api-Key or X-Goog-Api-Key); also KEYWAY_HOOK_SERVER_APIKEY
  --listen ADDR        address to listen on (default 127.0.0.1)
  --port N             port (default 8090; 0 picks a free one)
  --quiet, -q          no line per call

Stop with Ctrl-C.`;

export interface HookServerOptions {
  pattern: RegExp;
  message: string;
  status: number;
  apikey: string | undefined;
  host: string;
  port: number;
  log: ((line: string) => void) | undefined;
}

export const DEFAULT_BLOCK_TEXT = 'request blocked by guardrail: the prompt matches a blocked pattern';

export interface RunningHookServer {
  url: string;
  close(): Promise<void>;
}

/** Largest call accepted: a request body keyway accepts (32 MiB) plus its metadata. */
const MAX_CALL_BYTES = 40 * 1024 * 1024;

/** decide is the policy: block a pre_request whose prompt matches, allow the rest. */
export function decide(call: Record<string, unknown>, o: Pick<HookServerOptions, 'pattern' | 'message' | 'status'>): Record<string, unknown> {
  if (call.event !== 'pre_request') return {};
  const prompt = typeof call.user_message === 'string' ? call.user_message : JSON.stringify(call.request_body ?? '');
  // A RegExp compiled once at start; `test` on a /g or /y pattern would keep state between calls.
  o.pattern.lastIndex = 0;
  return o.pattern.test(prompt) ? { action: 'block', status_code: o.status, message: o.message } : { action: 'allow' };
}

export async function startReferenceHookServer(o: HookServerOptions): Promise<RunningHookServer> {
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    void handle(req, res, o).catch(() => answer(res, 500, { error: 'internal error' }));
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(o.port, o.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}`,
    close: async () => {
      server.close();
      for (const s of sockets) s.destroy();
      await once(server, 'close').catch(() => {});
    },
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, o: HookServerOptions): Promise<void> {
  if (req.method !== 'POST') return answer(res, 405, { error: 'POST HookCallData here' });
  if (o.apikey !== undefined && !authorized(req, o.apikey)) return answer(res, 401, { error: 'missing or wrong API key' });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_CALL_BYTES) return answer(res, 413, { error: 'call too large' });
    chunks.push(chunk);
  }
  let call: unknown;
  try {
    call = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return answer(res, 400, { error: 'body is not JSON' });
  }
  if (call === null || typeof call !== 'object' || Array.isArray(call)) return answer(res, 400, { error: 'body is not a HookCallData object' });
  const c = call as Record<string, unknown>;
  const verdict = decide(c, o);
  const meta = (c.metadata ?? {}) as Record<string, unknown>;
  o.log?.(`${String(c.event)} ${String(meta.request_id ?? '-')} ${String(meta.login_name ?? '-')} ${String(meta.provider ?? '-')}/${String(meta.model ?? '-')}${verdict.action ? ` → ${String(verdict.action)}` : ''}`);
  answer(res, 200, verdict);
}

function authorized(req: IncomingMessage, key: string): boolean {
  const auth = req.headers.authorization;
  const sent = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : (req.headers['x-api-key'] ?? req.headers['x-goog-api-key']);
  if (typeof sent !== 'string' || sent.length !== key.length) return false;
  return timingSafeEqual(Buffer.from(sent), Buffer.from(key));
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
