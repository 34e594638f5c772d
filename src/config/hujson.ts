/**
 * HuJSON (JSON with comments and trailing commas) parsing that keeps what a strict
 * JSON.parse throws away: the position of every syntax error and every duplicated key.
 * Pure and dependency-light so the dashboard can run the very same code in the browser.
 */
import { parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';

export type PathSegment = string | number;

/** A problem found while reading the text itself, before any schema checks. */
export interface SyntaxProblem {
  message: string;
  path: PathSegment[];
  line: number;
  column: number;
  severity: 'error';
}

export interface ParsedHujson {
  value: unknown;
  problems: SyntaxProblem[];
  /** The parse tree, to find where a path is in the text (locate.ts). */
  tree: Node | undefined;
}

/** parseHujson parses HuJSON text; `value` is undefined when the text has syntax errors. */
export function parseHujson(text: string): ParsedHujson {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: true });
  const problems: SyntaxProblem[] = errors.map((e) => ({
    message: `syntax error: ${describeParseError(printParseErrorCode(e.error))}`,
    path: [],
    ...lineColumn(text, e.offset),
    severity: 'error' as const,
  }));
  if (problems.length > 0 || root === undefined) {
    return { value: undefined, problems, tree: root };
  }
  const value = toValue(root, [], text, problems);
  return { value, problems, tree: root };
}

function toValue(node: Node, path: PathSegment[], text: string, problems: SyntaxProblem[]): unknown {
  switch (node.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const seen = new Set<string>();
      for (const prop of node.children ?? []) {
        const [keyNode, valueNode] = prop.children ?? [];
        if (!keyNode || !valueNode) continue;
        const key = String(keyNode.value);
        if (seen.has(key)) {
          // An error, not a warning: the earlier value would be silently dropped.
          problems.push({
            message: `duplicate config key "${key}"`,
            path: [...path, key],
            ...lineColumn(text, keyNode.offset),
            severity: 'error',
          });
        }
        seen.add(key);
        // Object.defineProperty keeps "__proto__" an ordinary key instead of a prototype swap.
        Object.defineProperty(out, key, {
          value: toValue(valueNode, [...path, key], text, problems),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    case 'array':
      return (node.children ?? []).map((child, i) => toValue(child, [...path, i], text, problems));
    default:
      return node.value;
  }
}

/** lineColumn converts a character offset into 1-based line and column numbers. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function describeParseError(code: string): string {
  // jsonc-parser names errors in CamelCase ("CommaExpected"); make them read like prose.
  return code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/** formatPath renders a path as `providers.anthropic.models[2]` (quoting keys that need it). */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
