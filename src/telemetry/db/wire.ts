/**
 * How request records cross from the request thread to the telemetry worker: as bytes,
 * with their strings in one table per batch. `postMessage` clones what it sends; a record
 * as arrays and objects cost about 2 µs to serialize and 3 µs to rebuild in the worker
 * (measured with `v8.serialize`), most of it for the seven arrays of each record and for
 * strings that every record of a batch repeats (the login, the user agent, the format,
 * provider and model). Written into bytes, a record's numbers are plain little-endian
 * values and each of its strings an index into the batch's table, where each distinct
 * string appears once; the worker reads the numbers back and takes the strings from the
 * table. Captures cross as bytes too (capture-bytes.ts), all of a batch's in one buffer
 * that is transferred, not cloned; a record carries its capture's length.
 *
 * A record's layout, in order: its capture's byte length (i32, -1: none); startedAt,
 * durationMs, ttfbMs, status, requestBytes, responseBytes (f64, NaN: null); a flags byte;
 * the strings (i32 indexes, -1: null) id, login, nodeId, userAgent, client, format,
 * providerFormat, path, requestedModel, provider, upstreamModel, errorCode, errorClass,
 * stopReason, sessionId, credentialSource, credentialFingerprint; then the lists, each a
 * count (i32) and its entries: tags; tool calls (name, arguments); quotas (bucket, quota,
 * nanos as f64, outcome); and, when their flags say so, the usage (seven f64), the pricing
 * (basis, model, adjustment as f64) and the hooks (hook, event, verdict, ms as f64, detail).
 */
import { CaptureWriter, decodeCapture } from '../capture-bytes.js';
import type { Capture, CredentialSource, HookEntry, HookVerdict, QuotaEntry, QuotaOutcome, RequestRecord } from '../record.js';
import type { Usage } from '../usage.js';

/** A batch as it crosses: the records' bytes and strings, and every capture's bytes in one buffer (from its start). */
export interface WireBatch {
  count: number;
  records: ArrayBuffer;
  strings: string[];
  captures?: ArrayBuffer;
}

const STREAM = 1;
const HAS_USAGE = 2;
const HAS_PRICING = 4;
const HAS_HOOKS = 8;

/** The fixed part of a record and its largest optional parts, in bytes (see the layout above). */
const FIXED_BYTES = 4 + 6 * 8 + 1 + 17 * 4 + 3 * 4 + 7 * 8 + (8 + 8) + 4;
const TAG_BYTES = 4;
const TOOL_CALL_BYTES = 8;
const QUOTA_BYTES = 20;
const HOOK_BYTES = 24;

/**
 * RecordWriter writes a batch's records into one buffer it keeps from batch to batch (a
 * batch posts a copy of what was written), and collects their strings.
 */
export class RecordWriter {
  private buf = new ArrayBuffer(64 * 1024);
  private view = new DataView(this.buf);
  private at = 0;
  private strings: string[] = [];
  private readonly index = new Map<string, number>();

