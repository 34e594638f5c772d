/**
 * The dashboard and chat UI: keyway serves the built web app (`dist/web`, made by
 * `npm run build`) at `/ui/` and `/chat`. Paths without a file extension get
 * `index.html`, so the app's own router decides what to show; `GET /` from a browser
 * redirects to `/ui/` while other clients keep the JSON answer. It runs after the caller
 * was identified, like every other route, and only reads files inside the web root.
 *
 * Hashed build assets (`/ui/assets/…`) are cached for a year as immutable; everything
 * else is `no-cache` with an ETag, so a new build shows up at the next page load.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib';
import { GatewayError } from '../errors.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.svg', '.txt', '.webmanifest']);

// The app loads only its own scripts; styles may be inline (CodeMirror injects its theme).
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

interface CachedFile {
  key: string;
  raw: Buffer;
  br?: Promise<Buffer>;
  gz?: Promise<Buffer>;
}

export interface StaticUi {
  /** serve answers a UI request and returns true, or returns false for paths it does not own. */
  serve(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean>;
}

/** createStaticUi serves the web app built into `root` (an absolute folder). */
export function createStaticUi(root: string): StaticUi {
  const base = resolve(root);
  const cache = new Map<string, CachedFile>();

  async function load(file: string): Promise<{ entry: CachedFile; etag: string } | undefined> {
    let info;
    try {
      info = await stat(file);
    } catch {
      return undefined;
    }
    if (!info.isFile()) return undefined;
    const key = `${info.size}-${Math.trunc(info.mtimeMs)}`;
    let entry = cache.get(file);
    if (!entry || entry.key !== key) {
      entry = { key, raw: await readFile(file) };
      if (cache.size > 500) cache.clear(); // a build has a few dozen files; this only bounds surprises
      cache.set(file, entry);
    }
    return { entry, etag: `W/"${key}"` };
  }

  async function send(req: IncomingMessage, res: ServerResponse, file: string, cacheControl: string): Promise<boolean> {
    const found = await load(file);
    if (!found) return false;
    const { entry, etag } = found;
    const ext = extname(file).toLowerCase();
    const headers: Record<string, string | number> = {
      'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
      'cache-control': cacheControl,
      etag,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'same-origin',
    };
    if (ext === '.html') {
      headers['content-security-policy'] = CSP;
      headers['x-frame-options'] = 'DENY';
    }
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return true;
    }
    let body = entry.raw;
    if (COMPRESSIBLE.has(ext) && body.length > 1024) {
      headers.vary = 'accept-encoding';
      const accept = String(req.headers['accept-encoding'] ?? '');
      if (/\bbr\b/.test(accept)) {
        entry.br ??= brotli(entry.raw, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 9 } });
        body = await entry.br;
        headers['content-encoding'] = 'br';
      } else if (/\bgzip\b/.test(accept)) {
        entry.gz ??= gzipAsync(entry.raw);
        body = await entry.gz;
        headers['content-encoding'] = 'gzip';
      }
    }
    headers['content-length'] = body.length;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }

  async function sendIndex(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    if (await send(req, res, join(base, 'index.html'), 'no-cache')) return true;
    throw new GatewayError('NOT_FOUND', `the web UI is not built (no ${join(base, 'index.html')}); run npm run build`);
  }

  return {
    async serve(req, res, pathname) {
      if (pathname === '/') {
        if (!String(req.headers.accept ?? '').includes('text/html')) return false;
        res.writeHead(302, { location: '/ui/', 'content-length': 0, 'cache-control': 'no-store' });
        res.end();
        return true;
      }
      if (pathname === '/chat' || pathname.startsWith('/chat/')) return sendIndex(req, res);
      if (pathname !== '/ui' && !pathname.startsWith('/ui/')) return false;

      let rel: string;
      try {
        rel = decodeURIComponent(pathname.slice('/ui/'.length));
      } catch {
        throw new GatewayError('NOT_FOUND', 'no such file');
      }
      // Client-side routes are the app itself; only names with a static file's extension
      // (not `/ui/dashboard/alice@example.com`) are looked up as files.
      if (rel === '' || !Object.hasOwn(CONTENT_TYPES, extname(rel).toLowerCase())) return sendIndex(req, res);
      const file = resolve(base, rel);
      // Never leave the web root, never serve dotfiles or NUL tricks.
      if (rel.includes('\0') || !file.startsWith(base + sep) || rel.split(/[\\/]/).some((s) => s.startsWith('.'))) {
        throw new GatewayError('NOT_FOUND', 'no such file');
      }
      const cacheControl = rel.startsWith('assets/') ? IMMUTABLE : 'no-cache';
      if (await send(req, res, file, cacheControl)) return true;
      throw new GatewayError('NOT_FOUND', `no such file: /ui/${rel}`);
    },
  };
}

/** webRoot finds `dist/web` of the keyway package this module belongs to (dist/ or build/ layouts). */
export function webRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'web');
    const up = dirname(dir);
    if (up === dir) return join(dirname(fileURLToPath(import.meta.url)), '..', 'web');
    dir = up;
  }
}

let defaultUi: StaticUi | undefined;

/** serveUi serves the UI of this installation (see createStaticUi); false for other paths. */
export function serveUi(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> {
  defaultUi ??= createStaticUi(webRoot());
  return defaultUi.serve(req, res, pathname);
}
