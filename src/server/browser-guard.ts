/**
 * Cross-site browser requests. A caller's identity comes from the network, so any web
 * page the caller opens could make their browser call keyway as them: spend the
 * organisation's key through `/v1/...` (a `text/plain` POST needs no preflight), or read
 * an answer. Every route therefore refuses a browser request from another site unless
 * one of the caller's grants allows that origin and path (`set_cors`), and answers the
 * browser's preflight itself. Non-browser clients send neither `Origin` nor
 * `Sec-Fetch-*` and are unaffected; a link followed from another site (a top-level GET
 * navigation) is not refused either, since the page that linked cannot read the answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { corsRuleFor, type CorsRule } from '../access/cors.js';
import type { Access } from '../access/grants.js';
import { GatewayError } from '../errors.js';

const DEFAULT_METHODS = 'GET, POST, OPTIONS';
const PREFLIGHT_MAX_AGE = '600'; // 10 min: grants change rarely, and a reload applies within that

/**
 * guardBrowserRequest returns true when it answered the request itself (a preflight);
 * it throws CROSS_SITE for a cross-site request no grant allows, and otherwise sets the
 * CORS response headers an allowed cross-site request needs.
 */
export function guardBrowserRequest(req: IncomingMessage, res: ServerResponse, pathname: string, access: Access): boolean {
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  if (site === undefined && origin === undefined) return false; // not a browser
  if (!isCrossSite(site, origin, req.headers.host)) return false;

  const method = req.method ?? 'GET';
  // Following a link from another site: the linking page never sees the answer.
  if ((method === 'GET' || method === 'HEAD') && req.headers['sec-fetch-mode'] === 'navigate') return false;

  const rule = origin === undefined || origin === 'null' ? undefined : corsRuleFor(access.cors, origin, pathname);
  if (!rule) {
    throw new GatewayError(
      'CROSS_SITE',
      `cross-site request refused: ${origin && origin !== 'null' ? `origin ${truncate(origin)}` : 'this page'} may not call ${truncate(pathname)} (a grant with set_cors, cors_paths and Access-Control-Allow-Origin can allow it)`,
    );
  }
  res.setHeader('access-control-allow-origin', rule.anyOrigin ? '*' : origin!);
  res.setHeader('vary', 'Origin');
  if (method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
    answerPreflight(req, res, rule);
    return true;
  }
  // Let the page read the request id, Retry-After and the providers' own headers.
  res.setHeader('access-control-expose-headers', '*');
  return false;
}

/**
 * isCrossSite: the browser says so (`Sec-Fetch-Site` is `cross-site` or `same-site`, a
 * sibling origin on the same site), or the `Origin` is not keyway's own. Either alone
 * refuses, so an older browser that sends only Origin is covered too.
 */
function isCrossSite(site: string | string[] | undefined, origin: string | undefined, host: string | undefined): boolean {
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true;
  if (origin === undefined) return false;
  if (origin === 'null') return true;
  try {
    return new URL(origin).host.toLowerCase() !== (host ?? '').toLowerCase();
  } catch {
    return true;
  }
}

function answerPreflight(req: IncomingMessage, res: ServerResponse, rule: CorsRule): void {
  const asked = req.headers['access-control-request-headers'];
  const headers: Record<string, string> = {
    'access-control-allow-methods': rule.methods ?? DEFAULT_METHODS,
    'access-control-max-age': PREFLIGHT_MAX_AGE,
    'content-length': '0',
  };
  const allowHeaders = rule.headers ?? (typeof asked === 'string' ? asked : undefined);
  if (allowHeaders) headers['access-control-allow-headers'] = allowHeaders;
  // Chrome's Private Network Access asks before a public page may reach a private address.
  if (req.headers['access-control-request-private-network'] === 'true') headers['access-control-allow-private-network'] = 'true';
  res.writeHead(204, headers);
  res.end();
}

function truncate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
