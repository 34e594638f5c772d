// A Google OAuth token endpoint (`POST …/token`) for service-account keyfiles, as Vertex
// clients use it: the form-encoded JWT bearer grant, an RS256 assertion VERIFIED against the
// public key of a keyfile this mock issued (signature, iss, aud = this endpoint, scope,
// lifetime), and `{access_token, expires_in, token_type}` back. Vertex routes then accept
// only a live token it issued (`ya29.test-mock-…`), in Google's 401 envelope otherwise.
//
// Token requests are not recorded in `requests` (tests assert what the gateway forwarded to
// the model API); they have their own log, `exchanges`.

import { createVerify, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The scope a Vertex token needs. */
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const TOKEN_PREFIX = 'ya29.test-mock-';

export interface ServiceAccountOptions {
  projectId?: string;
  clientEmail?: string;
  /** `expires_in` of the tokens issued to this account, seconds (default 3599, as Google). */
  expiresIn?: number;
}

export interface IssuedKeyfile {
  /** The provider apikey: `keyfile::` + base64 of the JSON. */
  apikey: string;
  /** The keyfile JSON, private key included (test material only). */
  json: Record<string, string>;
  clientEmail: string;
}

/** One accepted or refused token request. */
export interface TokenExchange {
  at: number;
  ok: boolean;
  /** The refusal (`invalid_grant: …`), when refused. */
  error?: string;
  clientEmail?: string;
  claims?: Record<string, unknown>;
  /** The access token issued, when accepted. */
  token?: string;
}

export interface MockOAuth {
  /** issueKeyfile makes a service account (a fresh RSA key) whose token_uri is this mock. */
  issueKeyfile(opts?: ServiceAccountOptions): IssuedKeyfile;
  /** Every token request, in order. */
  readonly exchanges: TokenExchange[];
  /** When set, every token request is answered with this status and OAuth error instead. */
  fail: { status: number; error: string; description?: string } | undefined;
  /** Delay before a token answer, ms (to let concurrent requests pile up). */
  delayMs: number;
  /** Forget every issued token (the next Vertex call with an old one gets 401). */
  revokeAll(): void;
}

interface Account {
  publicKey: KeyObject;
  expiresIn: number;
}

interface Issued {
  clientEmail: string;
  expiresAt: number;
}

export class OAuthEndpoint implements MockOAuth {
  readonly exchanges: TokenExchange[] = [];
  fail: MockOAuth['fail'];
  delayMs = 0;
  private readonly accounts = new Map<string, Account>();
  private readonly tokens = new Map<string, Issued>();
  private seq = 0;

  constructor(private readonly baseUrl: () => string) {}

  /** The token_uri keyfiles of this mock name. */
  get tokenUri(): string {
    return `${this.baseUrl()}/token`;
  }

  issueKeyfile(opts: ServiceAccountOptions = {}): IssuedKeyfile {
    const n = ++this.seq;
    const clientEmail = opts.clientEmail ?? `keyway-test-${n}@mock-project.iam.gserviceaccount.com`;
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.accounts.set(clientEmail, { publicKey, expiresIn: opts.expiresIn ?? 3599 });
    const json: Record<string, string> = {
      type: 'service_account',
      project_id: opts.projectId ?? 'mock-project',
      private_key_id: `test-key-${n}`,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: clientEmail,
      client_id: String(100000 + n),
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: this.tokenUri,
    };
    return { apikey: `keyfile::${Buffer.from(JSON.stringify(json)).toString('base64')}`, json, clientEmail };
  }

  revokeAll(): void {
    this.tokens.clear();
  }

  /** isTokenPath: the paths this endpoint answers (`…/token`, any base prefix). */
  static isTokenPath(method: string, path: string): boolean {
    return method === 'POST' && path.endsWith('/token');
  }

  /** handle answers one token request. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('error', () => {});
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = this.exchange(String(req.headers['content-type'] ?? ''), Buffer.concat(chunks).toString('utf8'));
      const send = () => {
        if (res.destroyed) return;
        const body = JSON.stringify(answer.body);
        res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
        res.end(body);
      };
      if (this.delayMs > 0) setTimeout(send, this.delayMs);
      else send();
    });
  }

  /** bearerProblem says why an Authorization header is not a live token of this mock, or undefined when it is one. */
  bearerProblem(authorization: string | undefined): string | undefined {
    if (authorization === undefined || !authorization.startsWith(`Bearer ${TOKEN_PREFIX}`)) return undefined; // not ours: other checks apply
    const issued = this.tokens.get(authorization.slice('Bearer '.length));
    if (!issued) return 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.';
    if (Date.now() >= issued.expiresAt) return 'Request had invalid authentication credentials: the access token has expired.';
    return undefined;
  }

  private exchange(contentType: string, form: string): { status: number; body: Record<string, unknown> } {
    const refuse = (status: number, error: string, description: string, extra: Partial<TokenExchange> = {}) => {
      this.exchanges.push({ at: Date.now(), ok: false, error: `${error}: ${description}`, ...extra });
      return { status, body: { error, error_description: description } };
    };
    if (this.fail) return refuse(this.fail.status, this.fail.error, this.fail.description ?? 'mock token endpoint told to fail');
    if (!contentType.startsWith('application/x-www-form-urlencoded')) return refuse(400, 'invalid_request', `content-type must be application/x-www-form-urlencoded, not ${contentType || 'none'}`);
    const params = new URLSearchParams(form);
    if (params.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return refuse(400, 'unsupported_grant_type', 'Invalid grant_type.');
    const assertion = params.get('assertion') ?? '';
    const parts = assertion.split('.');
    if (parts.length !== 3) return refuse(400, 'invalid_grant', 'Invalid JWT: not three parts.');
    const header = decodeJson(parts[0]!);
    const claims = decodeJson(parts[1]!);
    if (!header || !claims) return refuse(400, 'invalid_grant', 'Invalid JWT: header or claims are not base64url JSON.');
    if (header.alg !== 'RS256') return refuse(400, 'invalid_grant', `Invalid JWT: alg ${String(header.alg)}, want RS256.`);
    const clientEmail = typeof claims.iss === 'string' ? claims.iss : '';
    const account = this.accounts.get(clientEmail);
    if (!account) return refuse(400, 'invalid_grant', 'Invalid grant: account not found', { claims });
    const signed = createVerify('RSA-SHA256').update(`${parts[0]}.${parts[1]}`).verify(account.publicKey, Buffer.from(parts[2]!, 'base64url'));
    if (!signed) return refuse(400, 'invalid_grant', 'Invalid JWT Signature.', { clientEmail, claims });
    if (claims.aud !== this.tokenUri) return refuse(400, 'invalid_grant', `Invalid JWT: aud ${String(claims.aud)}, want ${this.tokenUri}.`, { clientEmail, claims });
    if (typeof claims.scope !== 'string' || !claims.scope.split(' ').includes(CLOUD_PLATFORM)) return refuse(400, 'invalid_scope', 'Invalid JWT: no cloud-platform scope.', { clientEmail, claims });
    const now = Math.floor(Date.now() / 1000);
    const iat = Number(claims.iat);
    const exp = Number(claims.exp);
    if (!Number.isFinite(iat) || !Number.isFinite(exp) || exp <= iat || exp - iat > 3600 || iat > now + 60 || exp < now) {
      return refuse(400, 'invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.', { clientEmail, claims });
    }
    const token = `${TOKEN_PREFIX}${this.seq}-${this.exchanges.length + 1}-${randomBytes(6).toString('hex')}`;
    this.tokens.set(token, { clientEmail, expiresAt: Date.now() + account.expiresIn * 1000 });
    this.exchanges.push({ at: Date.now(), ok: true, clientEmail, claims, token });
    return { status: 200, body: { access_token: token, expires_in: account.expiresIn, token_type: 'Bearer' } };
  }
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
