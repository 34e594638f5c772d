/**
 * EventClient sends asynchronous event calls (entire_request, tool_call_entire_request)
 * over HTTP/1.1 with pipelining: the calls that are ready together are written to one
 * keep-alive connection in one write, and their answers are read back in order. An event
 * call on undici cost the events thread 100–200 µs of CPU on this project's benchmark
 * machine (dispatch, parsing, a write system call per call, timers, streams; see
 * docs/performance.md), about the cost of serving the request it reports on; here a batch
 * of calls costs one write and one read or a few, and a call a string and a few
 * comparisons. Answers are read to their end and dropped: an event's outcome is its status.
 *
 * Connections are a hook's own (a slow hook never holds up another's calls). The calls of
 * one tick go to one connection that is idle, up to PIPELINE_DEPTH of them; more, or calls
 * while the open connections still wait for answers, open another connection, up to
 * `connectionsPerOrigin` (`--hook-connections`), so a slow hook gets its calls in parallel
 * while a fast one is served by one connection. Pipelined calls are answered in order, so
 * when one times out the connection is closed and the calls behind it fail
 * (`connection`); calls a server declined by answering `connection: close` before
 * reaching them, or that were written to a kept-alive connection the server had just
 * closed, are sent once more on a fresh connection (the server never read them).
 *
 * The pre_request chain keeps HookClient (undici, one call a connection at a time): a
 * guardrail's answer is read, and it runs on the request thread one call at a time.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { HookCallResult } from './hook-client.js';
import type { CompiledHook } from './hook-plan.js';

export interface EventClientSettings {
  /** Most open connections to one hook (`--hook-connections`). */
  connectionsPerOrigin: number;
  /** TLS options for https hooks beyond the defaults (tests: a private CA). */
  tls?: ConnectionOptions;
}

/** Calls in flight on one connection before another connection to the origin is opened. */
export const PIPELINE_DEPTH = 16;
/** An idle connection is closed after this long, before servers' usual keep-alive timeout (Node's is 5 s). */
const IDLE_MS = 4_000;
const CONNECT_TIMEOUT_MS = 10_000;
/** Largest answer head read; a hook's answer head is a few hundred bytes. */
const MAX_HEAD_BYTES = 64 * 1024;

type Settle = (result: HookCallResult) => void;

interface Call {
  hook: CompiledHook;
  request: string;
  settle: Settle;
  /** performance.now() by which the call must be answered; Infinity without a timeout. */
  deadline: number;
  /** Sent once more already (see the module comment): never a third time. */
  resent: boolean;
}

/** A hook's connections, the calls waiting for one, and whether it has shown it keeps connections alive. */
interface Pool {
  conns: Connection[];
  waiting: Call[];
  /**
   * The hook answered a call keeping the connection open: calls may be pipelined. Until
   * then (and again after a `connection: close`) a connection carries one call at a time,
   * so a server that closes after every answer is never sent a call it might handle after
   * saying it would not (Node's server does handle pipelined requests behind such an answer).
   */
  pipelining: boolean;
}

/** Calls waiting, before pipelining is known, for which one more connection opens. */
const WAITING_PER_CONNECTION = 64;

export class EventClient {
  /** Connections by hook (id and origin): a slow hook never holds up another's calls. */
  private readonly pools = new Map<string, Pool>();
  /** Request heads by hook (a snapshot's hooks are objects that live as long as it). */
  private readonly heads = new WeakMap<CompiledHook, string | Error>();
  private readonly dirty = new Set<Connection>();
  private flushQueued = false;
  private closed = false;

  constructor(private readonly settings: EventClientSettings) {}

