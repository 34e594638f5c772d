/**
 * Session grouping: which requests belong to one coding session. In order:
 * 1. an explicit `x-session-id` header (any client can send one);
 * 2. Claude Code's `x-claude-code-session-id` header, or the `session_id` inside its
 *    `metadata.user_id` (a JSON string, or the older `…_session_<uuid>` form);
 * 3. Codex's `session-id` / `session_id` header;
 * 4. otherwise a fingerprint of the conversation: the caller and the first message,
 *    which stays the same as a conversation grows.
 */
import { createHash } from 'node:crypto';
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

/** conversationFingerprint hashes the caller and the conversation's first message. */
export function conversationFingerprint(login: string, body: Record<string, unknown>): string {
  const first = firstMessage(body);
  // A bounded prefix identifies a conversation as well as the whole message and keeps the
  // cost flat for the 80 KB first turns coding agents send.
  const text = first === undefined ? '' : typeof first === 'string' ? first : JSON.stringify(first);
  const hash = createHash('sha256').update(login).update('\0').update(text.slice(0, 4096)).digest('hex');
  return `fp_${hash.slice(0, 24)}`;
}

function firstMessage(body: Record<string, unknown>): unknown {
  for (const key of ['messages', 'input', 'contents']) {
    const list = body[key];
    if (Array.isArray(list)) return list.find((m) => (m as { role?: string })?.role !== 'system' && (m as { role?: string })?.role !== 'developer') ?? list[0];
    if (typeof list === 'string') return list;
  }
  return undefined;
}
