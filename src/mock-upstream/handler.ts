// Turns one received request into a Reply (status, headers, body or SSE frames). Pure with
// respect to the socket: timing and failure modes are applied afterwards by sse.ts#deliver.
// Precedence: 404 → 405/426 → 401 (refused key, credentials.ts) → error=<status> → 400 (bad JSON) → reply.

import type { IncomingHttpHeaders } from 'node:http';
import { anthropicCountTokens } from './anthropic.js';
import { chooseToolCall, estimateTokens, isObj, splitText, toolResultText } from './common.js';
import { gemini, geminiArrayFrames, geminiCountTokens, geminiJsonText } from './gemini.js';
import { sigV4Failure } from './bedrock.js';
import type { SigV4Result } from './sigv4.js';
import { MODELS_LIST_BODY, modelBody } from './models.js';
import { WS_UPGRADE_REQUIRED } from './openai-responses.js';
import { refusesCredential } from './credentials.js';
import { routeFormat, type Route } from './routes.js';
import type { Scenario } from './scenario.js';
import { JSON_TYPE, SSE_TYPE, type Reply } from './sse.js';
import type { FormatAdapter, Plan } from './types.js';

export interface RequestInfo {
  method: string;
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
  bodyBytes: number;
  /** JSON.parse(body), or undefined when the body is empty or not JSON. */
  json: unknown;
  /** The SigV4 check of a signed request (server.ts), undefined when it was not signed. */
  sigv4?: SigV4Result;
}

export interface HandlerConfig {
  chunks: number;
  responseBytes: number | undefined;
  /** Refuse keys without their API's prefix (credentials.ts); off with `acceptAnyKey`. */
  checkKeyPrefix: boolean;
}

/** Lower-cased header names, repeated headers joined with ', ' (Node drops some duplicates). */
export function headerRecord(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    const v = raw[i + 1]!;
    out[k] = Object.prototype.hasOwnProperty.call(out, k) ? `${out[k]}, ${v}` : v;
  }
  return out;
}

function jsonReply(status: number, body: string, extra: Record<string, string>): Reply {
  return { status, headers: { 'content-type': JSON_TYPE, ...extra }, body };
}

function errorReply(fmt: FormatAdapter, status: number, seq: number, message?: string): Reply {
  const headers = { ...fmt.headers(seq), ...fmt.errorHeaders?.(status) };
  if (status === 429) headers['retry-after'] = '1';
  return jsonReply(status, fmt.errorBody(status, message), headers);
}

let padCache = '';
function padding(n: number): string {
  if (padCache.length < n) padCache = 'x'.repeat(Math.max(n, padCache.length * 2));
  return padCache.slice(0, n);
}