  /** call POSTs `payload` to the hook; it never rejects. */
  call(hook: CompiledHook, payload: string): Promise<HookCallResult> {
    return new Promise((settle) => {
      const head = this.headOf(hook);
      if (head instanceof Error) return settle({ ok: false, reason: 'connection', detail: head.message });
      if (this.closed) return settle({ ok: false, reason: 'connection', detail: 'keyway is shutting down' });
      const request = `${head}${Buffer.byteLength(payload)}\r\n\r\n${payload}`;
      this.place({ hook, request, settle, deadline: hook.timeoutMs > 0 ? performance.now() + hook.timeoutMs : Infinity, resent: false });
    });
  }

  /** destroy closes every connection; calls in flight or waiting fail. */
  async destroy(): Promise<void> {
    this.closed = true;
    for (const pool of this.pools.values()) {
      for (const c of [...pool.conns]) c.fail('connection', 'keyway is shutting down');
      for (const w of pool.waiting.splice(0)) w.settle({ ok: false, reason: 'connection', detail: 'keyway is shutting down' });
    }
    this.pools.clear();
  }

  /**
   * place puts a call on a connection of its hook, to be written with the others of this
   * tick: one that is idle, or (when the hook pipelines) one taking calls this tick, up
   * to PIPELINE_DEPTH; never behind calls of an earlier write while another connection
   * may open, so a slow answer holds up only the calls written with it.
   */
  place(call: Call): void {
    const key = `${call.hook.id}\0${call.hook.origin}`;
    let pool = this.pools.get(key);
    if (!pool) this.pools.set(key, (pool = { conns: [], waiting: [], pipelining: false }));
    let best: Connection | undefined;
    for (const c of pool.conns) {
      if (c.usable && (c.inFlight === 0 || (pool.pipelining && this.dirty.has(c) && c.inFlight < PIPELINE_DEPTH))) {
        best = c;
        break;
      }
    }
    if (!best) {
      const room = pool.conns.length < this.settings.connectionsPerOrigin;
      const open = pool.pipelining || pool.conns.length === 0 || pool.waiting.length >= pool.conns.length * WAITING_PER_CONNECTION;
      if (room && open) {
        best = new Connection(this, pool, call.hook.origin, this.settings.tls);
        pool.conns.push(best);
      } else if (pool.pipelining) {
        for (const c of pool.conns) if (c.usable && (!best || c.inFlight < best.inFlight)) best = c;
      }
    }
    if (!best) {
      pool.waiting.push(call);
      return;
    }
    best.add(call);
    this.dirty.add(best);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flush);
    }
  }

  /** ready: a connection of the pool is idle, or the pool learnt it may pipeline: place the calls waiting. */
  ready(pool: Pool): void {
    if (pool.waiting.length === 0) return;
    const waiting = pool.waiting.splice(0);
    for (const c of waiting) this.place(c);
  }

  /** forget drops a closed connection from its pool. */
  forget(conn: Connection, pool: Pool): void {
    const i = pool.conns.indexOf(conn);
    if (i >= 0) pool.conns.splice(i, 1);
    this.dirty.delete(conn);
  }

  /**
   * resend sends calls a server never read once more on another connection. Behind a
   * `connection: close` answer the server should not have read them (RFC 9112 §9.6) and
   * each connection answers one call at least, so that always progresses; after a
   * kept-alive connection closed unanswered (`once`), a call goes again only once.
   */
  resend(calls: Call[], detail: string, once: boolean): void {
    for (const call of calls) {
      if (this.closed || (once && call.resent)) call.settle({ ok: false, reason: 'connection', detail });
      else this.place(once ? { ...call, resent: true } : call);
    }
  }

  private readonly flush = () => {
    this.flushQueued = false;
    for (const c of this.dirty) c.write();
    this.dirty.clear();
  };

  /** headOf builds a hook's request head once, up to the content length's value. */
  private headOf(hook: CompiledHook): string | Error {
    let head = this.heads.get(hook);
    if (head === undefined) {
      head = buildHead(hook);
      this.heads.set(hook, head);
    }
    return head;
  }
}