  /** add writes one record; `captureLength` is its capture's byte length, or null for none. */
  add(r: RequestRecord, captureLength: number | null): void {
    const hooks = r.hooks && r.hooks.length > 0 ? r.hooks : undefined;
    this.room(FIXED_BYTES + TAG_BYTES * r.tags.length + TOOL_CALL_BYTES * r.toolCalls.length + QUOTA_BYTES * r.quotas.length + HOOK_BYTES * (hooks?.length ?? 0));
    this.i32(captureLength ?? -1);
    this.f64(r.startedAt);
    this.f64(r.durationMs);
    this.f64(r.ttfbMs ?? Number.NaN);
    this.f64(r.status);
    this.f64(r.requestBytes ?? Number.NaN);
    this.f64(r.responseBytes ?? Number.NaN);
    this.view.setUint8(this.at++, (r.stream ? STREAM : 0) | (r.usage ? HAS_USAGE : 0) | (r.pricing ? HAS_PRICING : 0) | (hooks ? HAS_HOOKS : 0));
    // An id is never repeated: it goes into the table without being looked up.
    this.i32(this.strings.push(r.id) - 1);
    this.str(r.login);
    this.str(r.nodeId);
    this.str(r.userAgent);
    this.str(r.client);
    this.str(r.format);
    this.str(r.providerFormat);
    this.str(r.path);
    this.str(r.requestedModel);
    this.str(r.provider);
    this.str(r.upstreamModel);
    this.str(r.errorCode);
    this.str(r.errorClass);
    this.str(r.stopReason);
    this.str(r.sessionId);
    this.str(r.credentialSource);
    this.str(r.credentialFingerprint);
    this.i32(r.tags.length);
    for (const tag of r.tags) this.str(tag);
    this.i32(r.toolCalls.length);
    for (const t of r.toolCalls) {
      this.str(t.name);
      this.str(t.arguments ?? null);
    }
    this.i32(r.quotas.length);
    for (const q of r.quotas) {
      this.str(q.bucket);
      this.str(q.quota);
      this.f64(q.nanos);
      this.str(q.outcome);
    }
    const u = r.usage;
    if (u) {
      this.f64(u.inputTokens);
      this.f64(u.outputTokens);
      this.f64(u.cacheReadTokens);
      this.f64(u.cacheWrite5mTokens);
      this.f64(u.cacheWrite1hTokens);
      this.f64(u.reasoningTokens);
      this.f64(u.webSearchCount);
    }
    const p = r.pricing;
    if (p) {
      this.str(p.basis);
      this.str(p.model);
      this.f64(p.adjustment);
    }
    if (hooks) {
      this.i32(hooks.length);
      for (const h of hooks) {
        this.str(h.hook);
        this.str(h.event);
        this.str(h.verdict);
        this.f64(h.ms ?? Number.NaN);
        this.str(h.detail ?? null);
      }
    }
  }

  /** take returns what was written (a copy of the bytes, to transfer) and starts the next batch. */
  take(): { records: ArrayBuffer; strings: string[] } {
    const out = { records: this.buf.slice(0, this.at), strings: this.strings };
    this.at = 0;
    this.strings = [];
    this.index.clear();
    return out;
  }

  private room(bytes: number): void {
    if (this.at + bytes <= this.buf.byteLength) return;
    const bigger = new ArrayBuffer(Math.max(2 * this.buf.byteLength, this.at + bytes));
    new Uint8Array(bigger).set(new Uint8Array(this.buf, 0, this.at));
    this.buf = bigger;
    this.view = new DataView(bigger);
  }

  private i32(n: number): void {
    this.view.setInt32(this.at, n, true);
    this.at += 4;
  }

  private f64(n: number): void {
    this.view.setFloat64(this.at, n, true);
    this.at += 8;
  }

  private str(s: string | null): void {
    if (s === null) return this.i32(-1);
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.push(s) - 1;
      this.index.set(s, i);
    }
    this.i32(i);
  }
}

/** One writer for the request thread: its buffer stays, batch after batch. */
let recordWriter: RecordWriter | undefined;

/**
 * packBatch makes records and captures (objects, or encoded already) into one batch,
 * writing the captures into `reuse` when given (a buffer the worker sent back); `transfer`
 * is what postMessage should move.
 */
export function packBatch(items: ReadonlyArray<{ record: RequestRecord; capture: Capture | Uint8Array | null }>, reuse?: ArrayBuffer): { batch: WireBatch; transfer: ArrayBuffer[] } {
  const records = (recordWriter ??= new RecordWriter());
  let captures: CaptureWriter | undefined;
  for (const { record, capture } of items) {
    if (capture === null) records.add(record, null);
    else records.add(record, (captures ??= new CaptureWriter(reuse)).add(capture));
  }
  const written = records.take();
  const batch: WireBatch = { count: items.length, ...written };
  if (!captures) return { batch, transfer: [written.records] };
  batch.captures = captures.buffer;
  return { batch, transfer: [written.records, captures.buffer] };
}

/** RecordReader reads a batch's records back, in order. */
class RecordReader {
  private readonly view: DataView;
  private at = 0;

  constructor(
    records: ArrayBuffer,
    private readonly strings: readonly string[],
  ) {
    this.view = new DataView(records);
  }

