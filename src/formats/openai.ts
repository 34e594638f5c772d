/**
 * The OpenAI error envelope, shared by the two OpenAI formats (chat completions and
 * responses), which differ in paths and stream events but not in how errors look.
 */

/** openAiErrorType names the `error.type` OpenAI uses for a status. */
export function openAiErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function renderOpenAiError(status: number, code: string, message: string): string {
  // OpenAI reports an exhausted budget (as opposed to a rate limit) as insufficient_quota,
  // in type and code alike; the SDKs and Codex tell the two apart by it.
  if (code === 'quota_exceeded') return JSON.stringify({ error: { message, type: 'insufficient_quota', param: null, code: 'insufficient_quota' } });
  // A guardrail's block has a type of its own, whatever status the hook chose (reference §11).
  if (code === 'guardrail_blocked') return JSON.stringify({ error: { message, type: 'guardrail_blocked', param: null, code } });
  return JSON.stringify({ error: { message, type: openAiErrorType(status), param: null, code } });
}
