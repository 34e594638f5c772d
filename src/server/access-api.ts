/**
 * Endpoints that tell callers about their own access: `GET /api/whoami` (works without a
 * role, to troubleshoot one), and `/api/explain` (which provider would serve a model, or
 * why not), including the admin's "who can use what" over a draft configuration.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Access } from '../access/grants.js';
import { restoreSecrets } from '../config/secrets.js';
import { compileSnapshot, type Snapshot } from '../config/snapshot.js';
import type { FormatFlag } from '../config/types.js';
import { validateConfigText } from '../config/validate.js';
import { GatewayError } from '../errors.js';
import { formatByFlag } from '../formats/registry.js';
import { LOCAL_OWNER, type Identity } from '../identity/identity.js';
import { explainModel, type QuotaExplainer } from '../routing/explain.js';
import { readJsonObject } from './body.js';
import type { GatewayContext } from './context.js';
import { sendJson } from './respond.js';

/** whoami tells callers who keyway thinks they are and what they may do (works without a role). */
export function whoami(ctx: GatewayContext, identity: Identity, access: Access) {
  return {
    login: identity.login,
    display_name: identity.displayName,
    node_id: identity.nodeId,
    tags: identity.tags,
    groups: identity.groups,
    loopback: identity.loopback,
    identity_source: ctx.identity.name,
    role: access.role ?? null,
    models: access.modelPatterns,
    enable_chat_ui: access.enableChatUi,
    read_metrics: access.readMetrics,
    csrf_token: ctx.csrf.token(identity.login),
  };
}

export function explain(ctx: GatewayContext, res: ServerResponse, snapshot: Snapshot, identity: Identity, access: Access, params: URLSearchParams): void {
  const model = params.get('model');
  if (!model) throw new GatewayError('BAD_REQUEST', 'explain needs ?model=NAME (and optionally &format=anthropic_messages)');
  const format = explainFormat(params.get('format') ?? undefined);
  const as = params.get('as');
  if (as !== null && as !== identity.login) {
    // Explaining for someone else reveals their grants: admins only.
    if (access.role !== 'admin') throw new GatewayError('NOT_ADMIN');
    const other = namedIdentity(as, [], []);
    const otherAccess = snapshot.accessFor(other);
    return sendJson(res, 200, explainModel(snapshot, otherAccess, other.login, model, format, quotaExplainer(ctx, snapshot, otherAccess, other), ctx.translation));
  }
  sendJson(res, 200, explainModel(snapshot, access, identity.login, model, format, quotaExplainer(ctx, snapshot, access, identity), ctx.translation));
}

/** quotaExplainer reads the running gateway's balances for explain. */
function quotaExplainer(ctx: GatewayContext, snapshot: Snapshot, access: Access, identity: Identity): QuotaExplainer {
  return (provider, format, upstreamModel) => ctx.quotas.explain(snapshot, access, identity, provider, format, upstreamModel);
}

function explainFormat(format: string | undefined): FormatFlag | undefined {
  if (format !== undefined && !formatByFlag(format)) throw new GatewayError('BAD_REQUEST', `unknown format "${format}"; use a compatibility flag such as openai_chat`);
  return format as FormatFlag | undefined;
}

/**
 * namedIdentity builds the identity of a caller described by login, groups and tags (for
 * explain). `(loopback)`, the grant source the grants preview offers, is the local owner:
 * the caller a `(loopback)` grant matches, so asking "what may (loopback) use" answers for
 * that caller instead of for a stranger whose login happens to be the text "(loopback)".
 */
function namedIdentity(login: string, groups: string[], tags: string[]): Identity {
  if (login === '(loopback)') return LOCAL_OWNER;
  return { login, displayName: login, nodeId: '', tags, groups, loopback: login === LOCAL_OWNER.login, capMap: {} };
}

/**
 * explainDraft (admin) answers "who can use what" for a caller and several models, against
 * the running configuration or a draft text that has not been saved.
 */
export async function explainDraft(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse, access: Access): Promise<void> {
  if (access.role !== 'admin') throw new GatewayError(access.role === undefined ? 'NO_ROLE' : 'NOT_ADMIN');
  const body = await readJsonObject(req, ctx.bodyLimit);
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  if (typeof body.as !== 'string' || !Array.isArray(body.models)) throw new GatewayError('BAD_REQUEST', 'body must be {"as": "<login>", "models": ["<model>", …], "groups"?, "tags"?, "format"?, "config"?}');
  let snapshot = ctx.config.current;
  if (typeof body.config === 'string') {
    const result = validateConfigText(restoreSecrets(body.config, snapshot.text).text, { env: process.env });
    if (!result.config) return sendJson(res, 400, { error: 'the draft configuration has errors', code: 'CONFIG_INVALID', problems: result.problems });
    snapshot = compileSnapshot(body.config, result.config, result.problems);
  }
  const who = namedIdentity(body.as, strings(body.groups), strings(body.tags));
  const format = explainFormat(typeof body.format === 'string' ? body.format : undefined);
  const whoAccess = snapshot.accessFor(who);
  sendJson(res, 200, { explanations: strings(body.models).map((m) => explainModel(snapshot, whoAccess, who.login, m, format, quotaExplainer(ctx, snapshot, whoAccess, who), ctx.translation)) });
}
