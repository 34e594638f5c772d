/**
 * The fidelity check of the translation scenario: one streamed Anthropic Messages request
 * with stop sequences, sent through a gateway that translates it for an OpenAI-chat-only
 * upstream, judged on both sides: what the upstream was asked (were the stop sequences
 * sent as `stop`, was the usage chunk asked for) and what the client got (usage equal to
 * what the upstream counted, the stop reason and stop sequence).
 */

/** What an Anthropic Messages stream told its client. */
export interface AnthropicStreamSummary {
  events: number;
  /** Whether the stream ended with `message_stop`. */
  complete: boolean;
  text: string;
  stopReason: string | null | undefined;
  stopSequence: string | null | undefined;
  /** The final counts: message_delta's (cumulative) usage over message_start's. */
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  /** The message of an `error` event, if one came. */
  error?: string;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** dataPayloads returns the parsed `data:` payload of every SSE event in `text` (non-JSON ones skipped). */
export function dataPayloads(text: string): Json[] {
  const out: Json[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trimStart())
      .join('\n');
    if (!data) continue;
    try {
      const v = JSON.parse(data) as unknown;
      if (isObj(v)) out.push(v);
    } catch {
      // `[DONE]` and the like
    }
  }
  return out;
}

/** readAnthropicStream summarises the events of one Anthropic Messages stream. */
export function readAnthropicStream(text: string): AnthropicStreamSummary {
  const s: AnthropicStreamSummary = { events: 0, complete: false, text: '', stopReason: undefined, stopSequence: undefined, inputTokens: undefined, outputTokens: undefined };
  for (const e of dataPayloads(text)) {
    s.events++;
    if (e.type === 'message_start' && isObj(e.message) && isObj(e.message.usage)) {
      s.inputTokens = num(e.message.usage.input_tokens);
      s.outputTokens = num(e.message.usage.output_tokens);
    } else if (e.type === 'content_block_delta' && isObj(e.delta) && typeof e.delta.text === 'string') {
      s.text += e.delta.text;
    } else if (e.type === 'message_delta') {
      if (isObj(e.delta)) {
        s.stopReason = e.delta.stop_reason as string | null;
        s.stopSequence = e.delta.stop_sequence as string | null;
      }
      if (isObj(e.usage)) {
        s.inputTokens = num(e.usage.input_tokens) ?? s.inputTokens;
        s.outputTokens = num(e.usage.output_tokens) ?? s.outputTokens;
      }
    } else if (e.type === 'message_stop') {
      s.complete = true;
    } else if (e.type === 'error' && isObj(e.error)) {
      s.error = String(e.error.message);
    }
  }
  return s;
}

/** chatStreamUsage returns the usage chunk of an OpenAI chat stream, if it has one. */
export function chatStreamUsage(text: string): { prompt: number; completion: number } | undefined {
  for (const e of dataPayloads(text)) {
    if (isObj(e.usage)) {
      const prompt = num(e.usage.prompt_tokens);
      const completion = num(e.usage.completion_tokens);
      if (prompt !== undefined && completion !== undefined) return { prompt, completion };
    }
  }
  return undefined;
}

/** A Fidelity is one gateway's verdict on the check. */
export interface Fidelity {
  /** The upstream body had `stop` equal to the client's `stop_sequences`. */
  stopSent: boolean;
  /** The upstream body asked for the usage chunk (`stream_options.include_usage`). */
  usageAsked: boolean;
  /** What the upstream counted for the request it got (prompt / completion tokens). */
  upstream: { prompt: number; completion: number } | undefined;
  client: AnthropicStreamSummary;
  /** The client's input and output tokens equal the upstream's. */
  usageCorrect: boolean;
  /** The stop reason the upstream's `finish_reason: "stop"` means: end_turn, no stop sequence. */
  stopReasonCorrect: boolean;
}

/**
 * judge compares one gateway's two sides. `upstreamBody` is the JSON the upstream
 * received, `upstreamUsage` what the upstream counts for it, `stopSequences` what the
 * client asked for. The mock upstream ends every answer with `finish_reason: "stop"`,
 * which in OpenAI chat does not say whether a stop sequence matched: the faithful
 * Anthropic answer is `end_turn` with `stop_sequence: null`.
 */
export function judge(upstreamBody: unknown, upstreamUsage: Fidelity['upstream'], client: AnthropicStreamSummary, stopSequences: readonly string[]): Fidelity {
  const body = isObj(upstreamBody) ? upstreamBody : {};
  const stop = typeof body.stop === 'string' ? [body.stop] : Array.isArray(body.stop) ? body.stop : [];
  const stopSent = stop.length === stopSequences.length && stopSequences.every((s, i) => stop[i] === s);
  const usageAsked = isObj(body.stream_options) && body.stream_options.include_usage === true;
  const usageCorrect = upstreamUsage !== undefined && client.inputTokens === upstreamUsage.prompt && client.outputTokens === upstreamUsage.completion;
  const stopReasonCorrect = client.complete && client.stopReason === 'end_turn' && client.stopSequence === null;
  return { stopSent, usageAsked, upstream: upstreamUsage, client, usageCorrect, stopReasonCorrect };
}

/** faithful: everything the check looks at was kept. */
export function faithful(f: Fidelity): boolean {
  return f.stopSent && f.usageAsked && f.usageCorrect && f.stopReasonCorrect;
}

/** describe puts one verdict on one line, for the log and the row's note. */
export function describe(name: string, f: Fidelity): string {
  const up = f.upstream ? `${f.upstream.prompt}/${f.upstream.completion}` : '?';
  const got = `${f.client.inputTokens ?? '–'}/${f.client.outputTokens ?? '–'}`;
  return [
    `${name}:`,
    f.stopSent ? 'stop_sequences sent as stop' : 'stop_sequences DROPPED',
    `· usage in/out ${got} of ${up} ${f.usageCorrect ? '(correct)' : f.usageAsked ? '(WRONG)' : '(WRONG: usage chunk not asked for)'}`,
    `· stop_reason ${f.client.stopReason ?? '–'}, stop_sequence ${f.client.stopSequence === undefined ? '–' : String(f.client.stopSequence)}${f.stopReasonCorrect ? '' : ' (WRONG)'}`,
    f.client.error ? `· error event: ${f.client.error}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}
