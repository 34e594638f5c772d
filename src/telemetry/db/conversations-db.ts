/**
 * Chat conversations in the same SQLite database as telemetry (worker thread only). Every
 * query is scoped by the owner's login: there is no way to read a conversation without it,
 * so nobody, admins included, can open another user's conversations.
 */
import type Database from 'better-sqlite3';

export interface Conversation {
  id: string;
  title: string;
  model: string;
  system_prompt: string;
  created_at: number;
  updated_at: number;
}

export type MessageStatus = 'complete' | 'error' | 'stopped' | 'streaming';

export interface ChatMessage {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  model: string;
  status: MessageStatus;
  error: string | null;
  request_id: string | null;
  created_at: number;
}

export interface ConversationPatch {
  title?: string;
  model?: string;
  system_prompt?: string;
}

export class ConversationsDb {
  constructor(private readonly db: Database.Database) {
    this.db.pragma('foreign_keys = ON');
  }

  list(login: string): Conversation[] {
    return this.db.prepare('SELECT id, title, model, system_prompt, created_at, updated_at FROM conversations WHERE login = ? ORDER BY updated_at DESC').all(login) as Conversation[];
  }

  create(login: string, c: Conversation): Conversation {
    this.db.prepare('INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?, ?)').run(c.id, login, c.title, c.model, c.system_prompt, c.created_at, c.updated_at);
    return c;
  }

  get(login: string, id: string): { conversation: Conversation; messages: ChatMessage[] } | null {
    const conversation = this.db.prepare('SELECT id, title, model, system_prompt, created_at, updated_at FROM conversations WHERE id = ? AND login = ?').get(id, login) as Conversation | undefined;
    if (!conversation) return null;
    const messages = this.db.prepare('SELECT id, role, content, model, status, error, request_id, created_at FROM chat_messages WHERE conversation_id = ? ORDER BY seq').all(id) as ChatMessage[];
    return { conversation, messages };
  }

  update(login: string, id: string, patch: ConversationPatch, now: number): Conversation | null {
    const current = this.get(login, id)?.conversation;
    if (!current) return null;
    const next = { ...current, ...patch, updated_at: now };
    this.db.prepare('UPDATE conversations SET title = ?, model = ?, system_prompt = ?, updated_at = ? WHERE id = ? AND login = ?').run(next.title, next.model, next.system_prompt, now, id, login);
    return next;
  }

  delete(login: string, id: string): boolean {
    return this.db.prepare('DELETE FROM conversations WHERE id = ? AND login = ?').run(id, login).changes > 0;
  }

  /** append adds messages at the end; dropLast first removes that many trailing messages (retry, edit). */
  append(login: string, conversationId: string, messages: ChatMessage[], dropLast: number, now: number): boolean {
    return this.db.transaction(() => {
      const owned = this.db.prepare('SELECT 1 FROM conversations WHERE id = ? AND login = ?').get(conversationId, login);
      if (!owned) return false;
      if (dropLast > 0) {
        this.db.prepare('DELETE FROM chat_messages WHERE id IN (SELECT id FROM chat_messages WHERE conversation_id = ? ORDER BY seq DESC LIMIT ?)').run(conversationId, dropLast);
      }
      const last = (this.db.prepare('SELECT coalesce(max(seq), 0) AS n FROM chat_messages WHERE conversation_id = ?').get(conversationId) as { n: number }).n;
      const insert = this.db.prepare('INSERT INTO chat_messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
      messages.forEach((m, i) => insert.run(m.id, conversationId, last + i + 1, m.role, m.content, m.model, m.status, m.error, m.request_id, m.created_at));
      this.db.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?').run(now, conversationId);
      return true;
    })();
  }

  /** finishMessage stores an answer's final text and status. */
  finishMessage(login: string, conversationId: string, messageId: string, content: string, status: MessageStatus, error: string | null, requestId: string | null): boolean {
    const r = this.db
      .prepare('UPDATE chat_messages SET content = ?, status = ?, error = ?, request_id = ? WHERE id = ? AND conversation_id IN (SELECT id FROM conversations WHERE id = ? AND login = ?)')
      .run(content, status, error, requestId, messageId, conversationId, login);
    return r.changes > 0;
  }
}
