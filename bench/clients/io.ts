/**
 * Shared plumbing of the measuring clients. Each client runs in its own process: the
 * runner writes a JSON spec file, passes its path as the only argument, and reads one
 * JSON line from stdout when the client exits.
 */
import { readFileSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';

/** readSpec parses the spec file named by the first argument. */
export function readSpec<T>(): T {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node client.js SPEC.json');
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** emit prints the result as the last stdout line. */
export function emit(result: unknown): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** ClientTarget is one way to reach the mock (direct, keyway, nginx), as a base URL. */
export interface ClientTarget {
  name: string;
  url: string;
  /** This target's own path and body file, overriding the spec's (the translation scenario). */
  path?: string;
  bodyFile?: string;
  /** The text this target's complete streams end with, overriding the spec's. */
  endMarker?: string;
}

/** keepAliveAgent returns an agent holding up to `sockets` connections open. */
export function keepAliveAgent(sockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, scheduling: 'lifo' });
}

/** post sends one POST and calls `onResponse`; errors go to `onError` (once). */
export function post(
  url: string,
  agent: Agent,
  headers: Record<string, string | number>,
  body: Buffer,
  timeoutMs: number,
  onResponse: (res: IncomingMessage) => void,
  onError: (err: Error) => void,
): void {
  const req = request(url, { method: 'POST', agent, headers, timeout: timeoutMs }, onResponse);
  req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
  req.on('error', onError);
  req.end(body);
}

/** hrMs returns a monotonic time in milliseconds with sub-microsecond resolution. */
export function hrMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** timedPost sends one POST and resolves with its latency in ms (to the last byte of a 200), or an error text. */
export function timedPost(url: string, agent: Agent, headers: Record<string, string | number>, body: Buffer, timeoutMs: number): Promise<number | string> {
  return new Promise((resolve) => {
    const start = hrMs();
    post(
      url,
      agent,
      headers,
      body,
      timeoutMs,
      (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.statusCode === 200 ? hrMs() - start : `HTTP ${res.statusCode}`));
        res.on('error', (err) => resolve(err.message));
      },
      (err) => resolve(err.message),
    );
  });
}
