/**
 * Cleartext HTTP/2 ("prior knowledge", RFC 9113 §3.3) on keyway's HTTP/1.1 port. The AWS
 * SDK's Bedrock Runtime client speaks HTTP/2 by default and fails against an HTTP/1.1-only
 * endpoint; tailnet URLs are plain `http://`, so there is no TLS to negotiate HTTP/2 with.
 *
 * Each new connection is looked at once: a client speaking HTTP/2 with prior knowledge
 * starts with the connection preface `PRI * HTTP/2.0…`, which no HTTP/1.1 request can
 * (there is no method `PRI`). Those connections go to a node:http2 server, whose
 * compatibility API gives the same request/response objects the HTTP/1.1 handler uses;
 * every other connection goes to the HTTP/1.1 server as before. The first bytes are put
 * back on the socket, so neither server misses any. Once per connection, not per request,
 * and the HTTP/1.1 path gets nothing else (bench numbers in docs/performance.md).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttp2Server, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** Bytes enough to tell `PRI ` from every HTTP/1.1 method. */
const SNIFF_BYTES = 4;

export interface CleartextHttp2 {
  /** close ends HTTP/2 sessions (GOAWAY, then a cut after `graceMs`) and connections not yet classified. */
  close(graceMs: number): void;
}

export interface Http2Options {
  /** An idle HTTP/2 session (no open stream) is closed after this long, like HTTP/1.1 keep-alive. */
  idleMs: number;
  /** A connection that has sent fewer than 4 bytes is closed after this long. */
  firstBytesMs: number;
}

/**
 * acceptCleartextHttp2 makes `server` (a node:http server, not yet listening) also serve
 * HTTP/2 with prior knowledge, answering its requests with `onRequest`. It takes over the
 * server's own connection handler, so call it right after the server is created.
 */
export function acceptCleartextHttp2(
  server: Server,
  onRequest: (req: IncomingMessage, res: ServerResponse) => void,
  options: Http2Options,
): CleartextHttp2 {
  const http1 = server.listeners('connection');
  if (http1.length !== 1) throw new Error('acceptCleartextHttp2 must be called on a fresh node:http server');
  const serveHttp1 = http1[0] as (socket: Socket) => void;
  server.removeListener('connection', serveHttp1);

  const sessions = new Set<ServerHttp2Session>();
  const sniffing = new Set<Socket>();
  const h2 = createHttp2Server({}, (req: Http2ServerRequest, res: Http2ServerResponse) => {
    // keyway's Host checks read `host`; HTTP/2 names the host in `:authority`.
    if (req.headers.host === undefined && req.authority) req.headers.host = req.authority;
    // The compatibility API's objects answer to everything the handlers use of node:http's.
    onRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse);
  });
  h2.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    let open = 0;
    session.on('stream', (stream) => {
      open++;
      stream.once('close', () => open--);
    });
    session.setTimeout(options.idleMs, () => {
      if (open === 0) session.close();
    });
    session.once('close', () => sessions.delete(session));
    session.on('error', () => {}); // a peer's protocol error ends its session, nothing else
  });
  h2.on('sessionError', () => {});

  server.on('connection', (socket: Socket) => {
    let head: Buffer | undefined;
    let timer: NodeJS.Timeout | undefined;
    sniffing.add(socket);
    const onData = (chunk: Buffer) => {
      head = head === undefined ? chunk : Buffer.concat([head, chunk]);
      const n = Math.min(head.length, SNIFF_BYTES);
      const http2 = head.compare(PREFACE, 0, n, 0, n) === 0;
      if (http2 && head.length < SNIFF_BYTES) {
        // `P`, `PR`, `PRI` so far (or the start of POST): wait, but not forever.
        timer ??= setTimeout(() => socket.destroy(), options.firstBytesMs).unref();
        return;
      }
      clearTimeout(timer);
      sniffing.delete(socket);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      socket.unshift(head);
      if (http2) {
        // node:http2 reads what is buffered on the socket first; resuming would drop it.
        h2.emit('connection', socket);
      } else {
        serveHttp1.call(server, socket);
        socket.resume();
      }
    };
    const onClose = () => {
      clearTimeout(timer);
      sniffing.delete(socket);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
  });

  return {
    close(graceMs: number) {
      for (const socket of sniffing) socket.destroy();
      for (const session of sessions) {
        session.close();
        setTimeout(() => session.destroy(), graceMs).unref();
      }
    },
  };
}
