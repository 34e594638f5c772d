/** Field: a labelled form control with optional help and a problem message. */
import { cloneElement, useId, type ReactElement, type ReactNode } from 'react';

interface ControlProps {
  id?: string;
  'aria-describedby'?: string;
  'aria-invalid'?: boolean;
}

export default function Field({ label, help, problem, children }: { label: ReactNode; help?: ReactNode; problem?: ReactNode; children: ReactElement<ControlProps> }) {
  const id = useId();
  const helpId = `${id}-help`;
  const problemId = `${id}-problem`;
  const describedBy = [help ? helpId : '', problem ? problemId : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {cloneElement(children, { id, 'aria-describedby': describedBy, 'aria-invalid': problem ? true : undefined })}
      {help && (
        <p className="help" id={helpId}>
          {help}
        </p>
      )}
      {problem && (
        <p className="problem" id={problemId}>
          {problem}
        </p>
      )}
    </div>
  );
}
