/**
 * The flat layout in which the request thread hands hook events to the events thread:
 * one array of strings, numbers and nulls per batch. Each request is one block, its
 * PayloadParts and then its calls:
 *
 *   login, user agent, url, model, provider, tailnet, node id, request id, session id,
 *   grants, request body, user message, quotas, response, raw responses   (null: absent)
 *   cost dollars, cost basis, the usage's seven counts                     (nulls: no cost)
 *   tool call count (-1: none sent), then name and arguments per tool call
 *   call count, then hook number, event, send bits and counted size per call
 *
 * Flat, because what a message costs the sender grows with every object in it; the
 * strings are the ones the request already has, so handing them over is one copy.
 */
import type { HookEvent } from '../config/types.js';
import type { PayloadParts } from './payload.js';

export type Wire = Array<string | number | null>;

/** One call of a decoded block. */
export interface WireCall {
  hook: number;
  event: HookEvent;
  send: number;
  size: number;
}

/**
 * writeParts appends a request's block with no calls yet, and returns the index of its
 * call count, which writeCall raises.
 */
export function writeParts(out: Wire, p: PayloadParts): number {
  out.push(p.login, p.userAgent, p.url, p.model, p.provider, p.tailnetName, p.nodeId, p.requestId, p.sessionId);
  out.push(p.grants ?? null, p.bodyText ?? null, p.userMessage ?? null, p.quotas ?? null, p.response ?? null, p.raw ?? null);
  const c = p.cost;
  if (c) {
    const u = c.usage;
    out.push(c.dollars, c.basis, u.inputTokens, u.outputTokens, u.cacheReadTokens, u.cacheWrite5mTokens, u.cacheWrite1hTokens, u.reasoningTokens, u.webSearchCount);
  } else out.push(null, null, null, null, null, null, null, null, null);
  const tools = p.toolCalls;
  if (tools) {
    out.push(tools.length);
    for (const t of tools) out.push(t.name, t.arguments ?? null);
  } else out.push(-1);
  out.push(0);
  return out.length - 1;
}

/** writeCall appends one call to the block whose call count is at `countAt`. */
export function writeCall(out: Wire, countAt: number, hook: number, event: HookEvent, send: number, size: number): void {
  out.push(hook, event, send, size);
  (out[countAt] as number)++;
}

/** readBlocks calls `block` with the parts and calls of every request in `wire`. */
export function readBlocks(wire: Wire, block: (parts: PayloadParts, calls: WireCall[]) => void): void {
  let i = 0;
  const str = () => wire[i++] as string;
  const opt = () => {
    const v = wire[i++];
    return v === null ? undefined : (v as string);
  };
  while (i < wire.length) {
    const parts: PayloadParts = { login: str(), userAgent: str(), url: str(), model: str(), provider: str(), tailnetName: str(), nodeId: str(), requestId: str(), sessionId: str() };
    const grants = opt(), bodyText = opt(), userMessage = opt(), quotas = opt(), response = opt(), raw = opt();
    if (grants !== undefined) parts.grants = grants;
    if (bodyText !== undefined) parts.bodyText = bodyText;
    if (userMessage !== undefined) parts.userMessage = userMessage;
    if (quotas !== undefined) parts.quotas = quotas;
    if (response !== undefined) parts.response = response;
    if (raw !== undefined) parts.raw = raw;
    if (wire[i] !== null) {
      const n = (k: number) => wire[i + k] as number;
      parts.cost = {
        dollars: n(0),
        basis: wire[i + 1] as string,
        usage: { inputTokens: n(2), outputTokens: n(3), cacheReadTokens: n(4), cacheWrite5mTokens: n(5), cacheWrite1hTokens: n(6), reasoningTokens: n(7), webSearchCount: n(8) },
      };
    }
    i += 9;
    const tools = wire[i++] as number;
    if (tools >= 0) {
      const list: Array<{ name: string; arguments?: string }> = [];
      for (let t = 0; t < tools; t++) {
        const name = str();
        const args = opt();
        list.push(args === undefined ? { name } : { name, arguments: args });
      }
      parts.toolCalls = list;
    }
    const count = wire[i++] as number;
    const calls: WireCall[] = [];
    for (let k = 0; k < count; k++, i += 4) calls.push({ hook: wire[i] as number, event: wire[i + 1] as HookEvent, send: wire[i + 2] as number, size: wire[i + 3] as number });
    block(parts, calls);
  }
}

/**
 * sizeOf is what each of a request's calls counts against the queue's byte bound: the
 * lengths of the parts a payload is made of and room for the JSON around them (the
 * field names, the cost, the tool calls' wrapping). Every call of a request counts all
 * of the request's parts, whether it sends them or not, so the bound errs on the safe side.
 */
export function sizeOf(p: PayloadParts): number {
  let n = 512 + p.login.length + p.userAgent.length + p.url.length + p.model.length + p.provider.length + p.tailnetName.length + p.nodeId.length + p.requestId.length + p.sessionId.length;
  n += (p.grants?.length ?? 0) + (p.bodyText?.length ?? 0) + (p.userMessage?.length ?? 0) + (p.quotas?.length ?? 0) + (p.response?.length ?? 0) + (p.raw?.length ?? 0);
  if (p.cost) n += 320;
  if (p.toolCalls) for (const t of p.toolCalls) n += 48 + t.name.length + (t.arguments?.length ?? 0);
  return n;
}
