/**
 * Small typed readers used by the validators: each reads one field, reports an error
 * with its path when the type is wrong, and returns a default so validation can go on
 * and report every problem in one pass (the document is refused all the same).
 */
import { formatPath, type PathSegment } from './hujson.js';
import type { Problem, Severity } from './types.js';

export type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** fieldName is the last part of a path: `preference`, or `models[2]` for an array item. */
function fieldName(path: readonly PathSegment[]): string {
  const last = path[path.length - 1];
  if (typeof last !== 'number') return last ?? 'the document';
  return formatPath(path.slice(-2).filter((seg, i) => i === 1 || typeof seg === 'string'));
}

export class Checker {
  readonly problems: Problem[] = [];

  report(severity: Severity, path: readonly PathSegment[], message: string): void {
    this.problems.push({ severity, path: formatPath(path), message });
  }
  warn(path: readonly PathSegment[], message: string): void {
    this.report('warning', path, message);
  }
  error(path: readonly PathSegment[], message: string): void {
    this.report('error', path, message);
  }
  info(path: readonly PathSegment[], message: string): void {
    this.report('info', path, message);
  }

  /** unknownKeys warns about every key of `obj` that `known` does not list. */
  unknownKeys(obj: Obj, known: ReadonlySet<string>, path: readonly PathSegment[]): void {
    for (const key of Object.keys(obj)) {
      if (!known.has(key)) this.warn([...path, key], `unknown config key "${key}"`);
    }
  }

  // A value of the wrong type cannot be used, and using the default instead would drop it
  // silently: an error. The message names the field, not the whole path: every place that
  // shows a problem puts its path in front already.
  private mismatch(path: readonly PathSegment[], want: string, got: unknown): void {
    this.error(path, `${fieldName(path)} must be ${want}, not ${typeName(got)}`);
  }

  string(obj: Obj, key: string, path: readonly PathSegment[], fallback = ''): string {
    const v = obj[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'string') return v;
    this.mismatch([...path, key], 'a string', v);
    return fallback;
  }

  boolean(obj: Obj, key: string, path: readonly PathSegment[], fallback: boolean): boolean {
    const v = obj[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'boolean') return v;
    this.mismatch([...path, key], 'true or false', v);
    return fallback;
  }

  integer(obj: Obj, key: string, path: readonly PathSegment[], fallback: number): number {
    const v = obj[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    this.mismatch([...path, key], 'a whole number', v);
    return fallback;
  }

  number(obj: Obj, key: string, path: readonly PathSegment[], fallback: number): number {
    const v = obj[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    this.mismatch([...path, key], 'a number', v);
    return fallback;
  }

  stringArray(obj: Obj, key: string, path: readonly PathSegment[]): string[] {
    const v = obj[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.mismatch([...path, key], 'an array of strings', v);
      return [];
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      if (typeof item === 'string') out.push(item);
      else this.mismatch([...path, key, i], 'a string', item);
    });
    return out;
  }

  object(obj: Obj, key: string, path: readonly PathSegment[]): Obj | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (isObject(v)) return v;
    this.mismatch([...path, key], 'an object', v);
    return undefined;
  }

  array(obj: Obj, key: string, path: readonly PathSegment[]): unknown[] | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v)) return v;
    this.mismatch([...path, key], 'an array', v);
    return undefined;
  }
}

// RFC 9110 token characters: what a header name may contain.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Field values must not contain CR, LF or NUL (header injection).
const HEADER_VALUE_BAD = /[\r\n\0]/;

/** parseHeaderEntry splits `"Header-Name: value"`, or returns undefined when malformed. */
export function parseHeaderEntry(entry: string): [string, string] | undefined {
  const colon = entry.indexOf(':');
  if (colon <= 0) return undefined;
  const name = entry.slice(0, colon).trim();
  const value = entry.slice(colon + 1).trim();
  if (!HEADER_NAME.test(name) || HEADER_VALUE_BAD.test(value)) return undefined;
  return [name, value];
}

/** isHttpUrl: an http(s) URL with a host and no credentials, query or fragment (a base URL). */
export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && u.username === '' && u.password === '' && u.search === '' && u.hash === '';
  } catch {
    return false;
  }
}
