/**
 * The load driver: a fixed number of keep-alive connections sending the same POST for a
 * fixed time, in its own process. `wrk` (Debian package) when installed, since it costs
 * the machine far less CPU than a Node load generator; otherwise autocannon from npm.
 */
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { findExecutable, runJsonChild } from './procs.js';

export interface LoadSpec {
  /** Full URL including the path. */
  url: string;
  headers: Readonly<Record<string, string>>;
  /** File holding the request body. */
  bodyFile: string;
  connections: number;
  seconds: number;
  /** Load-generator threads (wrk; default 1). Connections are divided evenly between them. */
  threads?: number;
  /**
   * Base URLs (`http://host:port`) that share the load, as a round-robin balancer would:
   * thread i connects to spread[i % n], and `url` gives the path (and the Host header).
   * With wrk this is one process for all of them, so several targets cost the machine no
   * more load generator than one.
   */
  spread?: readonly string[];
  /**
   * Requests a second in all, on a fixed schedule (default: as fast as the connections
   * go). Two gateways compared at one rate do the same work per second, so their CPU per
   * request differs only by what each executes, not by how loaded each one was. wrk only:
   * autocannon's `-R` sends each second's requests in one burst (measured: 300 in the first
   * 500 ms of each second at `-R 300`), which is no schedule.
   */
  rate?: number;
}

export interface LoadResult {
  tool: 'wrk' | 'autocannon';
  requests: number;
  seconds: number;
  rps: number;
  /** Connection, read, write errors and timeouts. */
  errors: number;
  /** Responses with a status outside 2xx/3xx. */
  non2xx: number;
  p50Ms: number;
  p99Ms: number;
}

export interface LoadDriver {
  readonly tool: 'wrk' | 'autocannon';
  run(spec: LoadSpec): Promise<LoadResult>;
}

/**
 * pickLoadDriver returns wrk when asked or when `auto` finds it, else autocannon.
 * It throws when wrk is demanded but missing.
 */
export function pickLoadDriver(preference: 'auto' | 'wrk' | 'autocannon', tmp: string): LoadDriver {
  const wrk = preference === 'autocannon' ? undefined : findExecutable('wrk');
  if (preference === 'wrk' && !wrk) throw new Error('--loadgen wrk: wrk is not installed (apt-get install -y wrk)');
  return wrk ? wrkDriver(wrk, tmp) : autocannonDriver();
}

function wrkDriver(wrk: string, tmp: string): LoadDriver {
  let scripts = 0;
  return {
    tool: 'wrk',
    async run(spec) {
      const script = join(tmp, `wrk-${++scripts}.lua`);
      await writeFile(script, wrkScript(spec));
      // One wrk thread by default: the machine has two cores to share between wrk, the mock and the proxy.
      const threads = spec.threads ?? 1;
      if (spec.spread && threads % spec.spread.length !== 0) throw new Error(`wrk: ${threads} threads cannot be spread evenly over ${spec.spread.length} targets`);
      const args = [`-t${threads}`, `-c${spec.connections}`, `-d${spec.seconds}s`, '--timeout', '10s', '-s', script, spec.url];
      const r = await runJsonChild<WrkJson>(wrk, args, (spec.seconds + 30) * 1000);
      const seconds = r.duration_us / 1e6;
      return {
        tool: 'wrk',
        requests: r.requests,
        seconds,
        rps: r.requests / seconds,
        errors: r.connect + r.read + r.write + r.timeout,
        non2xx: r.status,
        p50Ms: r.p50_us / 1000,
        p99Ms: r.p99_us / 1000,
      };
    },
  };
}

interface WrkJson {
  requests: number;
  duration_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50_us: number;
  p99_us: number;
}

