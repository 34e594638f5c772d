/**
 * How request records cross from the request thread to the telemetry worker: as flat
 * arrays. `postMessage` clones what it sends, and an object is cloned with the name of
 * every field; the same record as an array clones in about a third of the time on both
 * sides (≈ 1.8 µs against 4.2 µs a record, with its nested usage and pricing), and that
 * is paid for every request. Captures cross as bytes (capture-bytes.ts), all of a batch's
 * in one buffer that is transferred, not cloned; an item carries its capture's length.
 * (A typed-array view per item would be cloned one by one: slower than the captures
 * themselves as objects.)
 */
import { CaptureWriter, decodeCapture } from '../capture-bytes.js';
import type { Capture, CredentialSource, HookEntry, HookVerdict, PricingInput, QuotaOutcome, RequestRecord } from '../record.js';
import type { ToolCall, Usage } from '../usage.js';

export type WireRecord = [
  id: string,
  startedAt: number,
  durationMs: number,
  ttfbMs: number | null,
  login: string,
  nodeId: string,
  tags: string[],
  userAgent: string,
  client: string,
  format: string,
  path: string,
  requestedModel: string,
  provider: string | null,
  upstreamModel: string | null,
  status: number,
  errorCode: string | null,
  errorClass: string | null,
  stream: boolean,
  usage: number[] | null,
  toolCalls: Array<[string, string | undefined]>,
  stopReason: string | null,
  sessionId: string,
  credentialSource: CredentialSource,
  credentialFingerprint: string | null,
  pricing: [basis: string, model: string, adjustment: number] | null,
  quotas: Array<[bucket: string, quota: string, nanos: number, outcome: QuotaOutcome]>,
  requestBytes: number | null,
  responseBytes: number | null,
  providerFormat: string | null,
] & {
  // Optional fields sit at fixed indexes of their own, past the positional ones, so a
  // record without them clones without them (and branches adding fields do not collide).
  /** The hooks the request called; absent when none. */
  40?: WireHookEntry[];
};

export type WireHookEntry = [hook: string, event: string, verdict: HookVerdict, ms: number | null, detail: string | null];

/** The byte length of the item's capture in its batch's capture buffer (the captures follow each other in item order). */
export type WireCapture = number;

/** A batch as it crosses: the records, and every capture's bytes in one buffer (from its start). */
export interface WireBatch {
  items: WireItem[];
  captures?: ArrayBuffer;
}

export type WireItem = [WireRecord, WireCapture | null];

export function toWire(r: RequestRecord, c: WireCapture | null): WireItem {
  const u = r.usage;
  const p = r.pricing;
  const item: WireItem = [
    [
      r.id,
      r.startedAt,
      r.durationMs,
      r.ttfbMs,
      r.login,
      r.nodeId,
      r.tags,
      r.userAgent,
      r.client,
      r.format,
      r.path,
      r.requestedModel,
      r.provider,
      r.upstreamModel,
      r.status,
      r.errorCode,
      r.errorClass,
      r.stream,
      u && [u.inputTokens, u.outputTokens, u.cacheReadTokens, u.cacheWrite5mTokens, u.cacheWrite1hTokens, u.reasoningTokens, u.webSearchCount],
      r.toolCalls.map((t) => [t.name, t.arguments]),
      r.stopReason,
      r.sessionId,
      r.credentialSource,
      r.credentialFingerprint,
      p && [p.basis, p.model, p.adjustment],
      r.quotas.map((q) => [q.bucket, q.quota, q.nanos, q.outcome]),
      r.requestBytes ?? null,
      r.responseBytes ?? null,
      r.providerFormat,
    ],
    c,
  ];
  if (r.hooks && r.hooks.length > 0) item[0][40] = r.hooks.map((h) => [h.hook, h.event, h.verdict, h.ms, h.detail ?? null]);
  return item;
}

/**
 * packBatch makes records and captures (objects, or encoded already) into one batch,
 * writing the captures into `reuse` when given (a buffer the worker sent back); `transfer`
 * is what postMessage should move.
 */
export function packBatch(items: ReadonlyArray<{ record: RequestRecord; capture: Capture | Uint8Array | null }>, reuse?: ArrayBuffer): { batch: WireBatch; transfer: ArrayBuffer[] } {
  let writer: CaptureWriter | undefined;
  const wire = items.map(({ record, capture }) => {
    if (capture === null) return toWire(record, null);
    writer ??= new CaptureWriter(reuse);
    return toWire(record, writer.add(capture));
  });
  if (!writer) return { batch: { items: wire }, transfer: [] };
  return { batch: { items: wire, captures: writer.buffer }, transfer: [writer.buffer] };
}

/** unpackBatch gives back each record and its capture's bytes (a view into the batch's buffer). */
export function unpackBatch({ items, captures }: WireBatch): Array<{ record: RequestRecord; capture: Uint8Array | null }> {
  let at = 0;
  return items.map(([w, c]) => {
    const record = recordFromWire(w);
    if (c === null || !captures) return { record, capture: null };
    at += c;
    return { record, capture: new Uint8Array(captures, at - c, c) };
  });
}

/** fromWire gives back a batch's records and their captures, decoded. */
export function fromWire(batch: WireBatch): Array<{ record: RequestRecord; capture: Capture | null }> {
  return unpackBatch(batch).map(({ record, capture }) => ({ record, capture: capture && decodeCapture(capture, record.id) }));
}

/** recordFromWire gives back the record alone (a store that keeps capture bytes as they are needs no more). */
export function recordFromWire(w: WireRecord): RequestRecord {
  const u = w[18];
  const p = w[24];
  const usage: Usage | null = u && {
    inputTokens: u[0]!,
    outputTokens: u[1]!,
    cacheReadTokens: u[2]!,
    cacheWrite5mTokens: u[3]!,
    cacheWrite1hTokens: u[4]!,
    reasoningTokens: u[5]!,
    webSearchCount: u[6]!,
  };
  const pricing: PricingInput | null = p && { basis: p[0], model: p[1], adjustment: p[2] };
  const record: RequestRecord = {
    id: w[0],
    startedAt: w[1],
    durationMs: w[2],
    ttfbMs: w[3],
    login: w[4],
    nodeId: w[5],
    tags: w[6],
    userAgent: w[7],
    client: w[8],
    format: w[9],
    providerFormat: w[28],
    path: w[10],
    requestedModel: w[11],
    provider: w[12],
    upstreamModel: w[13],
    status: w[14],
    errorCode: w[15],
    errorClass: w[16],
    stream: w[17],
    usage,
    toolCalls: w[19].map(([name, args]): ToolCall => (args === undefined ? { name } : { name, arguments: args })),
    stopReason: w[20],
    sessionId: w[21],
    credentialSource: w[22],
    credentialFingerprint: w[23],
    pricing,
    quotas: w[25].map(([bucket, quota, nanos, outcome]) => ({ bucket, quota, nanos, outcome })),
  };
  // Only direct calls and MCP tool calls carry sizes; other records stay without the fields, as they were sent.
  if (w[26] !== null) record.requestBytes = w[26];
  if (w[27] !== null) record.responseBytes = w[27];
  const hooks = w[40];
  if (hooks) record.hooks = hooks.map(([hook, event, verdict, ms, detail]): HookEntry => (detail === null ? { hook, event, verdict, ms } : { hook, event, verdict, ms, detail }));
  return record;
}
