/**
 * keyway's own API for configuration: read, save, validate, history and rollback.
 * Admin only. Reads mask secrets unless `?reveal=1`; saves are optimistic (the hash of
 * the config the editor started from), validated with the one verdict (errors block,
 * warnings never do), and never replace the running configuration unless every check
 * passes. A read also says whether the file on disk was changed and refused.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Access } from '../access/grants.js';
import { blocking, summarize } from '../config/problems.js';
import type { Refusal } from '../config/runtime.js';
import { maskSecrets, maskSecretsLoosely } from '../config/secrets.js';
import type { Snapshot } from '../config/snapshot.js';
import type { Problem } from '../config/types.js';
import { GatewayError } from '../errors.js';
import type { Identity } from '../identity/identity.js';
import { readBody, readJsonObject } from './body.js';
import type { GatewayContext } from './context.js';
import { sendJson } from './respond.js';

export interface AdminRequest {
  ctx: GatewayContext;
  req: IncomingMessage;
  res: ServerResponse;
  pathname: string;
  query: URLSearchParams;
  identity: Identity;
  access: Access;
}

/** handleAdmin serves the config endpoints; it returns false for paths it does not own. */
export async function handleAdmin(r: AdminRequest): Promise<boolean> {
  const { req, pathname } = r;
  const method = req.method ?? 'GET';
  const route = `${method} ${pathname}`;
  if (route === 'GET /api/config' || route === 'GET /aperture/config') return requireAdmin(r, () => readConfig(r));
  if (route === 'PUT /api/config') return requireAdmin(r, () => saveConfig(r));
  if (route === 'POST /aperture/config:validate' || route === 'POST /api/config/validate') return requireAdmin(r, () => validateConfig(r));
  if (route === 'GET /api/config/history') return requireAdmin(r, () => listHistory(r));
  if (method === 'GET' && pathname.startsWith('/api/config/history/')) return requireAdmin(r, () => readVersion(r, pathname.slice('/api/config/history/'.length)));
  if (route === 'POST /api/config/rollback') return requireAdmin(r, () => rollback(r));
  if (pathname === '/api/config' || pathname === '/aperture/config' || pathname.startsWith('/api/config/')) {
    throw new GatewayError('METHOD_NOT_ALLOWED');
  }
  return false;
}

async function requireAdmin(r: AdminRequest, work: () => Promise<void>): Promise<boolean> {
  if (r.access.role !== 'admin') throw new GatewayError(r.access.role === undefined ? 'NO_ROLE' : 'NOT_ADMIN');
  await work();
  return true;
}

async function readConfig(r: AdminRequest): Promise<void> {
  const snapshot = r.ctx.config.current;
  const reveal = r.query.get('reveal') === '1';
  const refusal = r.ctx.config.refusal;
  sendJson(r.res, 200, {
    config: reveal ? snapshot.text : maskSecrets(snapshot.text),
    exists: r.ctx.config.fileExists,
    hash: snapshot.hash,
    problems: snapshot.problems,
    refused: refusal ? refusedView(refusal, reveal) : null,
  }, { 'cache-control': 'no-store' });
}

/**
 * refusedView describes a refused file change for the editor's banner. The refused text
 * may not even parse, so its secrets are masked token by token, not through the tree.
 */
function refusedView(refusal: Refusal, reveal: boolean) {
  return {
    source: refusal.source,
    at: refusal.at,
    problems: refusal.problems,
    text_hash: refusal.textHash,
    config: reveal ? refusal.text : maskSecretsLoosely(refusal.text),
  };
}

function readJson(r: AdminRequest): Promise<Record<string, unknown>> {
  return readJsonObject(r.req, r.ctx.bodyLimit);
}

async function saveConfig(r: AdminRequest): Promise<void> {
  const body = await readJson(r);
  if (typeof body.config !== 'string') throw new GatewayError('BAD_REQUEST', 'body must be {"config": "<text>", "hash": "<hash from GET /api/config>"}');
  await applySave(r, body.config, typeof body.hash === 'string' ? body.hash : '');
}

async function applySave(r: AdminRequest, text: string, hash: string): Promise<void> {
  const result = await r.ctx.config.save(text, hash, (next) => lockoutCheck(next, r.identity));
  if (result.ok) {
    r.ctx.log.info({ login: r.identity.login, hash: result.hash }, 'configuration saved');
    sendJson(r.res, 200, { hash: result.hash, problems: result.problems });
  } else if (result.reason === 'conflict') {
    sendJson(r.res, 409, { error: 'configuration changed since it was read; reload it and apply your edit again', code: 'CONFIG_CONFLICT', hash: result.hash });
  } else {
    sendJson(r.res, 400, { error: summarize(result.problems), code: 'CONFIG_INVALID', problems: result.problems });
  }
}

/** lockoutCheck refuses a save that would take the saver's own admin role away. */
function lockoutCheck(next: Snapshot, saver: Identity): Problem[] {
  if (next.accessFor(saver).role === 'admin') return [];
  return [{ severity: 'error', path: 'grants', message: `this change would remove your own admin role (${saver.login}); keep a grant that gives you role "admin"` }];
}

async function validateConfig(r: AdminRequest): Promise<void> {
  const raw = (await readBody(r.req, r.ctx.bodyLimit)).toString('utf8');
  // Accept either {"config": "<text>"} or the config text itself.
  let text = raw;
  try {
    const value = JSON.parse(raw) as unknown;
    if (value !== null && typeof value === 'object' && typeof (value as { config?: unknown }).config === 'string') {
      text = (value as { config: string }).config;
    }
  } catch {
    // not JSON: HuJSON config text
  }
  const problems = r.ctx.config.validate(text);
  const line = (p: Problem) => (p.path ? `${p.path}: ${p.message}` : p.message);
  // Unlike Aperture, warnings do not make a document invalid: they never block a save here.
  sendJson(r.res, 200, {
    Valid: blocking(problems).length === 0,
    Errors: blocking(problems).map(line),
    Warnings: problems.filter((p) => p.severity === 'warning').map(line),
    problems,
  });
}

async function listHistory(r: AdminRequest): Promise<void> {
  sendJson(r.res, 200, { versions: await r.ctx.config.store.history() });
}

async function readVersion(r: AdminRequest, id: string): Promise<void> {
  const text = await r.ctx.config.store.readVersion(id);
  if (text === undefined) throw new GatewayError('UNKNOWN_ROUTE', `no saved configuration version "${id}"`);
  sendJson(r.res, 200, { id, config: r.query.get('reveal') === '1' ? text : maskSecrets(text) });
}

async function rollback(r: AdminRequest): Promise<void> {
  const body = await readJson(r);
  const text = typeof body.id === 'string' ? await r.ctx.config.store.readVersion(body.id) : undefined;
  if (text === undefined) throw new GatewayError('BAD_REQUEST', 'body must be {"id": "<version id>", "hash": "<current hash>"} naming a saved version');
  await applySave(r, text, typeof body.hash === 'string' ? body.hash : '');
}