export function buildReply(info: RequestInfo, route: Route, sc: Readonly<Scenario>, cfg: HandlerConfig, seq: number): Reply {
  if (route.kind === 'not_found') {
    const message = `mock upstream: no route for ${info.method} ${info.path}`;
    // Anthropic's envelope also has error.message, so every SDK can show it.
    return jsonReply(404, JSON.stringify({ type: 'error', error: { type: 'not_found_error', message } }), {});
  }
  const fmt = routeFormat(route, info.headers, info.path, info.query);
  const isGet = route.kind === 'models' || route.kind === 'model';
  if (route.kind === 'responses' && info.method === 'GET' && String(info.headers.upgrade).toLowerCase() === 'websocket') {
    // Codex tries a WebSocket first; 426 makes it fall back to HTTP SSE immediately.
    return jsonReply(426, WS_UPGRADE_REQUIRED, fmt.headers(seq));
  }
  if (isGet ? info.method !== 'GET' && info.method !== 'HEAD' : info.method !== 'POST') {
    const r = errorReply(fmt, 405, seq, `mock upstream: ${info.method} not allowed on ${info.path}`);
    r.headers.allow = isGet ? 'GET, HEAD' : 'POST';
    return r;
  }
  // Bedrock checks a SigV4 signature as AWS does: an unknown key or a wrong signature is a 403.
  if (route.kind === 'bedrock' && info.sigv4 !== undefined && info.sigv4.status !== 'valid') {
    const failure = sigV4Failure(info.sigv4);
    return jsonReply(failure.status, JSON.stringify({ message: failure.message }), { ...fmt.headers(seq), 'x-amzn-errortype': failure.type });
  }
  if (refusesCredential(fmt.name, info.path, info.headers, info.query, cfg.checkKeyPrefix)) return errorReply(fmt, 401, seq);
  if (sc.error !== undefined) return errorReply(fmt, sc.error, seq);

  if (route.kind === 'models') return jsonReply(200, MODELS_LIST_BODY, fmt.headers(seq));
  if (route.kind === 'model') return jsonReply(200, modelBody(route.id), fmt.headers(seq));

  if (!isObj(info.json)) {
    const why = info.json === undefined ? 'is not valid JSON' : 'must be a JSON object';
    return errorReply(fmt, 400, seq, `mock upstream: request body ${why}`);
  }
  const inputTokens = estimateTokens(info.bodyBytes);
  if (route.kind === 'count_tokens') return jsonReply(200, anthropicCountTokens(inputTokens), fmt.headers(seq));
  if (route.kind === 'gemini' && route.method === 'countTokens') {
    return jsonReply(200, geminiCountTokens(inputTokens), fmt.headers(seq));
  }

  const ins = fmt.inspect(info.json, route.kind === 'gemini' || route.kind === 'vertex_anthropic' || route.kind === 'bedrock' ? route.model : '');
  let text: string;
  let tool: Plan['tool'];
  if (sc.echoHeaders) text = JSON.stringify(headerRecord(info.rawHeaders));
  else if (ins.toolResult !== undefined) text = toolResultText(ins.toolResult); // round trips terminate
  else if (sc.tool) {
    tool = chooseToolCall(ins.tools, sc.toolName);
    text = JSON.stringify(tool.input);
  } else {
    text = `MOCK_OK (${fmt.name} ${ins.model})`;
    if (ins.jsonSchema !== undefined) text = geminiJsonText(ins.jsonSchema, text);
  }
  // Gemini sends a function call whole, in one chunk; everything else streams N deltas.
  const n = tool && fmt === gemini ? 1 : (sc.chunks ?? cfg.chunks);
  const plan: Plan = {
    format: fmt.name,
    model: ins.model,
    seq,
    created: Math.floor(Date.now() / 1000),
    text,
    pieces: splitText(text, n),
    tool,
    inputTokens,
    outputTokens: n,
    cacheRead: sc.cacheRead ?? 0,
    cacheWrite: sc.cacheWrite ?? 0,
    includeUsage: ins.includeUsage,
  };
  let body: string | undefined;
  if (cfg.responseBytes !== undefined && !tool) {
    // Size the text from the non-streaming JSON, so streams carry the same padded text.
    body = JSON.stringify(fmt.json(plan));
    const missing = cfg.responseBytes - Buffer.byteLength(body);
    if (missing > 1) {
      plan.text += ` ${padding(missing - 1)}`;
      plan.pieces = splitText(plan.text, n);
      body = undefined;
    }
  }

  const stream = route.kind === 'gemini' ? route.method === 'streamGenerateContent' : route.kind === 'bedrock' ? route.stream : ins.stream;
  if (!stream) return jsonReply(200, body ?? JSON.stringify(fmt.json(plan)), { ...fmt.headers(seq), ...fmt.planHeaders?.(plan) });
  if (route.kind === 'gemini' && !info.query.includes('alt=sse')) {
    // Google streams a JSON array when alt=sse is absent.
    return { status: 200, headers: { 'content-type': JSON_TYPE }, frames: geminiArrayFrames(plan) };
  }
  return {
    status: 200,
    headers: { 'content-type': fmt.streamContentType ?? SSE_TYPE, 'cache-control': 'no-cache', ...fmt.headers(seq), ...fmt.streamHeaders?.() },
    frames: fmt.frames(plan),
  };
}
