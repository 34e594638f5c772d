/**
 * The codec registry, and which format keyway translates to when a provider does not
 * serve the client's own.
 */
import type { FormatFlag } from '../config/types.js';
import { anthropicCodec } from './anthropic.js';
import type { Codec } from './codec.js';
import { geminiCodec } from './gemini.js';
import { openaiChatCodec } from './openai-chat.js';
import { openaiResponsesCodec } from './openai-responses.js';

const CODECS: ReadonlyMap<FormatFlag, Codec> = new Map<FormatFlag, Codec>(
  [openaiChatCodec, anthropicCodec, openaiResponsesCodec, geminiCodec].map((c) => [c.flag, c]),
);

/**
 * TARGET_ORDER: when a provider lacks the client's format but serves several others,
 * the first of these it serves is used. Chat Completions first because every
 * OpenAI-compatible server has it, then Anthropic Messages, Responses and Gemini.
 */
export const TARGET_ORDER: readonly FormatFlag[] = ['openai_chat', 'anthropic_messages', 'openai_responses', 'gemini_generate_content'];

export function codecFor(flag: FormatFlag): Codec | undefined {
  return CODECS.get(flag);
}

/** translationTarget is the format keyway would call a provider serving `formats` in for a `client`-format request, or undefined. */
export function translationTarget(formats: ReadonlySet<FormatFlag>, client: FormatFlag): FormatFlag | undefined {
  if (!CODECS.has(client)) return undefined;
  for (const flag of TARGET_ORDER) {
    if (flag !== client && formats.has(flag) && CODECS.has(flag)) return flag;
  }
  return undefined;
}
