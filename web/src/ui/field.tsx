/**
 * Field: a labelled form control with optional help, a problem (an error: the control is
 * marked invalid and shown in red) and a note (a warning or information: it never marks
 * the control invalid, because keyway accepts it).
 */
import { cloneElement, useId, type ReactElement, type ReactNode } from 'react';

interface ControlProps {
  id?: string;
  'aria-describedby'?: string;
  'aria-invalid'?: boolean;
}

interface Props {
  label: ReactNode;
  help?: ReactNode;
  problem?: ReactNode;
  note?: ReactNode;
  children: ReactElement<ControlProps>;
}

export default function Field({ label, help, problem, note, children }: Props) {
  const id = useId();
  const helpId = `${id}-help`;
  const problemId = `${id}-problem`;
  const noteId = `${id}-note`;
  const describedBy = [help ? helpId : '', problem ? problemId : '', note ? noteId : ''].filter(Boolean).join(' ') || undefined;
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
      {note && (
        <p className="field-note" id={noteId}>
          {note}
        </p>
      )}
    </div>
  );
}
