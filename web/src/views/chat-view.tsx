/**
 * Chat (/chat, /chat/:id): talk to the organisation's models from the browser. Answers
 * stream in as they arrive (Markdown, code with copy); Stop closes the stream, which makes
 * keyway abort the upstream request and keep the partial answer. Each conversation has its
 * model and system prompt; the last message can be retried or edited. Conversations are
 * stored by keyway per user: another user's id reads as "not found".
 */
import { useCallback, useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { ApiError } from '../api';
import {
  createConversation,
  deleteConversation,
  getConversation,
  sendMessage,
  updateConversation,
  useChatModels,
  useConversations,
  type ChatEvent,
  type Conversation,
  type Message,
  type SendBody,
} from '../hooks/chat';
import { useWhoami } from '../hooks/whoami';
import { Link, navigate } from '../router';
import Badge from '../ui/badge';
import Button from '../ui/button';
import Dialog from '../ui/dialog';
import Field from '../ui/field';
import Markdown from '../ui/markdown';
import ModelPicker from '../ui/model-picker';
import { Failed, Loading } from '../ui/state';
import { describeError, useToast } from '../ui/toast';
import { quotaRefusal, waitText } from '../hooks/quotas';

const LAST_MODEL = 'keyway.chat.model';

export default function ChatView({ params }: { params: Record<string, string> }) {
  const who = useWhoami();
  if (who.role === null || !who.enable_chat_ui) {
    return (
      <main className="centered">
        <h1>Chat is not available to you</h1>
        <p role="alert">
          {who.role === null
            ? 'No grant gives you a role on this keyway, so every request is refused.'
            : 'A grant turns the chat UI off for you (enable_chat_ui: false). Your API access is unchanged.'}
        </p>
        <p>
          <Link href="/ui/">Go to the dashboard</Link>
        </p>
      </main>
    );
  }
  return <Chat id={params.id || undefined} />;
}

interface Thread {
  conversation: Conversation;
  messages: Message[];
}

function Chat({ id }: { id: string | undefined }) {
  const toast = useToast();
  const models = useChatModels();
  const conversations = useConversations();
  const [thread, setThread] = useState<{ id: string; data?: Thread; error?: ApiError } | undefined>();
  const [model, setModel] = useState<string>(() => localStorage.getItem(LAST_MODEL) ?? '');
  const [streaming, setStreaming] = useState<AbortController | null>(null);
  const [draft, setDraft] = useState('');
  const [editing, setEditing] = useState(false);
  const [dialog, setDialog] = useState<'system' | 'rename' | 'delete' | null>(null);
  // A conversation this screen just created already has its state here: no reload.
  const created = useRef<string | null>(null);
  const bottom = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!id) {
      setThread(undefined);
      return;
    }
    if (created.current === id) {
      created.current = null;
      return;
    }
    const abort = new AbortController();
    getConversation(id, abort.signal).then((r) => {
      if (abort.signal.aborted) return;
      setThread(r.ok ? { id, data: r.data } : { id, error: r.error });
      if (r.ok && r.data.conversation.model) setModel(r.data.conversation.model);
    });
    return () => abort.abort();
  }, [id]);

  // Fall back to the first available model when the remembered one is gone.
  const available = models.data?.models ?? [];
  const chosen = available.some((m) => m.id === model) ? model : (available[0]?.id ?? '');

  useEffect(() => {
    bottom.current?.scrollIntoView({ block: 'end' });
  }, [thread?.data?.messages]);

  const patchMessages = useCallback((fn: (messages: Message[]) => Message[]) => {
    setThread((t) => (t?.data ? { ...t, data: { ...t.data, messages: fn(t.data.messages) } } : t));
  }, []);

  const run = async (conversationId: string, body: SendBody, optimistic: Message[], drop: number) => {
    const abort = new AbortController();
    setStreaming(abort);
    patchMessages((list) => [...list.slice(0, list.length - drop), ...optimistic]);
    let assistantId = optimistic.at(-1)!.id;
    const onEvent = (e: ChatEvent) => {
      if (e.type === 'start') {
        const temp = assistantId;
        assistantId = e.assistant_message_id;
        patchMessages((list) => list.map((m) => (m.id === temp ? { ...m, id: e.assistant_message_id } : m.id === 'pending-user' && e.user_message_id ? { ...m, id: e.user_message_id } : m)));
        if (e.title) {
          const title = e.title;
          setThread((t) => (t?.data ? { ...t, data: { ...t.data, conversation: { ...t.data.conversation, title } } } : t));
          conversations.reload();
        }
      } else if (e.type === 'delta') {
        patchMessages((list) => list.map((m) => (m.id === assistantId ? { ...m, content: m.content + e.text } : m)));
      } else if (e.type === 'done') {
        patchMessages((list) => list.map((m) => (m.id === assistantId ? { ...m, status: 'complete' } : m)));
        settle();
      } else {
        patchMessages((list) => list.map((m) => (m.id === assistantId ? { ...m, status: 'error', error: `${e.message} (${e.status})` } : m)));
        settle();
      }
    };
    // The server stores the answer before its last event, so the composer takes the next
    // message from then on, not only once the response has closed a moment later (a quick
    // Enter in between was ignored). Only this run's own state is cleared: the next
    // message may have started already.
    let settled = false;
    const finished = () => setStreaming((current) => (current === abort ? null : current));
    const settle = () => {
      settled = true;
      finished();
    };
    const r = await sendMessage(conversationId, body, onEvent, abort.signal);
    finished();
    // A connection that fails after the last event leaves the stored answer as it is.
    if (!r.ok && !settled) {
      if (r.error.code === 'ABORTED') patchMessages((list) => list.map((m) => (m.id === assistantId && m.status === 'streaming' ? { ...m, status: 'stopped' } : m)));
      else {
        // A quota refusal names its bucket, so the reader knows which budget ran out.
        const quota = quotaRefusal(r.error);
        const error = quota ? `Refused by the quota bucket ${quota.bucket}: it lets requests through again in about ${waitText(quota.retry_after)}.` : describeError(r.error);
        patchMessages((list) => list.map((m) => (m.id === assistantId ? { ...m, status: 'error', error } : m)));
        if (r.error.status !== 0 && r.error.status < 500) toast.error(r.error, 'The message was not sent');
      }
    }
    conversations.reload();
  };

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    const content = draft.trim();
    if (!content || streaming || !chosen) return;
    localStorage.setItem(LAST_MODEL, chosen);
    let conversationId = id;
    if (!conversationId) {
      const c = await createConversation({ model: chosen });
      if (!c.ok) return toast.error(c.error, 'Starting a conversation');
      conversationId = c.data.id;
      created.current = c.data.id;
      setThread({ id: c.data.id, data: { conversation: c.data, messages: [] } });
      navigate(`/chat/${encodeURIComponent(c.data.id)}`, true);
    }
    const now = Date.now();
    const userMessage: Message = { id: 'pending-user', role: 'user', content, model: chosen, status: 'complete', created_at: now };
    const answer: Message = { id: 'pending-answer', role: 'assistant', content: '', model: chosen, status: 'streaming', created_at: now };
    // An edit replaces the last user message and whatever answered it.
    const messages = thread?.data?.messages ?? [];
    const drop = editing ? messages.length - messages.map((m) => m.role).lastIndexOf('user') : 0;
    setDraft('');
    setEditing(false);
    await run(conversationId, { content, model: chosen, edit: editing || undefined }, [userMessage, answer], drop);
  };

  const retry = () => {
    if (!id || streaming || !thread?.data) return;
    const messages = thread.data.messages;
    const drop = messages.length - 1 - messages.map((m) => m.role).lastIndexOf('user');
    const answer: Message = { id: 'pending-answer', role: 'assistant', content: '', model: chosen, status: 'streaming', created_at: Date.now() };
    void run(id, { model: chosen, retry: true }, [answer], drop);
  };

  const editLast = () => {
    const last = [...(thread?.data?.messages ?? [])].reverse().find((m) => m.role === 'user');
    if (!last) return;
    setDraft(last.content);
    setEditing(true);
  };

  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void submit();
    }
  };

  const conversation = thread?.data?.conversation;
  const messages = thread?.data?.messages ?? [];
  const lastUser = messages.map((m) => m.role).lastIndexOf('user');
  return (
    <div className="chat">
      <nav className="chat-side" aria-label="Conversations">
        <div className="chat-side-head">
          <Link href="/chat" className="brand">
            keyway chat
          </Link>
          <Button size="small" variant="primary" onClick={() => navigate('/chat')}>
            New chat
          </Button>
        </div>
        <ul className="chat-list">
          {conversations.error && <li className="problem small">{describeError(conversations.error)}</li>}
          {conversations.data?.conversations.map((c) => (
            <li key={c.id}>
              <Link href={`/chat/${encodeURIComponent(c.id)}`} aria-current={c.id === id ? 'page' : undefined} title={c.title || 'Untitled'}>
                {c.title || 'Untitled'}
              </Link>
            </li>
          ))}
        </ul>
        <div className="chat-side-foot">
          <Link href="/ui/">Dashboard</Link>
        </div>
      </nav>
      <main className="chat-main" id="main">
        <div className="chat-bar">
          <h1>{conversation ? conversation.title || 'Untitled' : 'New conversation'}</h1>
          <ModelPicker
            models={models.data}
            value={chosen}
            onOpen={models.reload}
            onChange={(m) => {
              setModel(m);
              localStorage.setItem(LAST_MODEL, m);
              if (id) void updateConversation(id, { model: m });
            }}
          />
          {conversation && (
            <>
              <Button size="small" onClick={() => setDialog('system')}>
                System prompt{conversation.system_prompt ? ' ✓' : ''}
              </Button>
              <Button size="small" onClick={() => setDialog('rename')}>
                Rename
              </Button>
              <Button size="small" variant="danger" onClick={() => setDialog('delete')}>
                Delete
              </Button>
            </>
          )}
        </div>
        <div className="messages" aria-live="polite" aria-busy={streaming !== null}>
          {models.error && <Failed error={models.error} retry={models.reload} />}
          {thread?.error ? (
            <div className="message">
              <Failed error={thread.error} />
            </div>
          ) : id && !thread?.data ? (
            <Loading />
          ) : messages.length === 0 ? (
            <div className="message muted">
              <p>Ask anything. Your conversations are stored by keyway and only you can read them.</p>
              {models.data && models.data.models.length === 0 && <p role="alert">No model is available for chat. Open the model list above to see why.</p>}
            </div>
          ) : (
            messages.map((m, i) => (
              <MessageView
                key={m.id}
                message={m}
                onRetry={!streaming && i === messages.length - 1 && m.role === 'assistant' ? retry : undefined}
                onEdit={!streaming && i === lastUser ? editLast : undefined}
              />
            ))
          )}
          <div ref={bottom} />
        </div>
        <form className="composer" onSubmit={submit} aria-label="Send a message">
          {editing && (
            <p className="small muted" style={{ maxWidth: 860, margin: '0 auto 0.4rem' }}>
              Editing your last message: sending replaces it and its answer.{' '}
              <button
                type="button"
                className="row-button"
                onClick={() => {
                  setEditing(false);
                  setDraft('');
                }}
              >
                Cancel
              </button>
            </p>
          )}
          <div className="composer-inner">
            <textarea aria-label="Message" placeholder="Message (Enter to send, Shift+Enter for a new line)" value={draft} onChange={(e) => setDraft(e.target.value)} onKeyDown={onKey} rows={2} />
            {streaming ? (
              <Button variant="danger" onClick={() => streaming.abort()}>
                Stop
              </Button>
            ) : (
              <Button type="submit" variant="primary" disabledReason={!chosen ? 'No model is available' : !draft.trim() ? 'Type a message first' : undefined}>
                Send
              </Button>
            )}
          </div>
        </form>
      </main>
      {dialog === 'system' && conversation && (
        <TextDialog
          title="System prompt"
          label="Instructions the model gets before every message of this conversation"
          initial={conversation.system_prompt}
          multiline
          onClose={() => setDialog(null)}
          onSave={async (text) => {
            const r = await updateConversation(conversation.id, { system_prompt: text });
            if (!r.ok) return toast.error(r.error, 'Saving the system prompt');
            setThread((t) => (t?.data ? { ...t, data: { ...t.data, conversation: r.data } } : t));
            setDialog(null);
          }}
        />
      )}
      {dialog === 'rename' && conversation && (
        <TextDialog
          title="Rename conversation"
          label="Title"
          initial={conversation.title}
          onClose={() => setDialog(null)}
          onSave={async (text) => {
            const r = await updateConversation(conversation.id, { title: text });
            if (!r.ok) return toast.error(r.error, 'Renaming');
            setThread((t) => (t?.data ? { ...t, data: { ...t.data, conversation: r.data } } : t));
            conversations.reload();
            setDialog(null);
          }}
        />
      )}
      {dialog === 'delete' && conversation && (
        <Dialog
          title="Delete this conversation?"
          onClose={() => setDialog(null)}
          footer={
            <>
              <Button onClick={() => setDialog(null)}>Cancel</Button>
              <Button
                variant="danger"
                onClick={async () => {
                  const r = await deleteConversation(conversation.id);
                  if (!r.ok) return toast.error(r.error, 'Deleting');
                  setDialog(null);
                  conversations.reload();
                  navigate('/chat');
                }}
              >
                Delete
              </Button>
            </>
          }
        >
          <p>“{conversation.title || 'Untitled'}” and its messages are deleted for good.</p>
        </Dialog>
      )}
    </div>
  );
}

