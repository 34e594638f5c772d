/**
 * OAuth access tokens for a Google service account (RFC 7523 JWT bearer grant, as Google
 * documents it for server-to-server calls): keyway signs an RS256 assertion with the
 * keyfile's private key, posts it to the keyfile's own `token_uri`, and keeps the access
 * token until shortly before it expires. Concurrent requests share one exchange.
 *
 * Written on node:crypto rather than google-auth-library: version 10 (the last to run on
 * Node 20) always posts to https://oauth2.googleapis.com/token, whatever the keyfile says,
 * so it can neither honour a keyfile's token_uri nor be tested offline.
 */
import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import type { ServiceAccountKeyfile } from './keyfile.js';

/** The scope Vertex AI needs (https://cloud.google.com/vertex-ai/docs/authentication). */
export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Assertion lifetime: Google accepts at most one hour. */
const ASSERTION_SECONDS = 3600;
/** Longest token-server answer read; a token response is a few hundred bytes. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** TokenExchangeError is a failed exchange; its message is safe to show (no key, assertion or token). */
export class TokenExchangeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenExchangeError';
  }
}

export interface TokenSourceOptions {
  /** Connection pool for token requests (undici's global one when undefined). */
  dispatcher?: Dispatcher;
  /** Clock in milliseconds; tests move it. */
  now?: () => number;
  /** Bound on one exchange, connect to last byte. */
  timeoutMs?: number;
}

interface Token {
  value: string;
  /** From here on a request starts a new exchange but still uses this token. */
  refreshAt: number;
  /** From here on requests wait for the new token. */
  expiresAt: number;
}

/**
 * ServiceAccountTokens holds the access token of one service account. `token()` answers
 * from the cache while the token is fresh; in the last stretch of its life the first
 * caller starts an exchange in the background and everyone keeps the old token until
 * the new one arrives; an expired (or absent) token makes callers wait for one exchange,
 * shared by all of them. A failed exchange is reported to every waiting caller; the next
 * request tries again.
 */
export class ServiceAccountTokens {
  private current: Token | undefined;
  private pending: Promise<string> | undefined;
  private key: KeyObject | undefined;
  private readonly now: () => number;
  /** Exchanges started, for tests and logs. */
  exchanges = 0;

  constructor(
    private readonly keyfile: ServiceAccountKeyfile,
    private readonly options: TokenSourceOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /** token returns a valid access token, or rejects with a TokenExchangeError. */
  token(): string | Promise<string> {
    const t = this.current;
    const now = this.now();
    if (t && now < t.refreshAt) return t.value;
    if (t && now < t.expiresAt) {
      // Renew ahead of time without holding anyone up; a failure leaves the old token in use.
      this.refresh().catch(() => {});
      return t.value;
    }
    return this.refresh();
  }

  private refresh(): Promise<string> {
    this.pending ??= this.exchange().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async exchange(): Promise<string> {
    this.exchanges++;
    const issuedAt = this.now();
    const assertion = this.assertion(Math.floor(issuedAt / 1000));
    const form = new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion }).toString();
    const where = this.keyfile.tokenUri;
    let status: number;
    let text: string;
    try {
      const res = await request(where, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form,
        dispatcher: this.options.dispatcher,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 15_000),
        headersTimeout: this.options.timeoutMs ?? 15_000,
        bodyTimeout: this.options.timeoutMs ?? 15_000,
      });
      status = res.statusCode;
      text = await readLimited(res.body);
    } catch (err) {
      throw new TokenExchangeError(`the token server ${where} could not be reached (${describe(err)})`, { cause: err });
    }
    const answer = parseObject(text);
    if (status < 200 || status >= 300) {
      throw new TokenExchangeError(`the token server ${where} refused the service account ${this.keyfile.clientEmail} (${status}): ${serverMessage(answer, text, assertion)}`);
    }
    const value = answer?.access_token;
    const lifetime = answer?.expires_in;
    // The token goes into a header value: only visible ASCII (RFC 6750 token68 and friends).
    if (typeof value !== 'string' || !/^[\x21-\x7e]{1,8192}$/.test(value)) {
      throw new TokenExchangeError(`the token server ${where} answered without a usable access_token`);
    }
    const seconds = typeof lifetime === 'number' && lifetime > 0 ? lifetime : ASSERTION_SECONDS;
    const lifetimeMs = seconds * 1000;
    const expiresAt = issuedAt + lifetimeMs;
    // Renew in the last quarter of the lifetime (at most the last 5 minutes); stop using
    // the token in its last tenth (at most 30 s), so clock skew and slow upstreams are covered.
    this.current = {
      value,
      refreshAt: expiresAt - Math.min(300_000, lifetimeMs / 4),
      expiresAt: expiresAt - Math.min(30_000, lifetimeMs / 10),
    };
    return value;
  }

  /** assertion signs the RS256 JWT that asks for a cloud-platform token. */
  private assertion(iat: number): string {
    this.key ??= readPrivateKey(this.keyfile);
    const header: Record<string, string> = { alg: 'RS256', typ: 'JWT' };
    if (this.keyfile.privateKeyId) header.kid = this.keyfile.privateKeyId;
    const claims = {
      iss: this.keyfile.clientEmail,
      scope: CLOUD_PLATFORM_SCOPE,
      aud: this.keyfile.tokenUri,
      iat,
      exp: iat + ASSERTION_SECONDS,
    };
    const unsigned = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = createSign('RSA-SHA256').update(unsigned).sign(this.key);
    return `${unsigned}.${signature.toString('base64url')}`;
  }
}

function readPrivateKey(keyfile: ServiceAccountKeyfile): KeyObject {
  try {
    return createPrivateKey(keyfile.privateKey);
  } catch (err) {
    throw new TokenExchangeError(`the private_key of the service account ${keyfile.clientEmail} could not be read (${describe(err)})`);
  }
}

function base64url(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64url');
}

async function readLimited(body: Dispatcher.ResponseData['body']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_ANSWER_BYTES);
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * serverMessage is what the token server said, for the caller: its OAuth `error` and
 * `error_description` (or the start of its text), on one line, without the assertion
 * should the server have echoed it.
 */
function serverMessage(answer: Record<string, unknown> | undefined, text: string, assertion: string): string {
  let message: string;
  if (answer && typeof answer.error === 'string') {
    message = typeof answer.error_description === 'string' && answer.error_description !== '' ? `${answer.error}: ${answer.error_description}` : answer.error;
  } else if (answer && typeof answer.error === 'object' && answer.error !== null && typeof (answer.error as { message?: unknown }).message === 'string') {
    message = (answer.error as { message: string }).message;
  } else {
    message = text.trim() === '' ? 'no explanation' : text;
  }
  return message.split(assertion).join('[assertion]').replace(/[\x00-\x1f\x7f]+/g, ' ').trim().slice(0, 300);
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; name?: unknown } | null;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timed out';
  return typeof e?.code === 'string' ? e.code : String(e?.message ?? err).slice(0, 200);
}
