/**
 * Chat (GET/POST /api/chat/…): models the viewer can chat with (and which are hidden and
 * why), their conversations, and one turn as a stream of events. Conversations belong to
 * their owner only; keyway answers 404 for anyone else's.
 */
import { apiFetch, apiStream, type StreamEvent } from '../api';
import { useApi } from './use-api';

export interface ChatModel {
  /** provider/model */
  id: string;
  provider: string;
  model: string;
  provider_name: string;
  description: string;
  format: string;
  /** The label the configuration's chat_models gives it, or null. */
  label: string | null;
}

export interface ChatModels {
  models: ChatModel[];
  hidden: Array<{ id: string; reason: string }>;
}

export interface Conversation {
  id: string;
  title: string;
  model: string;
  system_prompt: string;
  created_at: number;
  updated_at: number;
}

export type MessageStatus = 'complete' | 'error' | 'stopped' | 'streaming';

export interface Message {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  model: string;
  status: MessageStatus;
  error?: string | null;
  created_at: number;
}

export function useChatModels() {
  return useApi<ChatModels>('/api/chat/models');
}

export function useConversations() {
  return useApi<{ conversations: Conversation[] }>('/api/chat/conversations');
}

export function getConversation(id: string, signal?: AbortSignal) {
  return apiFetch<{ conversation: Conversation; messages: Message[] }>(`/api/chat/conversations/${encodeURIComponent(id)}`, { signal });
}

export function createConversation(fields: { title?: string; model?: string; system_prompt?: string }) {
  return apiFetch<Conversation>('/api/chat/conversations', { method: 'POST', body: fields });
}

export function updateConversation(id: string, fields: Partial<Pick<Conversation, 'title' | 'model' | 'system_prompt'>>) {
  return apiFetch<Conversation>(`/api/chat/conversations/${encodeURIComponent(id)}`, { method: 'PATCH', body: fields });
}

export function deleteConversation(id: string) {
  return apiFetch<void>(`/api/chat/conversations/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

export interface SendBody {
  content?: string;
  model: string;
  /** Answer the last user message again. */
  retry?: boolean;
  /** Replace the last user message with `content`, then answer. */
  edit?: boolean;
}

/** ChatEvent is one event of an answer's stream. */
export type ChatEvent =
  | { type: 'start'; user_message_id: string | null; assistant_message_id: string; title?: string }
  | { type: 'delta'; text: string }
  | { type: 'done'; stop_reason: string | null }
  | { type: 'error'; status: number; message: string };

function asChatEvent(e: StreamEvent): ChatEvent | undefined {
  switch (e.type) {
    case 'start':
    case 'delta':
    case 'done':
    case 'error':
      return e as unknown as ChatEvent;
    default:
      return undefined;
  }
}

/** sendMessage streams one answer; aborting `signal` stops it (keyway keeps the partial answer). */
export function sendMessage(id: string, body: SendBody, onEvent: (e: ChatEvent) => void, signal: AbortSignal) {
  return apiStream(
    `/api/chat/conversations/${encodeURIComponent(id)}/messages`,
    body,
    (raw) => {
      const e = asChatEvent(raw);
      if (e) onEvent(e);
    },
    signal,
  );
}
