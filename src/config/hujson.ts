/**
 * HuJSON (JSON with comments and trailing commas) parsing that keeps what a strict
 * JSON.parse throws away: the position of every syntax error and every duplicated key.
 * Pure and dependency-light so the dashboard can run the very same code in the browser.
 */
import { createScanner, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';

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

/**
 * MAX_DEPTH bounds how deeply objects and arrays may nest. The parser and the validators
 * recurse once per level, so a document nested tens of thousands of levels deep would
 * overflow the stack (a 500 on save, a frozen editor in the browser); a real configuration
 * nests about eight levels.
 */
export const MAX_DEPTH = 100;

/** parseHujson parses HuJSON text; `value` is undefined when the text has syntax errors or nests too deeply. */
export function parseHujson(text: string): ParsedHujson {
  const deep = nestingTooDeepAt(text);
  if (deep !== undefined) {
    return {
      value: undefined,
      problems: [{ message: `configuration nests objects and arrays more than ${MAX_DEPTH} levels deep`, path: [], ...lineColumn(text, deep), severity: 'error' }],
      tree: undefined,
    };
  }
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

/**
 * nestingTooDeepAt returns the offset of the first `{` or `[` that opens level
 * MAX_DEPTH + 1, or undefined. It reads tokens (skipping strings and comments) without
 * recursion; run it before anything that walks the text as a tree.
 */
export function nestingTooDeepAt(text: string): number | undefined {
  const scanner = createScanner(text, true);
  let depth = 0;
  // SyntaxKind is a const enum, which the browser build cannot inline: its values here.
  for (let token = scanner.scan(); token !== 17 /* EOF */; token = scanner.scan()) {
    if (token === 1 /* OpenBraceToken */ || token === 3 /* OpenBracketToken */) {
      if (++depth > MAX_DEPTH) return scanner.getTokenOffset();
    } else if (token === 2 /* CloseBraceToken */ || token === 4 /* CloseBracketToken */) {
      depth--;
    }
  }
  return undefined;
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
