/**
 * Amazon Bedrock Converse: `POST /bedrock/model/{modelId}/converse` and
 * `/converse-stream`, sent upstream to `{baseurl}/model/{modelId}/…`. One request and
 * answer shape for every model Bedrock serves; streams are AWS event streams.
 */
import {
  bedrockErrorHeaders,
  bedrockErrorMessage,
  bedrockPath,
  bedrockStreamError,
  renderBedrockError,
  renderBedrockStreamError,
  SIGV4_QUERY_PARAMS,
} from './bedrock-common.js';
import { BedrockConverseResponseReader } from './bedrock-converse-usage.js';
import { isObject, object, parseObject, string } from './read-json.js';
import type { ApiFormat, ConversationAdapter } from './types.js';

export const CONVERSE_ACTIONS = { plain: 'converse', stream: 'converse-stream' } as const;

const bedrockConverseConversation: ConversationAdapter = {
  request(model, turns, { system, stream, maxTokens }) {
    return {
      path: bedrockPath(model, stream ? CONVERSE_ACTIONS.stream : CONVERSE_ACTIONS.plain),
      headers: { accept: 'application/json' },
      body: {
        messages: turns.map((t) => ({ role: t.role, content: [{ text: t.content }] })),
        ...(system ? { system: [{ text: system }] } : {}),
        inferenceConfig: { maxTokens },
      },
    };
  },
  streamText(event, data) {
    if (event !== 'contentBlockDelta') return '';
    return string(object(parseObject(data)?.delta)?.text) ?? '';
  },
  answerText(body) {
    const message = isObject(body) ? object(object(body.output)?.message) : undefined;
    const content = Array.isArray(message?.content) ? message.content : [];
    return content.map((b) => string(object(b)?.text) ?? '').join('');
  },
  errorMessage: bedrockErrorMessage,
  streamError: bedrockStreamError,
};

export const bedrockConverse: ApiFormat = {
  flag: 'bedrock_converse',
  endpoints: ['/bedrock/model/{model}/converse'],
  credentialQueryParams: SIGV4_QUERY_PARAMS,
  credentialHint: 'Give the client a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK) or AWS credentials so it signs its own requests.',
  renderError: renderBedrockError,
  errorHeaders: bedrockErrorHeaders,
  renderStreamError: renderBedrockStreamError,
  createResponseReader: () => new BedrockConverseResponseReader(),
  conversation: bedrockConverseConversation,
};
