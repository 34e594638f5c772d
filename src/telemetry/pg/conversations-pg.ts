/**
 * Chat conversations in PostgreSQL, the twin of db/conversations-db.ts: every query is
 * scoped by the owner's login, so nobody, admins included, can open another user's
 * conversations.
 */
import type { Pool } from '../../pg/pool.js';
import type { ChatMessage, Conversation, ConversationPatch, MessageStatus } from '../db/conversations-db.js';
import { inTransaction, pgText } from './sql.js';

const COLUMNS = 'id, title, model, system_prompt, created_at, updated_at';

export class PgConversations {
  constructor(private readonly pool: Pool) {}

  async list(login: string): Promise<Conversation[]> {
    const { rows } = await this.pool.query<Conversation>({ name: 'chat-list', text: `SELECT ${COLUMNS} FROM conversations WHERE login = $1 ORDER BY updated_at DESC`, values: [login] });
    return rows;
  }

  async create(login: string, c: Conversation): Promise<Conversation> {
    await this.pool.query({
      name: 'chat-create',
      text: 'INSERT INTO conversations (id, login, title, model, system_prompt, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      values: [c.id, login, c.title, c.model, c.system_prompt, c.created_at, c.updated_at],
    });
    return c;
  }

  async get(login: string, id: string): Promise<{ conversation: Conversation; messages: ChatMessage[] } | null> {
    const { rows } = await this.pool.query<Conversation>({ name: 'chat-get', text: `SELECT ${COLUMNS} FROM conversations WHERE id = $1 AND login = $2`, values: [id, login] });
    const conversation = rows[0];
    if (!conversation) return null;
    const messages = await this.pool.query<ChatMessage>({
      name: 'chat-messages',
      text: 'SELECT id, role, content, model, status, error, request_id, created_at FROM chat_messages WHERE conversation_id = $1 ORDER BY seq',
      values: [id],
    });
    return { conversation, messages: messages.rows };
  }

  async update(login: string, id: string, patch: ConversationPatch, now: number): Promise<Conversation | null> {
    const current = (await this.get(login, id))?.conversation;
    if (!current) return null;
    const next = { ...current, ...patch, updated_at: now };
    await this.pool.query({
      name: 'chat-update',
      text: 'UPDATE conversations SET title = $1, model = $2, system_prompt = $3, updated_at = $4 WHERE id = $5 AND login = $6',
      values: [next.title, next.model, next.system_prompt, now, id, login],
    });
    return next;
  }

  async delete(login: string, id: string): Promise<boolean> {
    const r = await this.pool.query({ name: 'chat-delete', text: 'DELETE FROM conversations WHERE id = $1 AND login = $2', values: [id, login] });
    return (r.rowCount ?? 0) > 0;
  }

  /** append adds messages at the end; dropLast first removes that many trailing messages (retry, edit). */
  append(login: string, conversationId: string, messages: ChatMessage[], dropLast: number, now: number): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      // FOR UPDATE: two appends to one conversation (two tabs, two replicas) take turns for the next seq.
      const owned = await client.query({ name: 'chat-own', text: 'SELECT 1 FROM conversations WHERE id = $1 AND login = $2 FOR UPDATE', values: [conversationId, login] });
      if (owned.rowCount === 0) return false;
      if (dropLast > 0) {
        await client.query({
          name: 'chat-drop',
          text: 'DELETE FROM chat_messages WHERE id IN (SELECT id FROM chat_messages WHERE conversation_id = $1 ORDER BY seq DESC LIMIT $2)',
          values: [conversationId, dropLast],
        });
      }
      const { rows } = await client.query<{ n: number }>({ name: 'chat-last', text: 'SELECT coalesce(max(seq), 0) AS n FROM chat_messages WHERE conversation_id = $1', values: [conversationId] });
      const last = rows[0]!.n;
      for (const [i, m] of messages.entries()) {
        await client.query({
          name: 'chat-insert',
          text: 'INSERT INTO chat_messages (id, conversation_id, seq, role, content, model, status, error, request_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
          values: [m.id, conversationId, last + i + 1, m.role, pgText(m.content), m.model, m.status, m.error, m.request_id, m.created_at],
        });
      }
      await client.query({ name: 'chat-touch', text: 'UPDATE conversations SET updated_at = $1 WHERE id = $2', values: [now, conversationId] });
      return true;
    });
  }

  /** finishMessage stores an answer's final text and status. */
  async finishMessage(login: string, conversationId: string, messageId: string, content: string, status: MessageStatus, error: string | null, requestId: string | null): Promise<boolean> {
    const r = await this.pool.query({
      name: 'chat-finish',
      text: 'UPDATE chat_messages SET content = $1, status = $2, error = $3, request_id = $4 WHERE id = $5 AND conversation_id IN (SELECT id FROM conversations WHERE id = $6 AND login = $7)',
      values: [pgText(content), status, error, requestId, messageId, conversationId, login],
    });
    return (r.rowCount ?? 0) > 0;
  }
}