function wrkScript(spec: LoadSpec): string {
  const headers = Object.entries({ 'content-type': 'application/json', ...spec.headers })
    .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
    .join('\n');
  return `${spec.spread ? spreadScript(spec.spread) : ''}${spec.rate ? pacedScript(spec.rate / (spec.threads ?? 1)) : ''}local f = assert(io.open(${JSON.stringify(spec.bodyFile)}, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
${headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;
}

/**
 * spreadScript points each wrk thread at the next target in turn: wrk calls `setup` once per
 * thread, in order, before any connects, and each thread's connections all go to its `addr`.
 */
function spreadScript(targets: readonly string[]): string {
  const list = targets.map((t) => {
    const u = new URL(t);
    return `{${JSON.stringify(u.hostname)}, ${JSON.stringify(u.port)}}`;
  });
  return `local targets = {${list.join(', ')}}
local next_target = 0
setup = function(thread)
  local t = targets[next_target % #targets + 1]
  next_target = next_target + 1
  thread.addr = wrk.lookup(t[1], t[2])[1]
end
`;
}

/**
 * pacedScript holds each wrk thread to `perThread` requests a second: before each request a
 * connection takes the next slot of the thread's schedule and waits for it (wrk's `delay`,
 * in whole milliseconds; the schedule itself keeps fractions, so the rate holds). The clock
 * is CLOCK_MONOTONIC through LuaJIT's FFI. A thread that fell more than 50 ms behind starts
 * its schedule again rather than sending a burst.
 */
function pacedScript(perThread: number): string {
  return `local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } keyway_timespec; int clock_gettime(int, keyway_timespec *); ]]
local ts = ffi.new("keyway_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local interval_ms = ${1000 / perThread}
local next_slot
delay = function()
  local t = now_ms()
  if not next_slot or next_slot < t - 50 then next_slot = t end
  next_slot = next_slot + interval_ms
  local wait = next_slot - t
  if wait < 1 then return 0 end
  return math.floor(wait)
end
`;
}

interface AutocannonJson {
  requests: { total: number };
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  latency: { p50: number; p99: number };
}

function autocannonDriver(): LoadDriver {
  const bin = createRequire(import.meta.url).resolve('autocannon');
  return {
    tool: 'autocannon',
    async run(spec) {
      if (spec.rate) throw new Error('a load at a fixed rate needs wrk (apt-get install -y wrk): autocannon sends each second in one burst');
      if (!spec.spread) return runOne(spec.url, spec.connections);
      // autocannon has no per-thread target: one process per target, their sums (the worst tail).
      const path = new URL(spec.url);
      const n = spec.spread.length;
      const parts = await Promise.all(
        spec.spread.map((base, i) => runOne(new URL(path.pathname + path.search, base).toString(), Math.floor(spec.connections / n) + (i < spec.connections % n ? 1 : 0))),
      );
      const requests = parts.reduce((sum, p) => sum + p.requests, 0);
      const seconds = Math.max(...parts.map((p) => p.seconds));
      return {
        tool: 'autocannon',
        requests,
        seconds,
        rps: parts.reduce((sum, p) => sum + p.rps, 0),
        errors: parts.reduce((sum, p) => sum + p.errors, 0),
        non2xx: parts.reduce((sum, p) => sum + p.non2xx, 0),
        p50Ms: Math.max(...parts.map((p) => p.p50Ms)),
        p99Ms: Math.max(...parts.map((p) => p.p99Ms)),
      };

      async function runOne(url: string, connections: number): Promise<LoadResult> {
        const headers = Object.entries({ 'content-type': 'application/json', ...spec.headers }).flatMap(([k, v]) => ['-H', `${k}=${v}`]);
        const args = [bin, '-c', String(connections), '-d', String(spec.seconds), '-m', 'POST', ...headers, '-i', spec.bodyFile, '-j', '-n', url];
        const r = await runJsonChild<AutocannonJson>(process.execPath, args, (spec.seconds + 30) * 1000);
        return {
          tool: 'autocannon',
          requests: r.requests.total,
          seconds: r.duration,
          rps: r.requests.total / r.duration,
          errors: r.errors + r.timeouts,
          non2xx: r.non2xx,
          p50Ms: r.latency.p50,
          p99Ms: r.latency.p99,
        };
      }
    },
  };
}