function MessageView({ message, onRetry, onEdit }: { message: Message; onRetry?: () => void; onEdit?: () => void }) {
  const m = message;
  return (
    <article className={`message message-${m.role}${m.status === 'error' ? ' message-error' : ''}`} data-status={m.status} aria-label={m.role === 'user' ? 'You' : 'Answer'}>
      <div className="message-role">
        <span>{m.role === 'user' ? 'You' : m.model}</span>
        {m.status === 'streaming' && <Badge tone="info">answering…</Badge>}
        {m.status === 'stopped' && <Badge tone="warning">stopped</Badge>}
        {m.status === 'error' && <Badge tone="danger">error</Badge>}
        {onEdit && (
          <Button size="small" variant="ghost" onClick={onEdit}>
            Edit
          </Button>
        )}
        {onRetry && (
          <Button size="small" variant="ghost" onClick={onRetry}>
            Retry
          </Button>
        )}
      </div>
      <div className="message-body">
        {m.role === 'user' ? <p style={{ whiteSpace: 'pre-wrap' }}>{m.content}</p> : <Markdown text={m.content} />}
        {m.status === 'error' && (
          <p className="problem" role="alert">
            {m.error || 'The provider did not answer.'}
          </p>
        )}
      </div>
    </article>
  );
}

function TextDialog({ title, label, initial, multiline, onClose, onSave }: { title: string; label: string; initial: string; multiline?: boolean; onClose: () => void; onSave: (text: string) => Promise<void> }) {
  const [text, setText] = useState(initial);
  return (
    <Dialog
      title={title}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" onClick={() => void onSave(text)}>
            Save
          </Button>
        </>
      }
    >
      <Field label={label}>{multiline ? <textarea rows={8} value={text} onChange={(e) => setText(e.target.value)} /> : <input value={text} onChange={(e) => setText(e.target.value)} />}</Field>
    </Dialog>
  );
}
