/**
 * Vertex AI request paths, read and rebuilt by hand (no regular expression per request):
 *
 *   /{v1|v1beta1}/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}:{method}
 *   /{v1|v1beta1}/publishers/{publisher}/models/{model}:{method}      (the short form of Vertex
 *                                                                     express mode, Gemini CLI)
 *
 * Every segment is percent-decoded, checked, and encoded again when the upstream path is
 * built, so no segment can leave its place in the path. Clients that cannot know the
 * project (Claude Code, the Aperture CLI) send the literal placeholders below; keyway
 * fills the project from the provider's keyfile and the region with `global`.
 */
import type { CompiledProvider } from '../config/snapshot.js';
import { GatewayError } from '../errors.js';

export const VERTEX_PROJECT_PLACEHOLDER = '_aperture_auto_vertex_project_id_';
export const VERTEX_REGION_PLACEHOLDER = '_aperture_auto_vertex_region_';
/** What the region placeholder becomes: Vertex's global endpoint, as Aperture's docs use. */
export const VERTEX_DEFAULT_REGION = 'global';

export interface VertexPath {
  version: 'v1' | 'v1beta1';
  /** Decoded project segment; undefined in the short form. */
  project: string | undefined;
  /** Decoded location segment; undefined in the short form. */
  location: string | undefined;
  /** `google` or `anthropic` (others are not matched). */
  publisher: string;
  /** Decoded model segment; '' when it could not be decoded (rejected as a bad model name). */
  model: string;
  method: string;
}

/**
 * parseVertexPath reads a Vertex path, or returns undefined when `pathname` is not one.
 * A project or location segment keyway will not forward fails with BAD_PATH_SEGMENT.
 */
export function parseVertexPath(pathname: string): VertexPath | undefined {
  let version: VertexPath['version'];
  let rest: string;
  if (pathname.startsWith('/v1/')) {
    version = 'v1';
    rest = pathname.slice(4);
  } else if (pathname.startsWith('/v1beta1/')) {
    version = 'v1beta1';
    rest = pathname.slice(9);
  } else {
    return undefined;
  }
  // Most /v1/ paths are other APIs (chat completions, models): leave before splitting.
  if (!rest.startsWith('projects/') && !rest.startsWith('publishers/')) return undefined;
  const parts = rest.split('/');
  let project: string | undefined;
  let location: string | undefined;
  let at: number;
  if (parts[0] === 'projects') {
    if (parts.length < 8 || parts[2] !== 'locations' || parts[4] !== 'publishers' || parts[6] !== 'models') return undefined;
    project = checkedSegment(parts[1]!, 'project');
    location = checkedSegment(parts[3]!, 'location');
    at = 4;
  } else if (parts[0] === 'publishers') {
    if (parts.length < 4 || parts[2] !== 'models') return undefined;
    at = 0;
  } else {
    return undefined;
  }
  // The model may be provider-prefixed (`vertex/claude-…`), with its slash raw or encoded;
  // upstream it becomes one encoded segment again.
  const last = parts.length === at + 4 ? parts[at + 3]! : parts.slice(at + 3).join('/');
  const colon = last.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const rawModel = last.slice(0, colon);
  let model = rawModel;
  if (rawModel.includes('%')) {
    try {
      model = decodeURIComponent(rawModel);
    } catch {
      model = '';
    }
  }
  return { version, project, location, publisher: parts[at + 1]!, model, method: last.slice(colon + 1) };
}

/**
 * vertexUpstreamPath builds the path sent to `provider` for `model`: the project
 * placeholder (or the short form's missing project) becomes the keyfile's `project_id`,
 * the region placeholder becomes `global`, and each segment is encoded. It fails with
 * NO_VERTEX_PROJECT when the project is needed and the provider has no keyfile project.
 */
export function vertexUpstreamPath(p: VertexPath, provider: CompiledProvider, model: string): string {
  let project = p.project;
  if (project === undefined || project === VERTEX_PROJECT_PLACEHOLDER) {
    project = provider.spec.keyfile?.projectId;
    if (project === undefined) {
      const asked = p.project === undefined ? 'a short Vertex path (no /projects/…/locations/… part)' : `the placeholder ${VERTEX_PROJECT_PLACEHOLDER}`;
      throw new GatewayError(
        'NO_VERTEX_PROJECT',
        `the request uses ${asked}, but provider ${provider.id} has no keyfile project_id to fill it with; give the provider a keyfile:: apikey whose keyfile has project_id, or name the project in the path`,
      );
    }
  }
  const location = p.location === undefined || p.location === VERTEX_REGION_PLACEHOLDER ? VERTEX_DEFAULT_REGION : p.location;
  return `/${p.version}/projects/${encodeSegment(project)}/locations/${encodeSegment(location)}/publishers/${p.publisher}/models/${encodeSegment(model)}:${p.method}`;
}

/**
 * encodeSegment percent-encodes one path segment, keeping `@` (a legal segment character,
 * RFC 3986 §3.3), which Vertex model versions use: `claude-sonnet-4-5@20250929`.
 */
export function encodeSegment(s: string): string {
  return encodeURIComponent(s).replaceAll('%40', '@');
}

function checkedSegment(raw: string, what: 'project' | 'location'): string {
  let s: string | undefined = raw;
  if (raw.includes('%')) {
    try {
      s = decodeURIComponent(raw);
    } catch {
      s = undefined;
    }
  }
  if (s === undefined || !isPlainSegment(s)) {
    throw new GatewayError('BAD_PATH_SEGMENT', `the ${what} segment of the Vertex path is not valid: it must be a non-empty name without "/", control characters or dot segments`);
  }
  return s;
}

/** isPlainSegment accepts what a Vertex project or location name can be, and nothing that bends a path. */
function isPlainSegment(s: string): boolean {
  if (s === '' || s.length > 256 || s === '.' || s === '..') return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x2f /* / */ || c === 0x5c /* \ */) return false;
  }
  return true;
}

/**
 * fillVertexPlaceholders replaces the project and region placeholder segments in any path
 * (a `/direct` call to a Vertex provider: embeddings, batch jobs, …) when the provider's
 * keyfile names its project; every other byte of the path stays as sent.
 */
export function fillVertexPlaceholders(path: string, provider: CompiledProvider): string {
  const project = provider.spec.keyfile?.projectId;
  if (project === undefined || !path.includes('/projects/')) return path;
  return path
    .replaceAll(`/projects/${VERTEX_PROJECT_PLACEHOLDER}/`, `/projects/${encodeSegment(project)}/`)
    .replaceAll(`/locations/${VERTEX_REGION_PLACEHOLDER}/`, `/locations/${VERTEX_DEFAULT_REGION}/`);
}
