/**
 * Which Vertex AI format a path is, and how its upstream path is built (see vertex-path.ts):
 * full paths by publisher (`google` → google_generate_content, `anthropic` →
 * google_raw_predict), short express-mode paths → Gemini CLI's compatibility format.
 */
import { stripVertexRejectedFields, geminiCliVertex } from './gemini-cli-vertex.js';
import type { RouteMatch } from './types.js';
import { VERTEX_ANTHROPIC_METHODS, VERTEX_COUNT_TOKENS_MODEL, vertexAnthropic } from './vertex-anthropic.js';
import { VERTEX_GOOGLE_METHODS, vertexGemini } from './vertex-gemini.js';
import { parseVertexPath, vertexUpstreamPath } from './vertex-path.js';

/** matchVertexRoute returns what a Vertex path means, or undefined when it is not one keyway serves. */
export function matchVertexRoute(pathname: string): RouteMatch | undefined {
  const p = parseVertexPath(pathname);
  if (!p) return undefined;
  if (p.publisher === 'google' && VERTEX_GOOGLE_METHODS.has(p.method)) {
    const shortForm = p.project === undefined;
    return {
      format: shortForm ? geminiCliVertex : vertexGemini,
      upstreamPath: pathname,
      urlModel: p.model,
      urlStreams: p.method === 'streamGenerateContent',
      upstreamPathFor: (provider, model) => vertexUpstreamPath(p, provider, model),
      rewriteBody: shortForm ? stripVertexRejectedFields : undefined,
    };
  }
  if (p.publisher === 'anthropic' && p.project !== undefined && VERTEX_ANTHROPIC_METHODS.has(p.method)) {
    // Claude's token counter names the model in the body; its URL keeps `count-tokens`.
    const counting = p.model === VERTEX_COUNT_TOKENS_MODEL && p.method === 'rawPredict';
    return {
      format: vertexAnthropic,
      upstreamPath: pathname,
      urlModel: counting ? undefined : p.model,
      urlStreams: p.method === 'streamRawPredict',
      upstreamPathFor: (provider, model) => vertexUpstreamPath(p, provider, counting ? VERTEX_COUNT_TOKENS_MODEL : model),
    };
  }
  return undefined;
}
