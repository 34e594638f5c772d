/** Button: the one button style. `disabledReason` keeps it focusable and explains why it is off. */
import { useId, type ButtonHTMLAttributes } from 'react';

export type ButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & {
  variant?: 'primary' | 'secondary' | 'danger' | 'ghost';
  size?: 'normal' | 'small';
  /** When set, the button is disabled (aria-disabled, still focusable) with this tooltip. */
  disabledReason?: string;
};

export default function Button({ variant = 'secondary', size = 'normal', disabledReason, className, onClick, type, ...rest }: ButtonProps) {
  const tipId = useId();
  const classes = `btn btn-${variant}${size === 'small' ? ' btn-small' : ''}${className ? ` ${className}` : ''}`;
  if (disabledReason === undefined) return <button type={type ?? 'button'} className={classes} onClick={onClick} {...rest} />;
  return (
    <span className="tooltip-host">
      <button
        type={type ?? 'button'}
        className={classes}
        aria-disabled="true"
        aria-describedby={tipId}
        title={disabledReason}
        onClick={(e) => e.preventDefault()}
        {...rest}
      />
      <span role="tooltip" id={tipId} className="tooltip">
        {disabledReason}
      </span>
    </span>
  );
}
