/**
 * The chat UI's API: conversations stored per user, and messages answered by a provider
 * through the same pipeline as any request (grants, routing, credentials, telemetry with
 * `chat-ui` as the client). Chat requests start on the server and so carry no client
 * credential: only providers that can authenticate by themselves (override, none, or
 * passthrough with a fallback key) are offered. The document's `chat_models` narrows,
 * orders and labels the list (config/chat-models.ts).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Access } from '../access/grants.js';
import { compileModelGlob, type ModelMatcher } from '../access/glob.js';
import type { CompiledProvider, Snapshot } from '../config/snapshot.js';
import { GatewayError } from '../errors.js';
import { FORMATS } from '../formats/registry.js';
import type { ApiFormat, ChatTurn } from '../formats/types.js';
import type { Identity } from '../identity/identity.js';
import type { ChatMessage, Conversation } from '../telemetry/store.js';
import { readJsonObject } from './body.js';
import type { GatewayContext } from './context.js';
import { callProvider, serverFormat } from './provider-call.js';
import { sendJson } from './respond.js';

export interface ChatModel {
  id: string;
  provider: string;
  model: string;
  provider_name: string;
  description: string;
  format: string;
  /** The label `chat_models` gives it, or null. */
  label: string | null;
}

/** Where `chat_models` puts a model: its position in the list and its label; undefined when not listed. */
type ChatPlacement = (id: string) => { rank: number; label: string | null } | undefined;

// Compiled once per snapshot (its globs become matchers), never per request.
const placements = new WeakMap<Snapshot, ChatPlacement>();

function placementFor(snapshot: Snapshot): ChatPlacement {
  let placement = placements.get(snapshot);
  if (placement) return placement;
  const rules = snapshot.config.chatModels;
  if (!rules) {
    placement = () => ({ rank: 0, label: null });
  } else {
    const exact = new Map<string, { rank: number; label: string | null }>();
    const patterns: Array<{ rank: number; match: ModelMatcher }> = [];
    rules.forEach((rule, rank) => {
      if (rule.model.includes('*')) patterns.push({ rank, match: compileModelGlob(rule.model) });
      else exact.set(rule.model, { rank, label: rule.label ?? null });
    });
    placement = (id) => {
      const named = exact.get(id);
      const pattern = patterns.find((p) => (named === undefined || p.rank < named.rank) && p.match(id));
      if (pattern) return { rank: pattern.rank, label: named?.label ?? null };
      return named;
    };
  }
  placements.set(snapshot, placement);
  return placement;
}

/**
 * chatModels lists what a caller can chat with, and what is hidden from chat and why. With
 * `chat_models` only the models it names are offered, in its order.
 */
export function chatModels(snapshot: Snapshot, access: Access): { models: ChatModel[]; hidden: Array<{ id: string; reason: string }> } {
  const place = placementFor(snapshot);
  const models: Array<ChatModel & { rank: number }> = [];
  const hidden: Array<{ id: string; reason: string }> = [];
  const providers = [...snapshot.providers.values()].filter((p) => !p.spec.disabled).sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const p of providers) {
    for (const model of p.spec.models) {
      if (!access.canUseModel(p.id, model)) continue;
      const format = serverFormat(p, FORMATS, model);
      const id = `${p.id}/${model}`;
      const placed = place(id);
      if (!placed) continue;
      if (!format) hidden.push({ id, reason: 'the provider serves no API the chat can speak' });
      else if (p.requiresClientAuth) hidden.push({ id, reason: 'passthrough-only: this provider has no API key, and chat requests start on the server without yours. An admin can add a fallback key ("apikey") to the provider to make it available here.' });
      else models.push({ id, provider: p.id, model, provider_name: p.spec.name || p.id, description: p.spec.description, format: format.flag, label: placed.label, rank: placed.rank });
    }
  }
  // A stable sort: within one entry of chat_models (a pattern), providers stay in ID order.
  models.sort((a, b) => a.rank - b.rank);
  return { models: models.map(({ rank: _rank, ...m }) => m), hidden };
}

