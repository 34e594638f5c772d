/**
 * Secrets in configuration text. Reads by admins show secret values masked; a masked
 * value written back means "keep what is stored", so an admin can edit and save a config
 * without ever seeing or retyping its keys. Works on the text with jsonc-parser edits,
 * so comments and formatting survive.
 */
import { applyEdits, createScanner, findNodeAtLocation, parseTree, SyntaxKind, type Node } from 'jsonc-parser';
import { formatPath, nestingTooDeepAt, type PathSegment } from './hujson.js';

export const SECRET_MASK = '********';

/** Property names whose string values are secrets, wherever they appear in the document. */
const SECRET_KEYS = new Set(['apikey', 'api_key', 'access_secret', 'client_secret', 'secret', 'password', 'token', 'bearer_token']);

// A value that is only a `${VAR}` macro holds no secret: the secret lives in the environment.
const ONLY_MACRO = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;

interface SecretValue {
  path: PathSegment[];
  node: Node;
  value: string;
}

function findSecrets(root: Node | undefined): SecretValue[] {
  const out: SecretValue[] = [];
  const walk = (node: Node, path: PathSegment[]) => {
    if (node.type === 'object') {
      for (const prop of node.children ?? []) {
        const [key, value] = prop.children ?? [];
        if (!key || !value) continue;
        const name = String(key.value);
        if (value.type === 'string' && SECRET_KEYS.has(name.toLowerCase())) {
          out.push({ path: [...path, name], node: value, value: String(value.value) });
        } else {
          walk(value, [...path, name]);
        }
      }
    } else if (node.type === 'array') {
      (node.children ?? []).forEach((child, i) => walk(child, [...path, i]));
    }
  };
  if (root) walk(root, []);
  return out;
}

function parse(text: string): Node | undefined {
  // parseTree recurses per level; a document that nests too deeply holds no secrets keyway
  // could restore, and the validator rejects it.
  if (nestingTooDeepAt(text) !== undefined) return undefined;
  return parseTree(text, [], { allowTrailingComma: true, disallowComments: false });
}

/**
 * maskSecrets replaces every literal secret value in `text` with SECRET_MASK. It reads
 * tokens rather than a tree (a string, a colon, a string is a secret when the first names
 * one), so a document of any depth, even one the validator refuses, is masked.
 */
export function maskSecrets(text: string): string {
  const edits: Array<{ offset: number; length: number; content: string }> = [];
  const scanner = createScanner(text, true);
  // The last two tokens before the current one; SyntaxKind values (a const enum the browser build cannot inline).
  let key: string | undefined;
  let colon = false;
  for (let token = scanner.scan(); token !== 17 /* EOF */; token = scanner.scan()) {
    if (token === 10 /* StringLiteral */ && colon && key !== undefined && SECRET_KEYS.has(key.toLowerCase())) {
      const value = scanner.getTokenValue();
      if (value !== '' && !ONLY_MACRO.test(value)) edits.push({ offset: scanner.getTokenOffset(), length: scanner.getTokenLength(), content: JSON.stringify(SECRET_MASK) });
    }
    const wasString = token === 10;
    colon = token === 6 /* ColonToken */ && key !== undefined;
    if (!colon) key = wasString ? scanner.getTokenValue() : undefined;
  }
  return applyEdits(text, edits);
}

/**
 * restoreSecrets puts the stored secret back wherever `text` holds SECRET_MASK at a path
 * that held a secret in `stored`. It returns the paths of masks with nothing stored
 * behind them, which the caller reports (the admin must type that secret).
 */
export function restoreSecrets(text: string, stored: string | undefined): { text: string; unresolved: string[] } {
  const storedRoot = stored === undefined ? undefined : parse(stored);
  const edits: Array<{ offset: number; length: number; content: string }> = [];
  const unresolved: string[] = [];
  for (const s of findSecrets(parse(text))) {
    if (s.value !== SECRET_MASK) continue;
    const previous = storedRoot ? findNodeAtLocation(storedRoot, s.path) : undefined;
    if (previous && previous.type === 'string' && previous.value !== SECRET_MASK) {
      edits.push({ offset: s.node.offset, length: s.node.length, content: JSON.stringify(previous.value) });
    } else {
      unresolved.push(formatPath(s.path));
    }
  }
  return { text: applyEdits(text, edits), unresolved };
}

const SKIPPED = new Set([SyntaxKind.Trivia, SyntaxKind.LineBreakTrivia, SyntaxKind.LineCommentTrivia, SyntaxKind.BlockCommentTrivia]);
const SECRET_VALUE_TOKENS = new Set([SyntaxKind.StringLiteral, SyntaxKind.Unknown, SyntaxKind.NumericLiteral]);

/**
 * maskSecretsLoosely masks secrets in text that may not parse (a refused file): it works on
 * tokens, not on the tree, so a value after a secret's key is masked even when a colon,
 * a quote or a brace around it is missing.
 */
export function maskSecretsLoosely(text: string): string {
  const scanner = createScanner(text, false);
  const edits: Array<{ offset: number; length: number; content: string }> = [];
  const next = (): SyntaxKind => {
    let kind = scanner.scan();
    while (SKIPPED.has(kind)) kind = scanner.scan();
    return kind;
  };
  let kind = next();
  while (kind !== SyntaxKind.EOF) {
    if (kind === SyntaxKind.StringLiteral && SECRET_KEYS.has(scanner.getTokenValue().toLowerCase())) {
      kind = next();
      if (kind === SyntaxKind.ColonToken) kind = next();
      // Anything else (an object, `true`, a comma) is looked at again as the next token.
      if (!SECRET_VALUE_TOKENS.has(kind)) continue;
      const value = scanner.getTokenValue();
      if (value !== '' && !ONLY_MACRO.test(value)) {
        edits.push({ offset: scanner.getTokenOffset(), length: scanner.getTokenLength(), content: JSON.stringify(SECRET_MASK) });
      }
    }
    kind = next();
  }
  return applyEdits(text, edits);
}
