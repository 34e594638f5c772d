/**
 * The optional nginx reference: a plain `proxy_pass` to the mock with upstream
 * keep-alive and no response buffering (so SSE streams through), in one process without a
 * master (keyway too is one process with one event loop; and a single process dies with
 * SIGKILL, leaving no orphaned worker). It runs only when nginx is installed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findExecutable, freePort, startService } from './procs.js';
import type { Service } from './types.js';

/** nginxAvailable returns the nginx binary, or undefined when it is not installed. */
export function nginxAvailable(): string | undefined {
  return findExecutable('nginx');
}

/** startNginx writes a config into `dir` and starts nginx in the foreground. */
export async function startNginx(bin: string, dir: string, upstreamPort: number): Promise<Service> {
  const port = await freePort();
  await mkdir(join(dir, 'logs'), { recursive: true });
  const conf = join(dir, 'nginx.conf');
  await writeFile(conf, nginxConf(dir, port, upstreamPort));
  // -e: error log before the config is read (default /var/log/nginx needs root); -p: prefix for temp paths.
  return startService('nginx', bin, ['-p', dir, '-e', join(dir, 'logs', 'error.log'), '-c', conf], port, '/', 'SIGTERM');
}

function nginxConf(dir: string, port: number, upstreamPort: number): string {
  return `daemon off;
master_process off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')} warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  client_max_body_size 8m;
  client_body_buffer_size 8m;
  keepalive_requests 10000000;
  keepalive_timeout 65s;
  upstream mock {
    server 127.0.0.1:${upstreamPort};
    keepalive 256;
    keepalive_requests 10000000;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 600s;
    }
  }
}
`;
}
