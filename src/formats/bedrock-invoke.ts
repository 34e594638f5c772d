/**
 * Amazon Bedrock InvokeModel: `POST /bedrock/model/{modelId}/invoke` and
 * `/invoke-with-response-stream`, sent upstream to `{baseurl}/model/{modelId}/…`. The
 * body is the model's own request (for Claude: Anthropic Messages with
 * `anthropic_version`, no `model`, no `stream`) and goes upstream exactly as sent. Streams
 * are AWS event streams whose `chunk` events wrap the model's own stream events.
 */
import { anthropicConversation } from './anthropic-conversation.js';
import {
  bedrockErrorHeaders,
  bedrockErrorMessage,
  bedrockPath,
  bedrockStreamError,
  renderBedrockError,
  renderBedrockStreamError,
  SIGV4_QUERY_PARAMS,
} from './bedrock-common.js';
import { BedrockInvokeResponseReader, chunkText } from './bedrock-invoke-usage.js';
import type { ApiFormat, ConversationAdapter } from './types.js';

export const INVOKE_ACTIONS = { plain: 'invoke', stream: 'invoke-with-response-stream' } as const;

/**
 * When keyway itself talks to a model through InvokeModel (chat, Test button), it speaks
 * Claude's body: Bedrock's InvokeModel has no shape common to all models (Converse has).
 */
const bedrockInvokeConversation: ConversationAdapter = {
  request(model, turns, { system, stream, maxTokens }) {
    return {
      path: bedrockPath(model, stream ? INVOKE_ACTIONS.stream : INVOKE_ACTIONS.plain),
      headers: { accept: 'application/json' },
      body: {
        anthropic_version: 'bedrock-2023-05-31',
        max_tokens: maxTokens,
        ...(system ? { system } : {}),
        messages: turns.map((t) => ({ role: t.role, content: t.content })),
      },
    };
  },
  streamText(event, data) {
    if (event !== 'chunk') return '';
    const text = chunkText(data);
    return text === undefined ? '' : anthropicConversation.streamText('content_block_delta', text);
  },
  answerText: (body) => anthropicConversation.answerText(body),
  errorMessage: bedrockErrorMessage,
  streamError: bedrockStreamError,
};

export const bedrockInvoke: ApiFormat = {
  flag: 'bedrock_model_invoke',
  endpoints: ['/bedrock/model/{model}/invoke'],
  credentialQueryParams: SIGV4_QUERY_PARAMS,
  credentialHint: 'Give the client a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK) or AWS credentials so it signs its own requests.',
  renderError: renderBedrockError,
  errorHeaders: bedrockErrorHeaders,
  renderStreamError: renderBedrockStreamError,
  createResponseReader: () => new BedrockInvokeResponseReader(),
  conversation: bedrockInvokeConversation,
};
