/**
 * The environment a run shares: a temporary folder, the mock upstream (its own process),
 * the default keyway and the optional nginx, started on first use and stopped at the end.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chatBody } from './bodies.js';
import { DEFAULT_SHAPE, keywayConfig } from './keyway-config.js';
import { pickLoadDriver } from './load.js';
import { nginxAvailable, startNginx } from './nginx.js';
import { BUILD_DIR, KEYWAY_CLI } from './paths.js';
import { freePort, removeOnExit, startService } from './procs.js';
import type { BenchContext, KeywayOptions, Options, Service, Target } from './types.js';

/** MOCK_RESPONSE_BYTES pads the mock's non-streaming replies to about 1 KB. */
export const MOCK_RESPONSE_BYTES = 1024;

export interface RunContext extends BenchContext {
  /** The nginx binary, when installed and not disabled. */
  readonly nginxBin: string | undefined;
  close(): Promise<void>;
}

/**
 * keywayEnv is the environment without KEYWAY_* variables, so that settings of the
 * shell (a listen address, an identity mode, timeouts) cannot change what is measured:
 * the gateway runs with its defaults and the flags the suite passes.
 */
function keywayEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('KEYWAY_')) env[k] = v;
  return env;
}

/** createContext starts the mock upstream and returns the shared context. */
export async function createContext(opts: Options, log: (line: string) => void): Promise<RunContext> {
  const tmp = await mkdtemp(join(tmpdir(), 'keyway-bench-'));
  removeOnExit(tmp);
  const services: Service[] = [];
  const track = <S extends Service>(s: S): S => {
    services.push(s);
    return s;
  };
  try {
    const mockPort = await freePort();
    const mock = track(
      await startService('mock', process.execPath, [
        KEYWAY_CLI, 'mock-upstream', '--host', '127.0.0.1', '--port', String(mockPort), '--no-record', '--quiet', '--response-bytes', String(MOCK_RESPONSE_BYTES),
      ], mockPort),
    );
    const load = pickLoadDriver(opts.loadgen, tmp);
    const nginxBin = opts.nginx ? nginxAvailable() : undefined;
    let keywayOnce: Promise<Service> | undefined;
    let nginxOnce: Promise<Service | undefined> | undefined;
    let bareOnce: Promise<Service> | undefined;
    const bodies = new Map<string, string>();
    let instances = 0;

    const ctx: RunContext = {
      opts,
      tmp,
      mock,
      load,
      nginxBin,
      log,
      async startKeyway({ shape = DEFAULT_SHAPE, nodeArgs = [], serveArgs = [], configText }: KeywayOptions = {}) {
        const dir = join(tmp, `keyway-${++instances}`);
        await mkdir(dir, { recursive: true });
        const config = join(dir, 'config.json');
        await writeFile(config, configText ?? keywayConfig(mock.url, shape));
        const port = await freePort();
        const args = [...nodeArgs, KEYWAY_CLI, 'serve', '--listen', '127.0.0.1', '--port', String(port), '--config', config, '--data-dir', dir, '--log-level', 'warn', ...serveArgs];
        return track(await startService('keyway', process.execPath, args, port, '/healthz', 'SIGTERM', keywayEnv()));
      },
      keyway() {
        return (keywayOnce ??= ctx.startKeyway());
      },
      nginx() {
        return (nginxOnce ??= nginxBin ? startNginx(nginxBin, join(tmp, 'nginx'), mock.port).then(track) : Promise.resolve(undefined));
      },
      async startBare(nodeArgs: string[] = []) {
        const port = await freePort();
        const script = join(BUILD_DIR, 'bench', 'reference', 'bare-proxy.js');
        return track(await startService('bare', process.execPath, [...nodeArgs, script, String(port), mock.url], port));
      },
      bare() {
        return (bareOnce ??= ctx.startBare());
      },
      async targets(withBare = false) {
        const out: Target[] = [{ name: 'direct', url: mock.url }, { name: 'keyway', url: (await ctx.keyway()).url }];
        const nginx = await ctx.nginx();
        if (nginx) out.push({ name: 'nginx', url: nginx.url });
        if (withBare) out.push({ name: 'bare', url: (await ctx.bare()).url });
        return out;
      },
      async bodyFile(bytes: number, stream = false) {
        const key = `${bytes}-${stream}`;
        let file = bodies.get(key);
        if (!file) {
          file = join(tmp, `body-${key}.json`);
          await writeFile(file, chatBody(bytes, stream));
          bodies.set(key, file);
        }
        return file;
      },
      async close() {
        await Promise.allSettled(services.reverse().map((s) => s.stop()));
        await rm(tmp, { recursive: true, force: true });
      },
    };
    return ctx;
  } catch (err) {
    await Promise.allSettled(services.map((s) => s.stop()));
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
