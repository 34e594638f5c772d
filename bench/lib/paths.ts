/**
 * Where things are at run time. The suite runs from `build/bench/`, so every path is
 * derived from this file's compiled location (`build/bench/lib/paths.js`).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** BUILD_DIR is the compiled output root (`build/`). */
export const BUILD_DIR = fileURLToPath(new URL('../../', import.meta.url));

/** REPO_DIR is the repository root (the folder holding package.json). */
export const REPO_DIR = join(BUILD_DIR, '..');

/** KEYWAY_CLI is the compiled `keyway` command (serve, mock-upstream). */
export const KEYWAY_CLI = join(BUILD_DIR, 'src', 'cli.js');

/** RESULTS_DIR holds latest.json and latest.md (git-ignored). */
export const RESULTS_DIR = join(REPO_DIR, 'bench', 'results');

/** clientScript returns the compiled path of a measuring client in `bench/clients/`. */
export function clientScript(name: string): string {
  return join(BUILD_DIR, 'bench', 'clients', `${name}.js`);
}