function chatTarget(snapshot: Snapshot, access: Access, id: string): { provider: CompiledProvider; model: string; format: ApiFormat } {
  const slash = id.indexOf('/');
  const provider = slash > 0 ? snapshot.providers.get(id.slice(0, slash)) : undefined;
  const model = id.slice(slash + 1);
  const format = provider ? serverFormat(provider, FORMATS, model) : undefined;
  if (!provider || !format || provider.spec.disabled || !provider.models.has(model) || !access.canUseModel(provider.id, model) || !placementFor(snapshot)(id)) {
    throw new GatewayError('UNKNOWN_MODEL', `model "${id}" is not available in chat`);
  }
  if (provider.requiresClientAuth) throw new GatewayError('NO_PROVIDER_KEY', `model "${id}" is passthrough-only: it needs the caller's own key, which chat does not have`);
  return { provider, model, format };
}

export interface ChatRequest {
  ctx: GatewayContext;
  req: IncomingMessage;
  res: ServerResponse;
  pathname: string;
  identity: Identity;
  access: Access;
}

/** handleChatApi serves `/api/chat/…`; false for other paths. */
export async function handleChatApi(r: ChatRequest): Promise<boolean> {
  const { pathname, req } = r;
  if (!pathname.startsWith('/api/chat/')) return false;
  if (!r.access.enableChatUi) throw new GatewayError('CHAT_DISABLED');
  const method = req.method ?? 'GET';
  const store = r.ctx.store;
  const login = r.identity.login;
  const snapshot = r.ctx.config.current;

  if (pathname === '/api/chat/models' && method === 'GET') return send(r, chatModels(snapshot, r.access));
  if (pathname === '/api/chat/conversations') {
    if (method === 'GET') return send(r, { conversations: await store.listConversations(login) });
    if (method === 'POST') {
      const body = await readJson(r);
      const now = Date.now();
      const conversation: Conversation = {
        id: `conv_${randomUUID().replace(/-/g, '').slice(0, 20)}`,
        title: text(body.title, 200) ?? '',
        model: text(body.model, 300) ?? '',
        system_prompt: text(body.system_prompt, 100_000) ?? '',
        created_at: now,
        updated_at: now,
      };
      return send(r, await store.createConversation(login, conversation), 201);
    }
  }
  const match = /^\/api\/chat\/conversations\/([A-Za-z0-9_-]+)(\/messages)?$/.exec(pathname);
  if (!match) throw new GatewayError('UNKNOWN_ROUTE', `no such endpoint: ${method} ${pathname}`);
  const id = match[1]!;
  if (match[2]) {
    if (method !== 'POST') throw new GatewayError('METHOD_NOT_ALLOWED');
    await sendMessage(r, id, await readJson(r));
    return true;
  }
  if (method === 'GET') return send(r, (await store.getConversation(login, id)) ?? notFound(id));
  if (method === 'PATCH') {
    const body = await readJson(r);
    const patch = { title: text(body.title, 200), model: text(body.model, 300), system_prompt: text(body.system_prompt, 100_000) };
    for (const k of Object.keys(patch) as Array<keyof typeof patch>) if (patch[k] === undefined) delete patch[k];
    return send(r, (await store.updateConversation(login, id, patch)) ?? notFound(id));
  }
  if (method === 'DELETE') {
    if (!(await store.deleteConversation(login, id))) notFound(id);
    r.res.writeHead(204).end();
    return true;
  }
  throw new GatewayError('METHOD_NOT_ALLOWED');
}

function notFound(id: string): never {
  // The same answer whether the conversation does not exist or belongs to someone else.
  throw new GatewayError('NOT_FOUND', `no conversation "${id}"`);
}

function send(r: ChatRequest, value: unknown, status = 200): true {
  sendJson(r.res, status, value, { 'cache-control': 'no-store' });
  return true;
}

function readJson(r: ChatRequest): Promise<Record<string, unknown>> {
  return readJsonObject(r.req, r.ctx.bodyLimit);
}

function text(v: unknown, max: number): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new GatewayError('BAD_REQUEST', 'expected a string');
  if (v.length > max) throw new GatewayError('BAD_REQUEST', `text longer than ${max} characters`);
  return v;
}

