/**
 * The events thread's HTTP/1.1 client (src/hooks/event-client.ts) against real servers on
 * loopback: Node's `http`, `https` with a certificate made for the test, and raw TCP
 * servers that answer in ways Node's server never does (no length, garbage, silence).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { AnswerParser, EventClient, PIPELINE_DEPTH } from '../src/hooks/event-client.js';
import type { HookCallResult } from '../src/hooks/hook-client.js';
import type { CompiledHook } from '../src/hooks/hook-plan.js';

const hookAt = (origin: string, over: Partial<CompiledHook> = {}): CompiledHook => ({
  id: 'audit',
  origin,
  path: '/events',
  headers: ['content-type', 'application/json', 'authorization', 'Bearer test-hook-key'],
  timeoutMs: 5_000,
  failClosed: false,
  preference: 0,
  ...over,
});

interface Seen {
  body: string;
  connection: number;
  authorization: string | undefined;
}

/** A Node http hook server that records each call and which connection it came on. */
async function nodeHook(answer: (req: IncomingMessage, res: ServerResponse, n: number) => void = (_q, res) => res.end('{}')) {
  const seen: Seen[] = [];
  const sockets = new Map<Socket, number>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      seen.push({ body, connection: sockets.get(req.socket)!, authorization: req.headers.authorization });
      answer(req, res, seen.length);
    });
  });
  server.on('connection', (s: Socket) => sockets.set(s, sockets.size + 1));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    connections: () => sockets.size,
    server,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** A raw TCP server: `onData` gets each connection's bytes and answers as it likes. */
async function tcpHook(onData: (socket: Socket, text: string) => void) {
  const server: TcpServer = createTcpServer((s) => {
    s.setEncoding('latin1');
    s.on('data', (t: string) => onData(s, t));
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

const payloads = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ event: 'entire_request', n: i, text: 'é'.repeat(i) }));

