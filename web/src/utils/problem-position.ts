/**
 * Where a validation problem sits in the text. Syntax errors come with a line and column;
 * every other problem has a path (`providers.anthropic.models[2]`,
 * `grants[0].app["tailscale.com/cap/aperture"][1].models`), found in the parse tree. A path
 * that no longer exists points at its nearest existing parent.
 */
import { findNodeAtLocation, parseTree, type Node } from 'jsonc-parser';
import type { Problem } from '../hooks/config';

export type Segment = string | number;

/** parsePath reads a path as keyway's formatPath writes it. */
export function parsePath(path: string): Segment[] {
  const out: Segment[] = [];
  let i = 0;
  while (i < path.length) {
    const c = path[i]!;
    if (c === '.') {
      i++;
    } else if (c === '[') {
      if (path[i + 1] === '"') {
        // A JSON string key: find its closing quote, honouring escapes.
        let j = i + 2;
        while (j < path.length && path[j] !== '"') j += path[j] === '\\' ? 2 : 1;
        try {
          out.push(JSON.parse(path.slice(i + 1, j + 1)) as string);
        } catch {
          return out;
        }
        i = j + 2; // past `"]`
      } else {
        const j = path.indexOf(']', i);
        if (j < 0) return out;
        out.push(Number(path.slice(i + 1, j)));
        i = j + 1;
      }
    } else {
      let j = i;
      while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
      out.push(path.slice(i, j));
      i = j;
    }
  }
  return out;
}

/** problemRange returns the character range a problem points at (0-based, end exclusive). */
export function problemRange(text: string, problem: Problem, tree: Node | undefined = parseTree(text, [], { allowTrailingComma: true })): { from: number; to: number } {
  if (problem.line !== undefined) {
    const from = offsetOf(text, problem.line, problem.column ?? 1);
    return { from, to: Math.min(text.length, from + 1) };
  }
  if (!tree || !problem.path) return { from: 0, to: 0 };
  const segments = parsePath(problem.path);
  for (let n = segments.length; n >= 0; n--) {
    const node = findNodeAtLocation(tree, segments.slice(0, n));
    if (!node) continue;
    // For a property, underline its key and value; for a whole object, only its first line.
    const target = node.parent?.type === 'property' ? node.parent : node;
    const to = node.type === 'object' || node.type === 'array' ? Math.min(target.offset + target.length, lineEnd(text, target.offset)) : target.offset + target.length;
    return { from: target.offset, to: Math.max(to, target.offset + 1) };
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
