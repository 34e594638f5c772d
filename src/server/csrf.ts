/**
 * Cross-site request protection. Tailnet identity travels with every request like a
 * cookie, so a web page on another site could otherwise make a signed-in admin's browser
 * change the configuration. A browser request that changes state must therefore come from
 * keyway's own origin and carry the token `GET /api/whoami` hands out (an HMAC of the
 * caller's login with a per-process secret). Non-browser clients (curl, scripts) send
 * neither `Origin` nor `Sec-Fetch-Site` and need no token.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.js';

export class CsrfGuard {
  private readonly secret = randomBytes(32);

  /** token returns the CSRF token for a login (stable until keyway restarts). */
  token(login: string): string {
    return createHmac('sha256', this.secret).update(login).digest('base64url').slice(0, 32);
  }

  /** check refuses a state-changing browser request from another site or without a valid token. */
  check(req: IncomingMessage, login: string): void {
    const site = req.headers['sec-fetch-site'];
    const origin = req.headers.origin;
    if (site === undefined && origin === undefined) return; // not a browser
    if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new GatewayError('CSRF');
    if (origin !== undefined) {
      let host: string;
      try {
        host = new URL(origin).host;
      } catch {
        throw new GatewayError('CSRF');
      }
      if (host !== req.headers.host) throw new GatewayError('CSRF');
    }
    const sent = req.headers['x-csrf-token'];
    const want = Buffer.from(this.token(login));
    if (typeof sent !== 'string' || sent.length !== want.length || !timingSafeEqual(Buffer.from(sent), want)) {
      throw new GatewayError('CSRF', 'cross-site request refused: send the x-csrf-token from GET /api/whoami');
    }
  }
}
