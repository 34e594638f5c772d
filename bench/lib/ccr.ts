/**
 * claude-code-router (npm `@musistudio/claude-code-router`, a devDependency pinned to
 * 1.0.73, the last release that runs on Node 20) as a peer of keyway's translation: an
 * Anthropic Messages server in front of OpenAI chat providers. It is started the way its
 * README says: `ccr start` (which runs the server in the foreground) with the configuration
 * in `~/.claude-code-router/config.json`, here under a private temporary HOME so that
 * nothing of the user's own setup is read or written.
 *
 * When the package is missing or the server does not come up, startCcr says why and the
 * scenario skips the peer lane: a peer that cannot run never fails the bench.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { freePort, startService } from './procs.js';
import type { Service } from './types.js';

export const CCR_PACKAGE = '@musistudio/claude-code-router';

/** A CcrProvider is one entry of ccr's `Providers`: an OpenAI chat endpoint and its models. */
export interface CcrProvider {
  /** Lower case: ccr matches `provider,model` against the lower-cased name. */
  name: string;
  /** The full chat completions URL, as ccr's README wants it. */
  chatUrl: string;
  models: string[];
  /** ccr transformers to apply to every model of this provider (none by default). */
  transformers?: string[];
}

/**
 * ccrConfig is the text of `config.json`: the providers, `Router.default` on the first
 * provider's first model (what a request is routed to unless it names `provider,model`),
 * and logging off, so ccr is measured at its fastest (its default writes debug logs to
 * files under HOME for every request).
 */
export function ccrConfig(port: number, providers: readonly CcrProvider[]): string {
  const first = providers[0];
  if (!first || first.models.length === 0) throw new Error('ccrConfig needs a provider with a model');
  return JSON.stringify(
    {
      PORT: port,
      HOST: '127.0.0.1',
      LOG: false,
      API_TIMEOUT_MS: 600_000,
      Providers: providers.map((p) => ({
        name: p.name,
        api_base_url: p.chatUrl,
        api_key: 'sk-test-bench',
        models: p.models,
        ...(p.transformers?.length ? { transformer: { use: p.transformers } } : {}),
      })),
      Router: { default: `${first.name},${first.models[0]}` },
    },
    null,
    2,
  );
}

/** ccrCli returns the path of the installed `ccr` command and its version, or undefined when not installed. */
export function ccrCli(): { cli: string; version: string } | undefined {
  try {
    const pkgFile = createRequire(import.meta.url).resolve(`${CCR_PACKAGE}/package.json`);
    const pkg = createRequire(import.meta.url)(pkgFile) as { version: string; bin: { ccr: string } };
    return { cli: join(dirname(pkgFile), pkg.bin.ccr), version: pkg.version };
  } catch {
    return undefined;
  }
}

export type CcrStart = { service: Service; version: string } | { skipped: string };

/**
 * startCcr writes the configuration into `home/.claude-code-router/` and runs `ccr start`
 * with HOME pointing there; it resolves once the server answers `GET /`.
 */
export async function startCcr(home: string, providers: readonly CcrProvider[]): Promise<CcrStart> {
  const found = ccrCli();
  if (!found) return { skipped: `${CCR_PACKAGE} is not installed (npm install)` };
  try {
    const dir = join(home, '.claude-code-router');
    await mkdir(dir, { recursive: true });
    const port = await freePort();
    await writeFile(join(dir, 'config.json'), ccrConfig(port, providers));
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, USERPROFILE: home };
    // SERVICE_PORT would override the configured port.
    delete env.SERVICE_PORT;
    const service = await startService('ccr', process.execPath, [found.cli, 'start'], port, '/', 'SIGTERM', env);
    return { service, version: found.version };
  } catch (err) {
    return { skipped: `claude-code-router ${found.version} did not start: ${String(err).split('\n').slice(0, 3).join(' ')}` };
  }
}
