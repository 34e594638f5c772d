/**
 * streamParserFor picks the parser for a streamed answer by its content type: SSE for
 * most APIs, AWS event streams for Bedrock. Both call the handler with an event name and
 * the event's data as text, so whoever reads events does not care which framing it was.
 */
import { EVENTSTREAM_TYPE, EventStreamParser, type StreamEventHandler } from './eventstream-parser.js';
import { SseParser } from './sse-parser.js';

export interface StreamParser {
  push(chunk: Buffer): void;
  end(): void;
}

/** streamParserFor returns a parser for `contentType`, or undefined when it is not a stream. */
export function streamParserFor(contentType: string, onEvent: StreamEventHandler): StreamParser | undefined {
  if (contentType.startsWith('text/event-stream')) return new SseParser(onEvent);
  if (contentType.startsWith(EVENTSTREAM_TYPE)) return new EventStreamParser(onEvent);
  return undefined;
}
