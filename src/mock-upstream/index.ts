// Public entry point of the mock upstream LLM provider (Anthropic, OpenAI chat/responses,
// Gemini) used by gateway tests, CLI end-to-end tests and the benchmark.
//
// Routes match by path suffix (any base-URL prefix works): …/v1/messages,
// …/v1/messages/count_tokens, …/chat/completions, …/responses (GET with upgrade: websocket → 426),
// …/models/{model}:generateContent|streamGenerateContent|countTokens (Gemini API and Vertex
// publishers/google), Vertex …/publishers/anthropic/models/{model}:rawPredict|streamRawPredict
// and …/count-tokens:rawPredict, GET …/models[/{id}], a Google OAuth token endpoint
// POST …/token for the service-account keyfiles it issues (oauth.ts), and Bedrock
// …/model/{modelId}/invoke|invoke-with-response-stream|converse|converse-stream (AWS
// event-stream frames; SigV4 signatures are verified against MOCK_AWS_CREDENTIALS and
// `awsCredentials`). Replies say `MOCK_OK (<format> <model as received>)`.
//
// Scenarios, per request, via the `x-mock-scenario` header or `MOCK:<list>` anywhere in the body
// (the last marker in the body wins; the header overrides it key by key), comma-separated:
//   error=<status>  tool[=<name>]  chunks=<n>  interval=<ms>  slow=<ms>  die-midstream  hang
//   gzip  echo-headers  cache-read=<n>  cache-write=<n>
// Credentials (credentials.ts): a key without its API's prefix (Anthropic sk-ant-, OpenAI sk-,
// Google AIza) or containing "invalid"/"wrong" gets a 401 in the route's own error envelope;
// no credential is fine. `acceptAnyKey` (--accept-any-key) turns the prefix check off.

export { startMockUpstream } from './server.js';
export { MOCK_UPSTREAM_USAGE, mockUpstreamMain, parseMockUpstreamArgs } from './cli.js';
export { parseScenario, type Scenario } from './scenario.js';
export { MOCK_AWS_CREDENTIALS } from './sigv4.js';
export type { MockUpstream, MockUpstreamOptions, RecordedRequest } from './types.js';
export type { IssuedKeyfile, MockOAuth, ServiceAccountOptions, TokenExchange } from './oauth.js';
