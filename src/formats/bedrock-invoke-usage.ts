/**
 * The Bedrock InvokeModel response reader. Bedrock passes a model's own answer through:
 * for Claude the body is an Anthropic Messages answer, and each `chunk` event of
 * `invoke-with-response-stream` holds one Anthropic stream event, base64-encoded in
 * `{"bytes": …}`. So this reader unwraps and hands the Anthropic answer to the Anthropic
 * reader (the wire format is Anthropic's; only the envelope is Bedrock's).
 *
 * For every model, Bedrock adds its own token counts: the last chunk carries
 * `amazon-bedrock-invocationMetrics` (`inputTokenCount`, `outputTokenCount`, and the
 * cache counts for models that cache), and a JSON answer carries
 * `x-amzn-bedrock-input-token-count` / `-output-token-count` headers. Those are the usage
 * when the body has none keyway can read (Llama, Titan, Mistral, … bodies).
 */
import type { ResponseReader, ResponseSummary, Usage } from '../telemetry/usage.js';
import { AnthropicResponseReader } from './anthropic-usage.js';
import { count, newUsage, object, parseObject, string, type JsonObject } from './read-json.js';

const METRICS_KEY = 'amazon-bedrock-invocationMetrics';

/** chunkText decodes one `chunk` event's payload into the model's own event text, or undefined. */
export function chunkText(data: string): string | undefined {
  const bytes = string(parseObject(data)?.bytes);
  return bytes === undefined ? undefined : Buffer.from(bytes, 'base64').toString('utf8');
}

/** metricsUsage converts Bedrock's invocation metrics (or its token-count headers) into Usage. */
function metricsUsage(m: JsonObject): Usage | undefined {
  const input = count(m.inputTokenCount);
  const output = count(m.outputTokenCount);
  if (input === undefined && output === undefined) return undefined;
  const usage = newUsage();
  usage.cacheReadTokens = count(m.cacheReadInputTokenCount) ?? 0;
  usage.cacheWrite5mTokens = count(m.cacheWriteInputTokenCount) ?? 0;
  // As in Anthropic's usage, Bedrock's input count leaves out cached tokens; keyway's includes them.
  usage.inputTokens = (input ?? 0) + usage.cacheReadTokens + usage.cacheWrite5mTokens;
  usage.outputTokens = output ?? 0;
  return usage;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): number | undefined {
  const v = headers[name];
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

export class BedrockInvokeResponseReader implements ResponseReader {
  private readonly inner = new AnthropicResponseReader();
  /** Bedrock's own counts, used when the model's answer has no usage keyway reads. */
  private metrics: Usage | undefined;

  responseHeaders(headers: Record<string, string | string[] | undefined>): void {
    const input = header(headers, 'x-amzn-bedrock-input-token-count');
    const output = header(headers, 'x-amzn-bedrock-output-token-count');
    if (input === undefined && output === undefined) return;
    this.metrics = metricsUsage({
      inputTokenCount: input,
      outputTokenCount: output,
      cacheReadInputTokenCount: header(headers, 'x-amzn-bedrock-cache-read-input-token-count'),
      cacheWriteInputTokenCount: header(headers, 'x-amzn-bedrock-cache-write-input-token-count'),
    });
  }

  sseEvent(event: string | undefined, data: string): void {
    if (event !== 'chunk') return; // exceptions carry no usage
    const text = chunkText(data);
    if (text === undefined) return;
    // Only the last chunk has the metrics: look before parsing twice.
    if (text.includes(METRICS_KEY)) {
      const metrics = object(parseObject(text)?.[METRICS_KEY]);
      if (metrics) this.metrics = metricsUsage(metrics) ?? this.metrics;
    }
    this.inner.sseEvent(undefined, text);
  }

  json(body: unknown): void {
    this.inner.json(body);
  }

  finish(): ResponseSummary {
    const summary = this.inner.finish();
    return summary.usage === undefined && this.metrics !== undefined ? { ...summary, usage: this.metrics } : summary;
  }
}
