/**
 * Where a problem sits in the configuration text. Validation reports problems by path
 * (`providers.anthropic.models[2]`, `grants[0].app["tailscale.com/cap/aperture"][1].models`);
 * the terminal, the log and the editor want a line and column. A path that does not exist
 * in the text (a missing `baseurl`) points at its nearest existing parent (the provider).
 * Pure, so the dashboard editor uses the same code.
 */
import { findNodeAtLocation, type Node } from 'jsonc-parser';
import type { PathSegment } from './hujson.js';

/** parsePath reads a path as formatPath writes it. */
export function parsePath(path: string): PathSegment[] {
  const out: PathSegment[] = [];
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

/**
 * nearestNode finds the node a path names, or its nearest existing parent. For an object
 * property it returns the property node (key and value), so a problem points at the key.
 */
export function nearestNode(tree: Node, path: string): Node | undefined {
  const segments = parsePath(path);
  for (let n = segments.length; n >= 0; n--) {
    const node = findNodeAtLocation(tree, segments.slice(0, n));
    if (node) return node.parent?.type === 'property' ? node.parent : node;
  }
  return undefined;
}

/** LineIndex converts offsets into 1-based line and column numbers, finding lines by binary search. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }

  at(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }
}
