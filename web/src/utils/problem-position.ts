/**
 * Where a validation problem sits in the text, for the editor. Syntax errors come with a
 * line and column; every other problem has a path (`providers.anthropic.models[2]`,
 * `grants[0].app["tailscale.com/cap/aperture"][1].models`), found in the parse tree by the
 * server's own code (src/config/locate.ts). A path that no longer exists points at its
 * nearest existing parent.
 */
import { parseTree, type Node } from 'jsonc-parser';
import { nearestNode } from '../../../src/config/locate.js';
import type { Problem } from '../hooks/config';

/**
 * problemRange returns the character range a problem points at (0-based, end exclusive):
 * the property its path names when the text has it (every problem carries a line too, but
 * the path underlines the whole key and value), else its line and column.
 */
export function problemRange(text: string, problem: Problem, tree: Node | undefined = parseTree(text, [], { allowTrailingComma: true })): { from: number; to: number } {
  const target = tree && problem.path ? nearestNode(tree, problem.path) : undefined;
  if (target && (target !== tree || problem.line === undefined)) {
    // For a property, underline its key and value; for a whole object, only its first line.
    const value = target.type === 'property' ? target.children?.[1] : target;
    const to = value && (value.type === 'object' || value.type === 'array') ? Math.min(target.offset + target.length, lineEnd(text, target.offset)) : target.offset + target.length;
    return { from: target.offset, to: Math.max(to, target.offset + 1) };
  }
  if (problem.line !== undefined) {
    const from = offsetOf(text, problem.line, problem.column ?? 1);
    return { from, to: Math.min(text.length, from + 1) };
  }
  return { from: 0, to: 0 };
}

function offsetOf(text: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  return Math.min(text.length, offset + column - 1);
}

function lineEnd(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  return nl < 0 ? text.length : nl;
}
