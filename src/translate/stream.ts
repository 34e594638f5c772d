/**
 * The stream translator: upstream bytes in, client bytes out, one upstream chunk at a
 * time. Bytes go through keyway's SSE parser, the upstream codec's decoder (SSE event →
 * canonical events), a normaliser (below) and the client codec's encoder (canonical
 * events → the client's frames). Whatever one upstream chunk produces is returned at
 * once, so nothing waits for a later chunk; the only text kept is what a format repeats in
 * its closing events (Responses) or cannot stream (Gemini's whole function calls).
 */
import { SseParser } from '../telemetry/sse-parser.js';
import type { CanonEvent, CanonOutputPart, CanonResponse, CanonSink, CanonStop, CanonUsage } from './canonical.js';
import type { Codec, StreamDecoder, StreamEncoder } from './codec.js';

export class StreamTranslator implements CanonSink {
  private readonly parser: SseParser;
  private readonly decoder: StreamDecoder;
  private started = false;
  private open: number | undefined;
  /** The upstream said the answer is complete. */
  done = false;
  /** The upstream reported an error inside the stream. */
  failed = false;

  constructor(
    upstream: Codec,
    private readonly encoder: StreamEncoder,
    /** Builds the answer as one object for a capture; undefined when nothing is captured. */
    private readonly collector: AnswerCollector | undefined,
  ) {
    this.decoder = upstream.createStreamDecoder(this);
    this.parser = new SseParser((event, data) => this.decoder.event(event, data));
  }

  /** push feeds one upstream chunk and returns the client text it produced ('' for none). */
  push(chunk: Buffer): string {
    this.parser.push(chunk);
    return this.encoder.take();
  }

  /** end finishes the upstream stream and returns the last client text. */
  end(): string {
    this.parser.end();
    this.decoder.end();
    return this.encoder.take();
  }

  /**
   * emit passes one event on, making every stream well formed for the encoders: a `start`
   * before anything else, a block closed before the next opens, all blocks closed before
   * `done`, and nothing after `done` or an error.
   */
  emit(e: CanonEvent): void {
    if (this.done || this.failed) return;
    if (e.type === 'error') {
      this.failed = true;
      this.forward(e);
      return;
    }
    if (!this.started && e.type !== 'start') this.forward({ type: 'start', id: undefined, model: undefined, usage: undefined });
    if (e.type === 'start') {
      if (this.started) return;
      this.started = true;
    } else if (e.type === 'block_start') {
      if (this.open !== undefined) this.forward({ type: 'block_stop', index: this.open });
      this.open = e.index;
    } else if (e.type === 'block_stop') {
      if (this.open !== e.index) return;
      this.open = undefined;
    } else if (e.type === 'done') {
      if (this.open !== undefined) this.forward({ type: 'block_stop', index: this.open });
      this.open = undefined;
      this.done = true;
    }
    this.forward(e);
  }

  private forward(e: CanonEvent): void {
    if (e.type === 'start') this.started = true;
    this.collector?.emit(e);
    this.encoder.emit(e);
  }
}

/** AnswerCollector gathers a streamed answer into one CanonResponse (for the client-side capture). */
export class AnswerCollector implements CanonSink {
  private id = '';
  private model = '';
  private parts: Array<{ kind: CanonOutputPart['type']; id: string; name: string; text: string[]; signature: string | undefined }> = [];
  private stop: CanonStop = 'end';
  private stopSequence: string | undefined;
  private usage: CanonUsage | undefined;

  emit(e: CanonEvent): void {
    switch (e.type) {
      case 'start':
        this.id = e.id ?? '';
        this.model = e.model ?? '';
        if (e.usage) this.usage = e.usage;
        return;
      case 'block_start':
        this.parts[e.index] = { kind: e.kind, id: e.id ?? '', name: e.name ?? '', text: [], signature: undefined };
        return;
      case 'delta':
        this.parts[e.index]?.text.push(e.text);
        return;
      case 'signature': {
        const part = this.parts[e.index];
        if (part) part.signature = e.signature;
        return;
      }
      case 'usage':
        this.usage = e.usage;
        return;
      case 'finish':
        this.stop = e.stop;
        this.stopSequence = e.stopSequence;
        return;
      default:
        return;
    }
  }

  response(): CanonResponse {
    const content: CanonOutputPart[] = this.parts
      .filter((p) => p !== undefined)
      .map((p) => (p.kind === 'tool_call' ? { type: 'tool_call', id: p.id, name: p.name, arguments: p.text.join('') } : p.kind === 'thinking' ? { type: 'thinking', text: p.text.join(''), signature: p.signature } : { type: 'text', text: p.text.join('') }));
    return { id: this.id, model: this.model, content, stop: this.stop, stopSequence: this.stopSequence, usage: this.usage };
  }
}

/**
 * replayResponse feeds a whole answer to a sink as a stream: for an upstream that
 * answered a stream request with plain JSON.
 */
export function replayResponse(res: CanonResponse, sink: CanonSink): void {
  sink.emit({ type: 'start', id: res.id, model: res.model, usage: undefined });
  res.content.forEach((p, index) => {
    if (p.type === 'tool_call') sink.emit({ type: 'block_start', index, kind: 'tool_call', id: p.id, name: p.name });
    else sink.emit({ type: 'block_start', index, kind: p.type });
    const text = p.type === 'tool_call' ? p.arguments : p.text;
    if (text !== '') sink.emit({ type: 'delta', index, text });
    if (p.type === 'thinking' && p.signature) sink.emit({ type: 'signature', index, signature: p.signature });
    sink.emit({ type: 'block_stop', index });
  });
  if (res.usage) sink.emit({ type: 'usage', usage: res.usage });
  sink.emit({ type: 'finish', stop: res.stop, stopSequence: res.stopSequence });
  sink.emit({ type: 'done' });
}
