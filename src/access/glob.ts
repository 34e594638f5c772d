/**
 * Grant globs over `provider/model` names: `*` matches within one segment, `**` as a
 * whole segment matches any number of segments (zero included). Compiled once per
 * configuration snapshot, never per request.
 */

export type ModelMatcher = (fqn: string) => boolean;

export function compileModelGlob(pattern: string): ModelMatcher {
  if (pattern === '**') return () => true;
  if (!pattern.includes('*')) return (fqn) => fqn === pattern;
  const segments = pattern.split('/');
  let source = '^';
  segments.forEach((seg, i) => {
    if (seg === '**') {
      // Zero or more whole segments, keeping the separators balanced.
      source += i === 0 ? '(?:[^/]+/)*' : '(?:/[^/]+)*';
      return;
    }
    const sep = i === 0 || segments[i - 1] === '**' && i === 1 ? '' : '/';
    source += sep + seg.split('*').map(escapeRegExp).join('[^/]*');
  });
  source += '$';
  const re = new RegExp(source);
  return (fqn) => re.test(fqn);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