function buildHead(hook: CompiledHook): string | Error {
  const url = new URL(hook.origin);
  let head = `POST ${hook.path} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  const h = hook.headers;
  for (let i = 0; i + 1 < h.length; i += 2) {
    // A header value holding a line break would let a configured key write headers of its own.
    if (/[\r\n\0]/.test(h[i]!) || /[\r\n\0]/.test(h[i + 1]!)) return new Error(`hook "${hook.id}": a header holds a line break`);
    head += `${h[i]}: ${h[i + 1]}\r\n`;
  }
  return `${head}content-length: `;
}

/** One keep-alive connection and the pipelined calls on it, answered in order. */
class Connection {
  private readonly socket: Socket;
  private readonly calls: Call[] = [];
  /** Index in `calls` of the first call not yet written. */
  private unwritten = 0;
  private connected = false;
  private ended = false;
  /** The server said `connection: close`: the calls behind that answer were never read. */
  private closing = false;
  /** False from a write to an idle connection until a byte of an answer arrives. */
  private heard = true;
  private timer: NodeJS.Timeout | undefined;
  private timerFor: 'connect' | 'deadline' | 'idle' | undefined;
  private readonly parser = new AnswerParser();

  constructor(
    private readonly client: EventClient,
    private readonly pool: Pool,
    origin: string,
    tls: ConnectionOptions | undefined,
  ) {
    const url = new URL(origin);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const secure = url.protocol === 'https:';
    const port = Number(url.port || (secure ? 443 : 80));
    this.socket = secure
      ? tlsConnect({ ...tls, host, port, ALPNProtocols: ['http/1.1'], ...(isIP(host) ? {} : { servername: host }) }, this.onConnect)
      : netConnect({ host, port }, this.onConnect);
    this.socket.setNoDelay(true);
    this.socket.on('data', this.onData);
    this.socket.on('error', (err) => this.onClose(err));
    this.socket.on('end', () => this.onClose(new Error('the hook closed the connection')));
    this.socket.on('close', () => this.onClose(new Error('the connection closed')));
    this.arm('connect', CONNECT_TIMEOUT_MS);
  }

  get inFlight(): number {
    return this.calls.length;
  }

  get usable(): boolean {
    return !this.ended && !this.closing;
  }

  add(call: Call): void {
    this.calls.push(call);
  }

  /** write sends every call not yet written in one write. */
  write(): void {
    if (!this.connected || this.ended || this.unwritten === this.calls.length) return;
    let text = '';
    if (this.unwritten === 0) {
      // Nothing was in flight: an answer must come back, or the server had closed the connection.
      this.heard = false;
    }
    for (let i = this.unwritten; i < this.calls.length; i++) text += this.calls[i]!.request;
    this.unwritten = this.calls.length;
    this.socket.write(text);
    this.armDeadline();
  }

  /** fail ends the connection: each call it holds fails with the reason. */
  fail(reason: 'timeout' | 'connection' | 'unreachable', detail: string): void {
    const calls = this.end();
    if (!calls) return;
    for (const c of calls) c.settle({ ok: false, reason, detail });
    this.client.ready(this.pool);
  }

  /** end closes the connection once and hands back the calls it held (undefined when it had ended already). */
  private end(): Call[] | undefined {
    if (this.ended) return undefined;
    this.ended = true;
    clearTimeout(this.timer);
    this.client.forget(this, this.pool);
    this.socket.destroy();
    return this.calls.splice(0);
  }

  private settleWith(call: Call, a: Answer): void {
    if (a.status >= 200 && a.status <= 299) call.settle({ ok: true, status: a.status, answer: undefined });
    else call.settle({ ok: false, reason: 'status', detail: `answered HTTP ${a.status}` });
  }

  private readonly onConnect = () => {
    this.connected = true;
    clearTimeout(this.timer);
    this.timerFor = undefined;
    this.write();
  };

  private readonly onData = (chunk: Buffer) => {
    this.heard = true;
    const answers = this.parser.push(chunk);
    if (answers === undefined) return this.fail('connection', `the hook's answer is not HTTP/1.1: ${this.parser.error}`);
    for (const a of answers) {
      const call = this.calls.shift();
      if (!call) return this.fail('connection', 'the hook answered a call that was not made');
      this.unwritten--;
      this.settleWith(call, a);
      this.pool.pipelining = !a.close;
      if (a.close) {
        this.closing = true;
        break;
      }
    }
    if (this.closing) return this.retire('the hook closed the connection (connection: close)', false);
    if (this.calls.length === 0) this.arm('idle', IDLE_MS);
    else this.armDeadline();
    this.client.ready(this.pool);
  };

  /** onClose: the socket ended or failed while connected. */
  private onClose(err: Error): void {
    if (this.ended) return;
    if (!this.connected) return this.fail('unreachable', err.message);
    // An answer whose body ran to the end of the connection is complete now.
    const last = this.parser.endOfStream();
    if (last) {
      const call = this.calls.shift();
      if (call) this.settleWith(call, last);
      this.closing = true;
    }
    // Behind a `connection: close`: the server read none of them.
    if (this.closing) return this.retire(err.message, false);
    // Written to a kept-alive connection the server had closed meanwhile: it read none of
    // them, most likely (a server that read one and died before answering gets it again).
    if (!this.heard) return this.retire(err.message, true);
    this.fail('connection', err.message);
  }

  /** retire closes the connection and sends the calls it still holds (never read by the server) once more elsewhere. */
  private retire(detail: string, once: boolean): void {
    const calls = this.end();
    if (!calls) return;
    this.client.resend(calls, detail, once);
    this.client.ready(this.pool);
  }

  private armDeadline(): void {
    let first = Infinity;
    for (const c of this.calls) if (c.deadline < first) first = c.deadline;
    if (first === Infinity) {
      clearTimeout(this.timer);
      this.timerFor = undefined;
      return;
    }
    this.arm('deadline', Math.max(0, first - performance.now()));
  }

  private arm(what: 'connect' | 'deadline' | 'idle', ms: number): void {
    clearTimeout(this.timer);
    this.timerFor = what;
    this.timer = setTimeout(this.onTimer, ms);
    this.timer.unref();
  }

  private readonly onTimer = () => {
    const what = this.timerFor;
    this.timerFor = undefined;
    if (what === 'idle') return this.fail('connection', 'idle');
    if (what === 'connect') return this.fail('unreachable', `no connection within ${CONNECT_TIMEOUT_MS} ms`);
    // A call's deadline passed: answers come in order, so the calls behind it wait on it too.
    const now = performance.now();
    const late = this.calls.find((c) => c.deadline <= now);
    if (!late) return this.armDeadline();
    for (const c of this.end()!) {
      if (c === late) c.settle({ ok: false, reason: 'timeout', detail: `no answer within ${late.hook.timeoutMs} ms` });
      else c.settle({ ok: false, reason: 'connection', detail: 'closed: an earlier call on the connection timed out' });
    }
    this.client.ready(this.pool);
  };
}

