/**
 * EventStreamParser splits an AWS event stream (`application/vnd.amazon.eventstream`, the
 * framing of Bedrock's `invoke-with-response-stream` and `converse-stream` answers) into
 * messages, whatever the read boundaries, and hands each to the same handler shape as the
 * SSE parser, so format readers and conversation adapters read both kinds of stream alike.
 *
 * A message is length-prefixed binary
 * (https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html#streaming-event-stream):
 * total length (4 bytes, big-endian), headers length (4), prelude CRC32 (4), headers,
 * payload, message CRC32 (4). Framing is done here by the length prefix; each complete
 * message is decoded (and its checksums verified) by `@smithy/eventstream-codec`, the
 * codec the AWS SDKs use.
 *
 * What the handler receives:
 * - `:message-type: event`: the `:event-type` header (`chunk`, `contentBlockDelta`, …) and
 *   the payload as UTF-8 text;
 * - `:message-type: exception`: the `:exception-type` header (`throttlingException`, …)
 *   and the payload (`{"message": …}`);
 * - `:message-type: error`: `error` and `{"code": …, "message": …}` from its headers.
 *
 * A message whose checksum fails, or a length that cannot be right, ends the reading: the
 * bytes after it cannot be framed any more. The relayed bytes are never touched.
 */
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

export type StreamEventHandler = (event: string | undefined, data: string) => void;

/** The content type of AWS event streams. */
export const EVENTSTREAM_TYPE = 'application/vnd.amazon.eventstream';

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** Prelude (12 bytes) plus the message CRC (4): the smallest possible message. */
const MIN_MESSAGE = 16;
/** AWS caps a message at 16 MiB of payload plus 128 KiB of headers. */
const MAX_MESSAGE = 16 * 1024 * 1024 + 128 * 1024 + MIN_MESSAGE;

export class EventStreamParser {
  /** Bytes of an incomplete message, kept until the rest arrives. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Length of the message `pending` starts, once its 4-byte prefix has arrived. */
  private needed = 0;
  private broken = false;

  constructor(private readonly onEvent: StreamEventHandler) {}

  /** push feeds the next chunk and dispatches every message it completes. Never throws for bad input. */
  push(chunk: Buffer): void {
    if (this.broken || chunk.length === 0) return;
    let buf = chunk;
    if (this.pendingBytes > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.needed === 0 && this.pendingBytes >= 4) {
        this.needed = Buffer.concat(this.pending).readUInt32BE(0);
        if (!plausible(this.needed)) return this.fail();
      }
      // Join the pieces once the message is complete, not on every chunk (a large message
      // arriving in many small reads would otherwise be copied over and over).
      if (this.needed === 0 || this.pendingBytes < this.needed) return;
      buf = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      this.needed = 0;
    }
    let offset = 0;
    while (buf.length - offset >= 4) {
      const total = buf.readUInt32BE(offset);
      if (!plausible(total)) return this.fail();
      if (buf.length - offset < total) break;
      if (!this.dispatch(buf.subarray(offset, offset + total))) return;
      offset += total;
    }
    if (offset < buf.length) {
      // A copy, so a small remainder does not keep a large socket buffer alive.
      const rest = Buffer.from(buf.subarray(offset));
      this.pending = [rest];
      this.pendingBytes = rest.length;
      this.needed = rest.length >= 4 ? rest.readUInt32BE(0) : 0;
    }
  }

  /** fail stops reading: without a trustworthy length nothing after this point can be framed. */
  private fail(): void {
    this.broken = true;
    this.end();
  }

  /** end finishes the stream; a message cut short by the end is dropped. */
  end(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.needed = 0;
  }

  private dispatch(message: Buffer): boolean {
    let decoded: ReturnType<EventStreamCodec['decode']>;
    try {
      decoded = codec.decode(message);
    } catch {
      this.fail(); // a checksum mismatch: nothing after it can be trusted
      return false;
    }
    const h = decoded.headers;
    const header = (name: string): string | undefined => {
      const v = h[name];
      return v && v.type === 'string' ? v.value : undefined;
    };
    const type = header(':message-type') ?? 'event';
    if (type === 'error') {
      this.onEvent('error', JSON.stringify({ code: header(':error-code'), message: header(':error-message') }));
    } else {
      const name = type === 'exception' ? header(':exception-type') : header(':event-type');
      this.onEvent(name, toUtf8(decoded.body));
    }
    return true;
  }
}

function plausible(length: number): boolean {
  return length >= MIN_MESSAGE && length <= MAX_MESSAGE;
}
