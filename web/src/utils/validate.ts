/** localProblems runs keyway's own validator in the browser (macros are checked by the server on review). */
import { validateConfigText } from '../../../src/config/validate.js';
import type { Problem } from '../hooks/config';

export function localProblems(text: string): Problem[] {
  return validateConfigText(text).problems;
}