interface Answer {
  status: number;
  /** The server closes the connection after this answer. */
  close: boolean;
}

type ParseState = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'trailer' | 'to-close';

/**
 * AnswerParser reads HTTP/1.1 answers from a byte stream: each one's status and whether
 * the server closes after it; bodies (content-length, chunked, or to the end of the
 * connection) are skipped, never kept. Interim 1xx answers are skipped.
 */
export class AnswerParser {
  private buf: Buffer | undefined;
  private state: ParseState = 'head';
  /** Body bytes still to skip in `length` and `chunk-data`. */
  private remaining = 0;
  private answer: Answer | undefined;
  error = '';

  /** push reads a chunk: the answers it completes, or undefined when the bytes are not HTTP/1.1. */
  push(chunk: Buffer): Answer[] | undefined {
    const buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    this.buf = undefined;
    const out: Answer[] = [];
    let at = 0;
    while (at < buf.length) {
      if (this.state === 'head') {
        const end = buf.indexOf('\r\n\r\n', at, 'latin1');
        if (end < 0) {
          if (buf.length - at > MAX_HEAD_BYTES) return this.bad('the answer head is too large');
          break;
        }
        const ok = this.readHead(buf.toString('latin1', at, end));
        at = end + 4;
        if (!ok) return undefined;
      } else if (this.state === 'length' || this.state === 'chunk-data') {
        const take = Math.min(this.remaining, buf.length - at);
        at += take;
        this.remaining -= take;
        if (this.remaining > 0) break;
        this.state = this.state === 'length' ? 'head' : 'chunk-size';
      } else if (this.state === 'chunk-size' || this.state === 'trailer') {
        const eol = buf.indexOf('\r\n', at, 'latin1');
        if (eol < 0) {
          if (buf.length - at > MAX_HEAD_BYTES) return this.bad('a chunk line is too long');
          break;
        }
        if (this.state === 'trailer') {
          if (eol === at) this.state = 'head'; // the empty line after the trailers
        } else {
          const size = parseInt(buf.toString('latin1', at, eol).split(';')[0]!.trim(), 16);
          if (!Number.isFinite(size) || size < 0) return this.bad('a chunk size is not a number');
          if (size === 0) this.state = 'trailer';
          else {
            this.state = 'chunk-data';
            this.remaining = size + 2; // the data and its CRLF
          }
        }
        at = eol + 2;
      } else {
        at = buf.length; // to-close: everything until the connection ends is the body
        break;
      }
      if (this.state === 'head' && this.answer) {
        out.push(this.answer);
        this.answer = undefined;
      }
    }
    if (at < buf.length) this.buf = buf.subarray(at);
    return out;
  }

