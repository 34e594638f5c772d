/**
 * Builds the dashboard and chat UI into dist/web, served by keyway at /ui/ and /chat
 * (src/server/static.ts). `npm run dev:web` serves it with hot reload on :5173 and proxies
 * the API to a keyway on :8080 (KEYWAY_URL to change it).
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type ProxyOptions } from 'vite';

const keyway = process.env.KEYWAY_URL ?? 'http://127.0.0.1:8080';

// keyway refuses state-changing browser requests whose Origin is not its own host (CSRF);
// the dev server is a different origin, so the proxy drops the header. The x-csrf-token
// check still applies.
const toKeyway: ProxyOptions = {
  target: keyway,
  changeOrigin: true,
  configure: (proxy) => proxy.on('proxyReq', (req) => req.removeHeader('origin')),
};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: true,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: { '/api': toKeyway, '/v1': toKeyway, '/aperture': toKeyway },
  },
});
