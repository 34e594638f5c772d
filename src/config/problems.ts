/**
 * One verdict for a configuration, whoever asks: `error` blocks everywhere (start, file
 * reload and SIGHUP, `PUT /api/config`, validate, `keyway check`); `warning` and `info`
 * never block anything and never drop anything. Every caller decides with `blocking` and
 * prints with `formatProblem`, so the same document gets the same answer and the same
 * lines on the terminal, in the log and in the dashboard.
 */
import type { Problem } from './types.js';

/** blocking returns the problems that stop a document from being used: its errors. */
export function blocking(problems: readonly Problem[]): Problem[] {
  return problems.filter((p) => p.severity === 'error');
}

/**
 * formatProblem renders one problem the way compilers do:
 * `config.hujson:12:7: error: providers.openai.auth_mode: provider openai has invalid auth_mode: …`.
 * Problems with no place in the text (an unset macro) name the file alone.
 */
export function formatProblem(file: string, p: Problem): string {
  const where = p.line !== undefined ? `${file}:${p.line}:${p.column ?? 1}` : file;
  return `${where}: ${p.severity}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/** summarize is the one-line reason a document was refused: its first error and how many more. */
export function summarize(problems: readonly Problem[]): string {
  const errors = blocking(problems);
  const first = errors[0];
  if (!first) return 'configuration is not valid';
  const head = first.path ? `${first.path}: ${first.message}` : first.message;
  return errors.length === 1 ? `configuration is not valid: ${head}` : `configuration is not valid: ${head} (and ${errors.length - 1} more)`;
}

/** countBySeverity counts errors, warnings and notes, for summaries. */
export function countBySeverity(problems: readonly Problem[]): { error: number; warning: number; info: number } {
  const out = { error: 0, warning: 0, info: 0 };
  for (const p of problems) out[p.severity]++;
  return out;
}