  /** next reads one record and its capture's byte length (null: none). */
  next(): { record: RequestRecord; captureLength: number | null } {
    const captureLength = this.i32();
    const startedAt = this.f64();
    const durationMs = this.f64();
    const ttfbMs = this.f64OrNull();
    const status = this.f64();
    const requestBytes = this.f64OrNull();
    const responseBytes = this.f64OrNull();
    const flags = this.view.getUint8(this.at++);
    const record: RequestRecord = {
      id: this.str()!,
      startedAt,
      durationMs,
      ttfbMs,
      login: this.str()!,
      nodeId: this.str()!,
      tags: [],
      userAgent: this.str()!,
      client: this.str()!,
      format: this.str()!,
      providerFormat: this.str(),
      path: this.str()!,
      requestedModel: this.str()!,
      provider: this.str(),
      upstreamModel: this.str(),
      status,
      errorCode: this.str(),
      errorClass: this.str(),
      stream: (flags & STREAM) !== 0,
      usage: null,
      toolCalls: [],
      stopReason: this.str(),
      sessionId: this.str()!,
      credentialSource: this.str() as CredentialSource,
      credentialFingerprint: this.str(),
      pricing: null,
      quotas: [],
    };
    for (let n = this.i32(); n > 0; n--) record.tags.push(this.str()!);
    for (let n = this.i32(); n > 0; n--) {
      const name = this.str()!;
      const args = this.str();
      record.toolCalls.push(args === null ? { name } : { name, arguments: args });
    }
    for (let n = this.i32(); n > 0; n--) {
      const quota: QuotaEntry = { bucket: this.str()!, quota: this.str()!, nanos: this.f64(), outcome: this.str() as QuotaOutcome };
      record.quotas.push(quota);
    }
    if (flags & HAS_USAGE) {
      const usage: Usage = {
        inputTokens: this.f64(),
        outputTokens: this.f64(),
        cacheReadTokens: this.f64(),
        cacheWrite5mTokens: this.f64(),
        cacheWrite1hTokens: this.f64(),
        reasoningTokens: this.f64(),
        webSearchCount: this.f64(),
      };
      record.usage = usage;
    }
    if (flags & HAS_PRICING) record.pricing = { basis: this.str()!, model: this.str()!, adjustment: this.f64() };
    // Only direct calls and MCP tool calls carry sizes; other records stay without the fields, as they were sent.
    if (requestBytes !== null) record.requestBytes = requestBytes;
    if (responseBytes !== null) record.responseBytes = responseBytes;
    if (flags & HAS_HOOKS) {
      const hooks: HookEntry[] = [];
      for (let n = this.i32(); n > 0; n--) {
        const hook = this.str()!;
        const event = this.str()!;
        const verdict = this.str() as HookVerdict;
        const ms = this.f64OrNull();
        const detail = this.str();
        hooks.push(detail === null ? { hook, event, verdict, ms } : { hook, event, verdict, ms, detail });
      }
      record.hooks = hooks;
    }
    return { record, captureLength: captureLength < 0 ? null : captureLength };
  }

  private i32(): number {
    const n = this.view.getInt32(this.at, true);
    this.at += 4;
    return n;
  }

  private f64(): number {
    const n = this.view.getFloat64(this.at, true);
    this.at += 8;
    return n;
  }

  private f64OrNull(): number | null {
    const n = this.f64();
    return Number.isNaN(n) ? null : n;
  }

  private str(): string | null {
    const i = this.i32();
    return i < 0 ? null : this.strings[i]!;
  }
}

/** unpackBatch gives back each record and its capture's bytes (a view into the batch's buffer). */
export function unpackBatch({ count, records, strings, captures }: WireBatch): Array<{ record: RequestRecord; capture: Uint8Array | null }> {
  const reader = new RecordReader(records, strings);
  const out: Array<{ record: RequestRecord; capture: Uint8Array | null }> = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const { record, captureLength } = reader.next();
    if (captureLength === null || !captures) {
      out.push({ record, capture: null });
      continue;
    }
    out.push({ record, capture: new Uint8Array(captures, at, captureLength) });
    at += captureLength;
  }
  return out;
}

/** fromWire gives back a batch's records and their captures, decoded. */
export function fromWire(batch: WireBatch): Array<{ record: RequestRecord; capture: Capture | null }> {
  return unpackBatch(batch).map(({ record, capture }) => ({ record, capture: capture && decodeCapture(capture, record.id) }));
}