/**
 * sendMessage answers one chat turn as an event stream: `start`, `delta`s, then `done` or
 * `error`. Closing the connection stops the upstream request; the partial answer is kept.
 */
async function sendMessage(r: ChatRequest, id: string, body: Record<string, unknown>): Promise<void> {
  const { store } = r.ctx;
  const login = r.identity.login;
  const snapshot = r.ctx.config.current;
  const found = await store.getConversation(login, id);
  if (!found) notFound(id);
  const modelId = text(body.model, 300) || found.conversation.model;
  if (!modelId) throw new GatewayError('MISSING_MODEL', 'choose a model');
  const target = chatTarget(snapshot, r.access, modelId);

  const retry = body.retry === true;
  const edit = body.edit === true;
  const content = text(body.content, 200_000);
  if (!retry && (content === undefined || content.trim() === '')) throw new GatewayError('BAD_REQUEST', 'message content is empty');

  // Work out the history this answer continues, and which trailing messages it replaces.
  const history = [...found.messages];
  let dropLast = 0;
  if (retry || edit) {
    while (history.length > 0 && history.at(-1)!.role === 'assistant') {
      history.pop();
      dropLast++;
    }
    if (edit && history.at(-1)?.role === 'user') {
      history.pop();
      dropLast++;
    }
    if (retry && history.at(-1)?.role !== 'user') throw new GatewayError('BAD_REQUEST', 'there is no message to answer again');
  }
  const now = Date.now();
  const newId = () => `msg_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
  const userMessage: ChatMessage | undefined = retry ? undefined : { id: newId(), role: 'user', content: content!, model: modelId, status: 'complete', error: null, request_id: null, created_at: now };
  const answer: ChatMessage = { id: newId(), role: 'assistant', content: '', model: modelId, status: 'streaming', error: null, request_id: null, created_at: now };
  const turns: ChatTurn[] = [...history, ...(userMessage ? [userMessage] : [])]
    .filter((m) => m.content !== '' && m.status !== 'error')
    .map((m) => ({ role: m.role, content: m.content }));
  const res = r.res;
  const event = (value: unknown) => {
    if (!res.writableEnded) res.write(`data: ${JSON.stringify(value)}\n\n`);
  };
  const patch: { model?: string; title?: string } = {};
  // The messages are stored and the stream opened only once the quota check has passed:
  // a refusal is a plain 429 (naming the bucket) and leaves the conversation as it was.
  const open = async () => {
    await store.appendMessages(login, id, [...(userMessage ? [userMessage] : []), answer], dropLast);
    if (found.conversation.model !== modelId) patch.model = modelId;
    if (!found.conversation.title && userMessage) patch.title = userMessage.content.replace(/\s+/g, ' ').trim().slice(0, 60);
    if (Object.keys(patch).length > 0) await store.updateConversation(login, id, patch);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    event({ type: 'start', user_message_id: userMessage?.id ?? null, assistant_message_id: answer.id, title: patch.title });
  };

  const abort = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) abort.abort();
  };
  res.on('close', onClose);
  const result = await callProvider({
    ctx: r.ctx,
    identity: r.identity,
    access: r.access,
    snapshot,
    provider: target.provider,
    format: target.format,
    upstreamModel: target.model,
    turns,
    system: found.conversation.system_prompt || undefined,
    stream: true,
    maxTokens: 4096,
    client: 'chat-ui',
    signal: abort.signal,
    onText: (t) => event({ type: 'delta', text: t }),
    onAdmitted: open,
  });
  res.off('close', onClose);
  if (result.refusal) throw result.refusal;
  const status = result.aborted ? 'stopped' : result.ok ? 'complete' : 'error';
  await store.finishMessage(login, id, answer.id, result.text, status, result.error ?? null, result.requestId ?? null);
  if (result.ok) event({ type: 'done', stop_reason: result.stopReason ?? null, usage: result.usage ?? null, request_id: result.requestId });
  else if (!result.aborted) event({ type: 'error', status: result.status, message: result.error ?? 'the provider did not answer' });
  res.end();
}
