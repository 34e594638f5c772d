// Public entry point of the mock upstream LLM provider (Anthropic, OpenAI chat/responses,
// Gemini) used by gateway tests, CLI end-to-end tests and the benchmark.
//
// Routes match by path suffix (any base-URL prefix works): …/v1/messages,
// …/v1/messages/count_tokens, …/chat/completions, …/responses (GET with upgrade: websocket → 426),
// …/models/{model}:generateContent|streamGenerateContent|countTokens, GET …/models[/{id}],
// Bedrock …/model/{modelId}/invoke|invoke-with-response-stream|converse|converse-stream (AWS
// event-stream frames; SigV4 signatures are verified against MOCK_AWS_CREDENTIALS and
// `awsCredentials`). Replies say `MOCK_OK (<format> <model as received>)`.
//
// Scenarios, per request, via the `x-mock-scenario` header or `MOCK:<list>` anywhere in the body
// (the last marker in the body wins; the header overrides it key by key), comma-separated:
//   error=<status>  tool[=<name>]  chunks=<n>  interval=<ms>  slow=<ms>  die-midstream  hang
//   gzip  echo-headers  cache-read=<n>  cache-write=<n>
// A credential containing "invalid" gets a 401 in the route's own error envelope.

export { startMockUpstream } from './server.js';
export { mockUpstreamMain, parseMockUpstreamArgs } from './cli.js';
export { parseScenario, type Scenario } from './scenario.js';
export { MOCK_AWS_CREDENTIALS } from './sigv4.js';
export type { MockUpstream, MockUpstreamOptions, RecordedRequest } from './types.js';
