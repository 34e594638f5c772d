/**
 * The cheapest hook for asynchronous events the benchmark can offer: HTTP/1.1 over plain
 * TCP with no HTTP library. It finds where each request ends (its headers, then
 * `content-length` bytes of body, which keyway always sends) and acknowledges it with an
 * empty 200, the answers to everything one read brought in a single write. What it costs a
 * call is about what a collector's ingest endpoint written in a native language costs
 * (a few µs), not what Node's `http` server costs (tens of µs, bench/reference/delay-hook.ts),
 * so the `hooks` scenario can show how much of an event's added latency on this two-core
 * machine is the hook server's own CPU. It answers GET / too, for the readiness check.
 *
 * usage: node build/bench/reference/event-sink.js PORT
 */
import { createServer, type Socket } from 'node:net';

const port = Number(process.argv[2]);
const OK = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

createServer((socket: Socket) => {
  let buffered: Buffer = Buffer.alloc(0);
  /** Body bytes of the current request still to come. */
  let skip = 0;
  socket.on('data', (chunk: Buffer) => {
    let data = buffered.length > 0 ? Buffer.concat([buffered, chunk]) : chunk;
    let answers = 0;
    for (;;) {
      if (skip > 0) {
        const n = Math.min(skip, data.length);
        skip -= n;
        data = data.subarray(n);
        if (skip > 0) break;
        answers++;
        continue;
      }
      const end = data.indexOf(HEAD_END);
      if (end < 0) break;
      const length = LENGTH.exec(data.toString('latin1', 0, end))?.[1];
      data = data.subarray(end + HEAD_END.length);
      skip = Number(length ?? 0);
      if (skip === 0) answers++;
    }
    buffered = data.length > 0 ? Buffer.from(data) : Buffer.alloc(0);
    if (answers > 0) socket.write(answers === 1 ? OK : Buffer.concat(new Array<Buffer>(answers).fill(OK)));
  });
  socket.on('error', () => socket.destroy());
}).listen(port, '127.0.0.1');