describe('event client', () => {
  test('calls made together go out on one connection, in one write, pipelined, each answered', async () => {
    const hook = await nodeHook();
    const client = new EventClient({ connectionsPerOrigin: 32 });
    try {
      const sent = payloads(PIPELINE_DEPTH);
      const results = await Promise.all(sent.map((p) => client.call(hookAt(hook.origin), p)));
      assert.ok(results.every((r) => r.ok), JSON.stringify(results));
      assert.equal(hook.connections(), 1, 'one connection');
      assert.deepEqual(hook.seen.map((s) => s.body).sort(), [...sent].sort(), 'each payload arrived once, whole (multi-byte text included)');
      assert.equal(hook.seen[0]!.authorization, 'Bearer test-hook-key');
      // The next batch reuses the idle connection.
      const again = await Promise.all(payloads(3).map((p) => client.call(hookAt(hook.origin), p)));
      assert.ok(again.every((r) => r.ok));
      assert.equal(hook.connections(), 1, 'the kept-alive connection is reused');
      // More than PIPELINE_DEPTH at once: another connection for the rest.
      await Promise.all(payloads(PIPELINE_DEPTH + 1).map((p) => client.call(hookAt(hook.origin), p)));
      assert.equal(hook.connections(), 2);
    } finally {
      await client.destroy();
      hook.close();
    }
  });

  test('a slow answer holds up only the calls written with it: later calls take another connection', async () => {
    const hook = await nodeHook((_q, res, n) => (n === 2 ? setTimeout(() => res.end('{}'), 300) : res.end('{}')));
    const client = new EventClient({ connectionsPerOrigin: 32 });
    try {
      // The first answer shows the hook keeps connections alive.
      assert.ok((await client.call(hookAt(hook.origin), '{"n":0}')).ok);
      const slow = client.call(hookAt(hook.origin), '{"n":1}');
      await new Promise((r) => setTimeout(r, 20));
      const started = performance.now();
      const fast = await client.call(hookAt(hook.origin), '{"n":2}');
      assert.ok(fast.ok);
      assert.ok(performance.now() - started < 200, 'not behind the slow call');
      assert.ok((await slow).ok);
      assert.equal(hook.connections(), 2);
      // Hooks never share connections, even on one origin.
      await client.call(hookAt(hook.origin, { id: 'other' }), '{"n":3}');
      assert.equal(hook.connections(), 3);
      assert.equal(hook.seen.length, 4);
    } finally {
      await client.destroy();
      hook.close();
    }
  });

  test('statuses: 2xx is delivered, anything else fails with the status; chunked answers and 204 are read to their end', async () => {
    const hook = await nodeHook((req, res, n) => {
      if (n === 1) {
        res.statusCode = 500;
        return res.end('no');
      }
      if (n === 2) {
        res.write('{"chunk":');
        return setTimeout(() => res.end('1}'), 5);
      }
      res.statusCode = n === 3 ? 204 : 202;
      res.end();
    });
    const client = new EventClient({ connectionsPerOrigin: 1 });
    try {
      const results: HookCallResult[] = [];
      for (let i = 0; i < 4; i++) results.push(await client.call(hookAt(hook.origin), '{}'));
      assert.deepEqual(results[0], { ok: false, reason: 'status', detail: 'answered HTTP 500' });
      assert.deepEqual(results.slice(1).map((r) => r.ok && r.status), [200, 204, 202]);
      assert.equal(hook.connections(), 1, 'all four on one kept-alive connection');
    } finally {
      await client.destroy();
      hook.close();
    }
  });

  test('connection: close after each answer: the calls behind it are sent again elsewhere, each reaches the hook once', async () => {
    const hook = await nodeHook((_q, res) => {
      res.setHeader('connection', 'close');
      res.end('{}');
    });
    const client = new EventClient({ connectionsPerOrigin: 32 });
    try {
      const sent = payloads(4);
      const results = await Promise.all(sent.map((p) => client.call(hookAt(hook.origin), p)));
      assert.ok(results.every((r) => r.ok), JSON.stringify(results));
      assert.deepEqual(hook.seen.map((s) => s.body).sort(), [...sent].sort(), 'no call lost, none twice');
    } finally {
      await client.destroy();
      hook.close();
    }
  });

  test('a server that closed a kept-alive connection meanwhile: the call goes on a fresh one', async () => {
    const hook = await nodeHook();
    hook.server.keepAliveTimeout = 30;
    const client = new EventClient({ connectionsPerOrigin: 32 });
    try {
      assert.ok((await client.call(hookAt(hook.origin), '{"n":1}')).ok);
      await new Promise((r) => setTimeout(r, 150));
      assert.ok((await client.call(hookAt(hook.origin), '{"n":2}')).ok);
      assert.equal(hook.seen.length, 2);
    } finally {
      await client.destroy();
      hook.close();
    }
  });

  test('an answer without a length runs to the end of the connection; garbage fails the call', async () => {
    const plain = await tcpHook((s) => s.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nall of this is the body'));
    const garbage = await tcpHook((s) => s.end('SMTP ready\r\n\r\n'));
    const client = new EventClient({ connectionsPerOrigin: 4 });
    try {
      assert.deepEqual(await client.call(hookAt(plain.origin), '{}'), { ok: true, status: 200, answer: undefined });
      const bad = await client.call(hookAt(garbage.origin), '{}');
      assert.equal(bad.ok, false);
      assert.equal(!bad.ok && bad.reason, 'connection');
      assert.match(!bad.ok ? bad.detail : '', /not HTTP\/1\.1/);
    } finally {
      await client.destroy();
      plain.close();
      garbage.close();
    }
  });

  test('a hook that never answers: the call times out; calls pipelined behind it fail with the connection', async () => {
    // Answers the first call (keep-alive, so the client pipelines), then nothing.
    let answered = false;
    const silent = await tcpHook((s) => {
      if (answered) return;
      answered = true;
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
    });
    const client = new EventClient({ connectionsPerOrigin: 1 });
    try {
      const hook = hookAt(silent.origin, { timeoutMs: 100 });
      assert.ok((await client.call(hook, '{}')).ok);
      const started = performance.now();
      const [first, second] = await Promise.all([client.call(hook, '{}'), client.call(hook, '{}')]);
      const took = performance.now() - started;
      assert.deepEqual(first, { ok: false, reason: 'timeout', detail: 'no answer within 100 ms' });
      assert.deepEqual(second, { ok: false, reason: 'connection', detail: 'closed: an earlier call on the connection timed out' });
      assert.ok(took >= 95 && took < 2_000, `${took} ms`);
      // A fresh connection, and a lone call: it times out on its own.
      assert.equal(!(await client.call(hook, '{}')).ok, true);
    } finally {
      await client.destroy();
      silent.close();
    }
  });

  test('nothing listening: unreachable; a header holding a line break: refused before anything is sent', async () => {
    const probe = createTcpServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, 'close');
    const client = new EventClient({ connectionsPerOrigin: 4 });
    const hook = await nodeHook();
    try {
      const r = await client.call(hookAt(`http://127.0.0.1:${port}`), '{}');
      assert.equal(!r.ok && r.reason, 'unreachable', JSON.stringify(r));
      const injected = await client.call(hookAt(hook.origin, { headers: ['authorization', 'Bearer test-key\r\nx-evil: 1'] }), '{}');
      assert.equal(!injected.ok && injected.reason, 'connection');
      assert.equal(hook.seen.length, 0, 'nothing was sent');
    } finally {
      await client.destroy();
      hook.close();
    }
  });

  test('https: calls go over TLS, pipelined the same way', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyway-event-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
      const cert = readFileSync(join(dir, 'cert.pem'));
      const bodies: string[] = [];
      const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          bodies.push(body);
          res.end('{}');
        });
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const client = new EventClient({ connectionsPerOrigin: 4, tls: { ca: cert } });
      try {
        const origin = `https://localhost:${(server.address() as AddressInfo).port}`;
        const results = await Promise.all(payloads(5).map((p) => client.call(hookAt(origin), p)));
        assert.ok(results.every((r) => r.ok), JSON.stringify(results));
        assert.equal(bodies.length, 5);
        // A certificate the client does not trust: the call fails, nothing is sent.
        const strict = new EventClient({ connectionsPerOrigin: 4 });
        const refused = await strict.call(hookAt(origin), '{}');
        await strict.destroy();
        assert.equal(refused.ok, false);
        assert.equal(bodies.length, 5);
      } finally {
        await client.destroy();
        server.closeAllConnections();
        server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the answer parser reads the same answers however the bytes are split', () => {
    const stream = Buffer.from(
      'HTTP/1.1 100 Continue\r\n\r\n' +
        'HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello' +
        'HTTP/1.1 500 Internal Server Error\r\ntransfer-encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nx-trailer: 1\r\n\r\n' +
        'HTTP/1.1 204 No Content\r\n\r\n' +
        'HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    );
    const want = [
      { status: 200, close: false },
      { status: 500, close: false },
      { status: 204, close: false },
      { status: 202, close: true },
    ];
    for (let cut = 1; cut < stream.length; cut++) {
      for (const step of [1, 7, stream.length]) {
        const p = new AnswerParser();
        const got = [];
        for (let at = 0; at < stream.length; ) {
          const end = at === 0 ? cut : Math.min(stream.length, at + step);
          got.push(...p.push(stream.subarray(at, end))!);
          at = end;
        }
        assert.deepEqual(got, want, `cut at ${cut}, then ${step} bytes at a time`);
      }
    }
  });
});
