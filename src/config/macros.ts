/**
 * `${VAR}` environment macros in string values. Substitution happens after parsing, on
 * values only, so a macro can never change the document's structure.
 */

const MACRO = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * substituteMacros returns a copy of `value` with every `${VAR}` in a string replaced
 * from `env`, and the names that `env` does not define. With `env` undefined (the
 * browser) strings are left as they are and nothing is reported.
 */
export function substituteMacros(value: unknown, env: Env | undefined): { value: unknown; missing: string[] } {
  const missing = new Set<string>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      if (env === undefined || !v.includes('${')) return v;
      return v.replace(MACRO, (whole, name: string) => {
        const found = env[name];
        if (found === undefined) {
          missing.add(name);
          return whole;
        }
        return found;
      });
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, inner] of Object.entries(v)) {
        Object.defineProperty(out, k, { value: walk(inner), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return v;
  };
  const out = walk(value);
  return { value: out, missing: [...missing].sort() };
}