  /** endOfStream: the answer a body read to the end of the connection completes, if one was being read. */
  endOfStream(): Answer | undefined {
    if (this.state !== 'to-close') return undefined;
    const a = this.answer;
    this.answer = undefined;
    this.state = 'head';
    return a;
  }

  /** readHead starts an answer from its head; false when it is not HTTP. */
  private readHead(head: string): boolean {
    const m = /^HTTP\/1\.([01]) (\d{3})/.exec(head);
    if (!m) {
      this.bad(`the status line reads ${JSON.stringify(head.slice(0, 40))}`);
      return false;
    }
    const status = Number(m[2]);
    if (status < 200) return true; // interim (100 Continue, 103 Early Hints): the final answer follows
    // The three headers that frame an answer, found without splitting the head into lines.
    const lower = head.toLowerCase();
    const length = headerValue(lower, 'content-length');
    const encoding = headerValue(lower, 'transfer-encoding');
    const connection = headerValue(lower, 'connection');
    const chunked = encoding !== undefined && encoding.split(',').some((v) => v.trim() === 'chunked');
    let close = m[1] === '0';
    if (connection !== undefined) {
      const tokens = connection.split(',').map((v) => v.trim());
      if (tokens.includes('close')) close = true;
      else if (tokens.includes('keep-alive')) close = false;
    }
    this.answer = { status, close };
    const bodyLength = status === 204 || status === 304 ? 0 : length === undefined ? -1 : Number(length);
    if (chunked) this.state = 'chunk-size';
    else if (bodyLength >= 0 && Number.isSafeInteger(bodyLength)) {
      this.remaining = bodyLength;
      this.state = bodyLength > 0 ? 'length' : 'head';
    } else {
      this.answer.close = true;
      this.state = 'to-close';
    }
    return true;
  }

  private bad(why: string): undefined {
    this.error = why;
    return undefined;
  }
}

/** headerValue finds a header's value in a lower-cased answer head (the first such line), trimmed. */
function headerValue(lowerHead: string, name: string): string | undefined {
  const at = lowerHead.indexOf(`\r\n${name}:`);
  if (at < 0) return undefined;
  const from = at + name.length + 3;
  const end = lowerHead.indexOf('\r\n', from);
  return lowerHead.slice(from, end < 0 ? undefined : end).trim();
}
