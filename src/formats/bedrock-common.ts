/**
 * What Amazon Bedrock's two runtime APIs (InvokeModel and Converse) share: the
 * `/bedrock/model/{modelId}/{action}` paths, how a model ID is checked and put back in
 * its path segment, and how errors look (a `{"message": …}` body with the error's type
 * in the `x-amzn-ErrorType` header, or an exception message inside an event stream).
 */
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { isObject, parseObject, string } from './read-json.js';
import type { RouteMatch } from './types.js';

/** The client-facing prefix; upstream, the path starts at `/model/` (Aperture strips `/bedrock`). */
export const BEDROCK_MODEL_PREFIX = '/bedrock/model/';

/**
 * Model IDs (`us.anthropic.claude-sonnet-4-5-20250929-v1:0`) and ARNs of inference
 * profiles or provisioned models (`arn:aws:bedrock:us-east-1:123456789012:inference-profile/…`).
 * Bedrock's own pattern allows these characters; a `/` only inside an ARN, or after a
 * keyway provider ID (`bedrock/us.anthropic…`, which routing resolves and removes).
 */
const MODEL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$/;
const MODEL_ARN = /^arn:aws(?:-[a-z]+)*:bedrock:[a-z0-9-]*:\d{0,12}:[a-z-]+\/[A-Za-z0-9][A-Za-z0-9._:/-]{0,1023}$/;
const PROVIDER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** isBedrockModelId reports whether a decoded model segment is something Bedrock could serve. */
export function isBedrockModelId(id: string): boolean {
  if (isIdOrArn(id)) return true;
  const slash = id.indexOf('/');
  return slash > 0 && PROVIDER_ID.test(id.slice(0, slash)) && isIdOrArn(id.slice(slash + 1));
}

function isIdOrArn(id: string): boolean {
  if (id.startsWith('arn:')) return MODEL_ARN.test(id) && !id.includes('/../') && !id.endsWith('/..') && !id.includes('//');
  return MODEL_ID.test(id);
}

/**
 * matchBedrockPath reads `/bedrock/model/{modelId}/{action}` for the actions of one API
 * (`invoke` and `invoke-with-response-stream`, or `converse` and `converse-stream`).
 * The model ID may arrive with raw `:` (Claude Code, the Anthropic Bedrock SDK) or
 * `%3A` (the AWS SDKs), an ARN's `/` raw or as `%2F`; upstream it is always one
 * percent-encoded segment. An ID that does not decode or is not a Bedrock model ID
 * yields `urlModel: ''`, which the pipeline answers as a bad model name.
 */
export function matchBedrockPath(
  pathname: string,
  format: RouteMatch['format'],
  actions: { plain: string; stream: string },
): RouteMatch | undefined {
  const slash = pathname.lastIndexOf('/');
  const action = pathname.slice(slash + 1);
  if (action !== actions.plain && action !== actions.stream) return undefined;
  const raw = pathname.slice(BEDROCK_MODEL_PREFIX.length, slash);
  if (raw === '') return undefined;
  let model: string;
  try {
    model = decodeURIComponent(raw);
  } catch {
    model = '';
  }
  if (!isBedrockModelId(model)) model = '';
  const withModel = (m: string) => `/model/${encodeURIComponent(m)}/${action}`;
  return { format, upstreamPath: withModel(model), urlModel: model, withModel, urlStreams: action === actions.stream };
}

/** bedrockPath is the client-facing path of an action on a model (for requests keyway makes itself). */
export function bedrockPath(model: string, action: string): string {
  return `${BEDROCK_MODEL_PREFIX}${encodeURIComponent(model)}/${action}`;
}

/** bedrockErrorType names the exception Bedrock answers a status with (`x-amzn-ErrorType`). */
export function bedrockErrorType(status: number): string {
  switch (status) {
    case 400: case 413: return 'ValidationException';
    case 401: return 'UnrecognizedClientException';
    case 403: return 'AccessDeniedException';
    case 404: return 'ResourceNotFoundException';
    case 405: return 'UnknownOperationException';
    case 408: return 'ModelTimeoutException';
    case 429: return 'ThrottlingException';
    case 503: return 'ServiceUnavailableException';
    default: return status < 500 ? 'ValidationException' : 'InternalServerException';
  }
}

/** renderBedrockError is Bedrock's error body; the type travels in a header (bedrockErrorHeaders). */
export function renderBedrockError(_status: number, _code: string, message: string): string {
  return JSON.stringify({ message });
}

export function bedrockErrorHeaders(status: number): Record<string, string> {
  return { 'x-amzn-errortype': bedrockErrorType(status) };
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** Exceptions both stream APIs declare; the SDKs raise them by the name in `:exception-type`. */
function streamExceptionType(status: number): string {
  if (status === 400) return 'validationException';
  if (status === 429) return 'throttlingException';
  if (status === 503) return 'serviceUnavailableException';
  return 'internalServerException';
}

/**
 * renderBedrockStreamError is an event-stream exception message, the way Bedrock itself
 * reports a failure inside a stream that has already begun.
 */
export function renderBedrockStreamError(status: number, _code: string, message: string): Uint8Array {
  return codec.encode({
    headers: {
      ':message-type': { type: 'string', value: 'exception' },
      ':exception-type': { type: 'string', value: streamExceptionType(status) },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: fromUtf8(JSON.stringify({ message })),
  });
}

/** bedrockErrorMessage reads a Bedrock error body (`message`, or `Message` from some services). */
export function bedrockErrorMessage(body: unknown): string | undefined {
  return isObject(body) ? (string(body.message) ?? string(body.Message)) : undefined;
}

/** bedrockStreamError reads an exception message of an event stream (its event name ends in `Exception`). */
export function bedrockStreamError(event: string | undefined, data: string): string | undefined {
  if (event === undefined || (!event.endsWith('Exception') && event !== 'error')) return undefined;
  return bedrockErrorMessage(parseObject(data)) ?? event;
}

/**
 * Query parameters of a presigned (query-string SigV4) request. They are the client's
 * credential: removed outside passthrough like any other, and never recorded. AWS spells
 * them `X-Amz-…`; parameters are matched by decoded, lower-cased name (upstream/query.ts).
 */
export const SIGV4_QUERY_PARAMS: readonly string[] = ['x-amz-credential', 'x-amz-signature', 'x-amz-security-token', 'x-amz-algorithm', 'x-amz-date', 'x-amz-expires', 'x-amz-signedheaders'];
