/**
 * ProblemList shows validation problems with severity, path and message; a click on a path
 * can reveal it. SaveRefused and FormProblems wrap it with words that match the effect:
 * errors are what keyway refuses, warnings and notes never stop anything.
 */
import type { Problem } from '../hooks/config';
import Badge from './badge';

const TONE = { error: 'danger', warning: 'warning', info: 'info' } as const;

export default function ProblemList({ problems, onReveal }: { problems: readonly Problem[]; onReveal?: (p: Problem) => void }) {
  return (
    <ul className="problems" data-testid="problems">
      {problems.map((p, i) => (
        <li key={`${p.path}-${i}`}>
          {/* The same word as keyway check and the log print. */}
          <Badge tone={TONE[p.severity]}>{p.severity}</Badge>
          <span>
            {p.path &&
              (onReveal ? (
                <button type="button" className="row-button path" onClick={() => onReveal(p)}>
                  {p.path}
                </button>
              ) : (
                <span className="path">{p.path}</span>
              ))}
            {p.path ? ': ' : ''}
            {p.message}
            {p.line !== undefined && <span className="muted small"> (line {p.line})</span>}
          </span>
        </li>
      ))}
    </ul>
  );
}

/**
 * SaveRefused: keyway answered a save with 400. It lists keyway's errors (each once: the
 * one-line summary is only shown when there is no list), leaving out `shown`, problems the
 * screen lists already.
 */
export function SaveRefused({ message, problems, shown = [], onReveal }: { message: string; problems: readonly Problem[]; shown?: readonly Problem[]; onReveal?: (p: Problem) => void }) {
  const same = (a: Problem, b: Problem) => a.path === b.path && a.message === b.message;
  const errors = problems.filter((p) => p.severity === 'error');
  const fresh = errors.filter((p) => !shown.some((s) => same(s, p)));
  return (
    <div className="notice notice-danger" role="alert" data-testid="save-rejected">
      <p>
        <strong>keyway refused the save; the running configuration was not changed.</strong>{' '}
        {errors.length === 0 ? message : fresh.length === 0 ? 'Fix the errors listed under Problems.' : null}
      </p>
      {fresh.length > 0 && <ProblemList problems={fresh} onReveal={onReveal} />}
    </div>
  );
}

/** FormProblems: what the validator says about a form's draft, errors apart from the rest. */
export function FormProblems({ problems, what }: { problems: readonly Problem[]; what: string }) {
  const errors = problems.filter((p) => p.severity === 'error');
  const notes = problems.filter((p) => p.severity !== 'error');
  if (problems.length === 0) return null;
  return (
    <>
      {errors.length > 0 && (
        <div className="notice notice-danger" data-testid="form-problems">
          <p>
            <strong>keyway will refuse {what} until these are fixed:</strong>
          </p>
          <ProblemList problems={errors} />
        </div>
      )}
      {notes.length > 0 && (
        <div className="notice" data-testid="form-notes">
          <p>keyway will accept {what}; note:</p>
          <ProblemList problems={notes} />
        </div>
      )}
    </>
  );
}
