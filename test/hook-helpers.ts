/**
 * A real hook server on loopback for the hooks tests: every call is recorded (path,
 * headers, parsed body), and each path answers as its script says (a verdict, a status,
 * bad JSON, a delay, a reset), so a test can wire several hooks to one server.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface HookCallRecord {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: any;
  at: number;
}

/** What one path answers: JSON (default `{"action":"allow"}`), or a raw text, after a delay. */
export interface HookScript {
  status?: number;
  json?: unknown;
  text?: string;
  delayMs?: number;
  /** Close the connection without answering. */
  reset?: boolean;
  /** Never answer. */
  hang?: boolean;
}

export interface HookServer {
  url: string;
  calls: HookCallRecord[];
  /** Scripts by path; a path without one allows. */
  scripts: Map<string, HookScript | ((call: HookCallRecord) => HookScript)>;
  callsTo(path: string): HookCallRecord[];
  /** waitFor resolves once `n` calls to `path` have arrived. */
  waitFor(path: string, n: number, timeoutMs?: number): Promise<HookCallRecord[]>;
  reset(): void;
  close(): Promise<void>;
}

export async function startHookServer(): Promise<HookServer> {
  const calls: HookCallRecord[] = [];
  const scripts = new Map<string, HookScript | ((call: HookCallRecord) => HookScript)>();
  const sockets = new Set<Socket>();
  const waiters: Array<() => void> = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const call: HookCallRecord = { path: req.url ?? '/', headers: req.headers, text, body, at: Date.now() };
      calls.push(call);
      for (const w of waiters.splice(0)) w();
      const found = scripts.get(call.path);
      const script = (typeof found === 'function' ? found(call) : found) ?? {};
      const answer = () => {
        if (script.hang) return;
        if (script.reset) return void req.socket.destroy();
        const payload = script.text ?? JSON.stringify(script.json ?? { action: 'allow' });
        res.writeHead(script.status ?? 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
        res.end(payload);
      };
      if (script.delayMs) setTimeout(answer, script.delayMs);
      else answer();
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const callsTo = (path: string) => calls.filter((c) => c.path === path);
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    scripts,
    callsTo,
    async waitFor(path, n, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (callsTo(path).length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} calls to ${path}, got ${callsTo(path).length}`);
        await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise((r) => setTimeout(r, 50))]);
      }
      return callsTo(path);
    },
    reset() {
      calls.length = 0;
      scripts.clear();
    },
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close').catch(() => {});
    },
  };
}
