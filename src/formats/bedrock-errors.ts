/**
 * How AWS Bedrock reports errors: a body `{"message": "..."}` and the error's name in the
 * `x-amzn-ErrorType` header (`ThrottlingException`, `AccessDeniedException`, …). keyway
 * does not serve a Bedrock format yet; its format module will use these two functions as
 * its `renderError` and `errorHeaders`, so quota refusals (429 ThrottlingException) and
 * the rest of keyway's errors already have their Bedrock shape.
 */

/** bedrockErrorType names the exception Bedrock uses for a status and catalogue code. */
export function bedrockErrorType(status: number, code: string): string {
  if (code === 'quota_exceeded' || status === 429) return 'ThrottlingException';
  if (code === 'guardrail_blocked') return 'AccessDeniedException';
  switch (status) {
    case 400: case 413: return 'ValidationException';
    case 401: case 403: return 'AccessDeniedException';
    case 404: return 'ResourceNotFoundException';
    case 408: case 504: return 'ModelTimeoutException';
    case 503: return 'ServiceUnavailableException';
    default: return status < 500 ? 'ValidationException' : 'InternalServerException';
  }
}

export function renderBedrockError(_status: number, _code: string, message: string): string {
  return JSON.stringify({ message });
}

export function bedrockErrorHeaders(status: number, code: string): Record<string, string> {
  return { 'x-amzn-errortype': bedrockErrorType(status, code) };
}
