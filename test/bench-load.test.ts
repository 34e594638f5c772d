// The bench's load driver at a fixed rate (bench/lib/load.ts, `rate`): the telemetry
// scenario compares two gateways paced at one rate, which holds only if the driver keeps
// the schedule: wrk, against a loopback server that counts what it receives (.ci/run
// installs wrk). autocannon's own rate option sends each second in a burst, so it is refused.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pickLoadDriver } from '../bench/lib/load.js';
import { findExecutable } from '../bench/lib/procs.js';

let server: Server;
let url = '';
let received = 0;
let dir = '';
let bodyFile = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyway-bench-load-'));
  bodyFile = join(dir, 'body.json');
  await writeFile(bodyFile, '{"model":"m"}');
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const RATE = 300;
const SECONDS = 2;

test('wrk holds a fixed rate', { skip: findExecutable('wrk') ? false : 'wrk is not installed (apt-get install -y wrk)' }, async () => {
  const start = received;
  const r = await pickLoadDriver('wrk', dir).run({ url, headers: {}, bodyFile, connections: 16, seconds: SECONDS, rate: RATE });
  const counted = received - start;
  assert.equal(r.errors + r.non2xx, 0);
  // A schedule, not a burst: within 15 % of the rate, by the driver's count and the server's.
  assert.ok(Math.abs(r.rps - RATE) <= RATE * 0.15, `wrk reported ${r.rps.toFixed(0)} req/s at a rate of ${RATE}`);
  assert.ok(Math.abs(counted - RATE * SECONDS) <= RATE * SECONDS * 0.15, `the server received ${counted} requests in ${SECONDS} s at a rate of ${RATE}`);
});

test('autocannon refuses a fixed rate rather than bursting', async () => {
  await assert.rejects(pickLoadDriver('autocannon', dir).run({ url, headers: {}, bodyFile, connections: 16, seconds: SECONDS, rate: RATE }), /needs wrk/);
});
