/**
 * Session grouping: which requests belong to one coding session. In order:
 * 1. an explicit `x-session-id` header (any client can send one);
 * 2. Claude Code's `x-claude-code-session-id` header, or the `session_id` inside its
 *    `metadata.user_id` (a JSON string, or the older `…_session_<uuid>` form);
 * 3. Codex's `session-id` / `session_id` header;
 * 4. otherwise a fingerprint of the conversation: the caller and the first message,
 *    which stays the same as a conversation grows.
 */
import { hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const MAX_ID = 128;

export function sessionFromHeaders(headers: IncomingHttpHeaders): string | undefined {
  for (const name of ['x-session-id', 'x-claude-code-session-id', 'session-id', 'session_id']) {
    const v = headers[name];
    if (typeof v === 'string' && v !== '') return v.slice(0, MAX_ID);
  }
  return undefined;
}

/** sessionFromBody reads Claude Code's `metadata.user_id`. */
export function sessionFromBody(body: Record<string, unknown>): string | undefined {
  const metadata = body.metadata as { user_id?: unknown } | undefined;
  const userId = metadata?.user_id;
  if (typeof userId !== 'string' || userId === '') return undefined;
  if (userId.startsWith('{')) {
    try {
      const parsed = JSON.parse(userId) as { session_id?: unknown };
      if (typeof parsed.session_id === 'string' && parsed.session_id !== '') return parsed.session_id.slice(0, MAX_ID);
    } catch {
      // not JSON after all
    }
  }
  const marker = userId.lastIndexOf('_session_');
  return marker >= 0 ? userId.slice(marker + '_session_'.length).slice(0, MAX_ID) || undefined : undefined;
}

/** sessionOf is a request's session as its record has it: headers, then body, then the conversation's fingerprint. */
export function sessionOf(headers: IncomingHttpHeaders, body: Record<string, unknown>, login: string): string {
  return sessionFromHeaders(headers) ?? sessionFromBody(body) ?? conversationFingerprint(login, body);
}

/** conversationFingerprint hashes the caller and the conversation's first message. */
export function conversationFingerprint(login: string, body: Record<string, unknown>): string {
  // A bounded prefix identifies a conversation as well as the whole message and keeps the
  // cost flat for the 80 KB first turns coding agents send.
  const text = messageText(firstMessage(body)).slice(0, FINGERPRINT_CHARS);
  return `fp_${hash('sha256', `${login}\0${text}`, 'hex').slice(0, 24)}`;
}

const FINGERPRINT_CHARS = 4096;

/**
 * messageText is what identifies a message: its role and text. The common shapes are read
 * directly (a string, `content` as a string or text parts, Gemini `parts`; other parts,
 * such as images, count by their type only, never by their possibly huge data), which is
 * far cheaper than serialising the message. Any other shape is serialised.
 */
function messageText(message: unknown): string {
  if (message === undefined) return '';
  if (typeof message === 'string') return message.slice(0, FINGERPRINT_CHARS);
  const m = message as { role?: unknown; content?: unknown; parts?: unknown };
  const role = typeof m.role === 'string' ? m.role : '';
  const parts = m.content ?? m.parts;
  if (typeof parts === 'string') return `${role}:${parts.slice(0, FINGERPRINT_CHARS)}`;
  if (Array.isArray(parts)) {
    let text = `${role}:`;
    for (const p of parts) {
      const part = p as { text?: unknown; type?: unknown } | null;
      text += typeof part?.text === 'string' ? part.text.slice(0, FINGERPRINT_CHARS) : `[${typeof part?.type === 'string' ? part.type : typeof p}]`;
      if (text.length >= FINGERPRINT_CHARS) break;
    }
    return text;
  }
  return boundedText(message, FINGERPRINT_CHARS);
}

/** An object key on boundedText's stack, told apart from a string value. */
class ObjectKey {
  constructor(readonly name: string) {}
}

/**
 * boundedText writes out a JSON value (keys and scalars in document order) until `limit`
 * characters, without recursion: JSON.parse accepts bodies nested 20,000 levels deep,
 * which JSON.stringify cannot serialise (the stack overflows) and the record was lost.
 */
function boundedText(value: unknown, limit: number): string {
  let out = '';
  const stack: unknown[] = [value];
  while (stack.length > 0 && out.length < limit) {
    const v = stack.pop();
    if (v instanceof ObjectKey) {
      out += `${v.name}:`;
    } else if (Array.isArray(v)) {
      out += '[';
      for (let i = Math.min(v.length, limit) - 1; i >= 0; i--) stack.push(v[i]);
    } else if (v !== null && typeof v === 'object') {
      out += '{';
      const keys = Object.keys(v);
      for (let i = Math.min(keys.length, limit) - 1; i >= 0; i--) stack.push((v as Record<string, unknown>)[keys[i]!], new ObjectKey(keys[i]!));
    } else {
      out += `${typeof v === 'string' ? v.slice(0, limit) : String(v)},`;
    }
  }
  return out.slice(0, limit);
}

function firstMessage(body: Record<string, unknown>): unknown {
  for (const key of ['messages', 'input', 'contents']) {
    const list = body[key];
    if (Array.isArray(list)) return list.find((m) => (m as { role?: string })?.role !== 'system' && (m as { role?: string })?.role !== 'developer') ?? list[0];
    if (typeof list === 'string') return list;
  }
  return undefined;
}
