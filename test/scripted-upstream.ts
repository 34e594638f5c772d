/**
 * A scripted upstream for translation tests: a real HTTP server on 127.0.0.1:0 that
 * records what it receives and answers with exactly the status, headers and SSE frames a
 * test scripted, one write per frame (optionally with a pause between frames), so a test
 * can pin how keyway translates a given wire sequence. Accepts any credential.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedReply {
  status?: number;
  headers?: Record<string, string>;
  /** A JSON body, or SSE frames (each written on its own). */
  json?: unknown;
  frames?: string[];
  /** Raw body text (for answers that are not JSON). */
  text?: string;
  /** Pause between frames, in milliseconds. */
  intervalMs?: number;
  /** Destroy the socket after the frames instead of ending the response. */
  cut?: boolean;
}

export interface Received {
  path: string;
  query: string;
  headers: Record<string, string>;
  json: any;
}

export interface ScriptedUpstream {
  url: string;
  requests: Received[];
  /** The reply to the next request (and every later one until replaced). */
  reply(r: ScriptedReply): void;
  /** Resolves when the frame at `index` has been written. */
  written(index: number): Promise<void>;
  close(): Promise<void>;
}

export const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
export const data = (value: unknown) => `data: ${typeof value === 'string' ? value : JSON.stringify(value)}\n\n`;

export async function startScriptedUpstream(): Promise<ScriptedUpstream> {
  let script: ScriptedReply = { json: {} };
  const requests: Received[] = [];
  const waiters = new Map<number, Array<() => void>>();
  let wrote = -1;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const text = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      requests.push({ path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q), headers, json });
      const s = script;
      wrote = -1;
      if (s.frames) {
        res.writeHead(s.status ?? 200, { 'content-type': 'text/event-stream', ...s.headers });
        res.flushHeaders();
        let i = 0;
        const step = () => {
          if (res.destroyed) return;
          if (i >= s.frames!.length) {
            if (s.cut) res.destroy();
            else res.end();
            return;
          }
          const at = i++;
          res.write(s.frames![at], () => {
            wrote = at;
            for (const w of waiters.get(at) ?? []) w();
            waiters.delete(at);
          });
          if (s.intervalMs) setTimeout(step, s.intervalMs);
          else step();
        };
        step();
        return;
      }
      const body = s.text ?? JSON.stringify(s.json);
      res.writeHead(s.status ?? 200, { 'content-type': s.text !== undefined ? 'text/html' : 'application/json', 'content-length': Buffer.byteLength(body), ...s.headers });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reply(r) {
      script = r;
    },
    written(index) {
      if (wrote >= index) return Promise.resolve();
      return new Promise((resolve) => waiters.set(index, [...(waiters.get(index) ?? []), resolve]));
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
