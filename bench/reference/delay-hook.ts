/**
 * A hook for the benchmark: answers every call `{"action":"allow"}` after DELAY_MS (0: at
 * once), reading the whole call first. A guardrail "answering in 1 ms" is this with 1.
 * It answers GET / too, for the suite's readiness check.
 *
 * usage: node build/bench/reference/delay-hook.js PORT DELAY_MS
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const delayMs = Number(process.argv[3] ?? 0);
const ALLOW = Buffer.from('{"action":"allow"}');

createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': ALLOW.length });
      res.end(ALLOW);
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
}).listen(port, '127.0.0.1');
