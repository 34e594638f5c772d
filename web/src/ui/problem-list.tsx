/** ProblemList shows validation problems with severity, path and message; a click on a path can reveal it. */
import type { Problem } from '../hooks/config';
import Badge from './badge';

const TONE = { error: 'danger', warning: 'warning', info: 'info' } as const;

export default function ProblemList({ problems, onReveal }: { problems: readonly Problem[]; onReveal?: (p: Problem) => void }) {
  return (
    <ul className="problems" data-testid="problems">
      {problems.map((p, i) => (
        <li key={`${p.path}-${i}`}>
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
