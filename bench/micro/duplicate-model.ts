/**
 * Micro-benchmark: what refusing a body with two top-level `model` keys (issue 12) adds
 * to reading a body. keyway parses every body once (JSON.parse); the duplicate check
 * then clears nearly every body with two native string searches and walks the top-level
 * keys only when the text could hold a second `model` key (src/formats/json-body.ts).
 *
 * Bodies: `chat`, shaped like a chat history (bench/lib/bodies.ts); `agent`, the same
 * with an ANSI escape (`\u001b`) and a tool schema with a nested "model" property in
 * every turn, which defeats the shortcut and forces the walk.
 *
 * usage: node build/bench/micro/duplicate-model.js
 */
import { hasDuplicateTopLevelKey, parseJsonObject, replaceTopLevelString } from '../../src/formats/json-body.js';
import { chatBody } from '../lib/bodies.js';

const SIZES_KB = [1, 100];

/** time returns the median µs per call of `fn` over several batches. */
function time(fn: () => unknown, budgetMs = 400): number {
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    if (performance.now() - t0 > 20) break;
    n *= 2;
  }
  const batches: number[] = [];
  const until = performance.now() + budgetMs;
  while (performance.now() < until || batches.length < 5) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    batches.push(((performance.now() - t0) * 1000) / n);
  }
  batches.sort((a, b) => a - b);
  return batches[batches.length >> 1]!;
}

/** agentBody is chatBody with what coding agents' bodies carry that chat bodies do not. */
function agentBody(bytes: number): string {
  const doc = JSON.parse(chatBody(bytes)) as { messages: Array<{ content: string }>; tools?: unknown[] };
  for (const m of doc.messages) m.content = `\u001b[32m${m.content.slice(8)}`;
  doc.tools = [{ name: 'pick', input_schema: { type: 'object', properties: { model: { type: 'string' } } } }];
  return JSON.stringify(doc);
}

function main(): void {
  const rows = ['body          parse   parse+check   check alone   rewrite model   (µs per body)'];
  for (const kb of SIZES_KB) {
    for (const [name, text] of [['chat', chatBody(kb * 1024)], ['agent', agentBody(kb * 1024)]] as const) {
      if (hasDuplicateTopLevelKey(text, 'model')) throw new Error('no duplicate expected');
      if (!hasDuplicateTopLevelKey(text.replace('{', '{"model":"x",'), 'model')) throw new Error('duplicate expected');
      const cells = [
        time(() => parseJsonObject(text)),
        time(() => parseJsonObject(text) && hasDuplicateTopLevelKey(text, 'model')),
        time(() => hasDuplicateTopLevelKey(text, 'model')),
        time(() => replaceTopLevelString(text, 'model', 'm')),
      ].map((us) => us.toFixed(1).padStart(12));
      rows.push(`${`${kb} KB ${name}`.padEnd(12)} ${cells.join('  ')}`);
    }
  }
  process.stdout.write(`${rows.join('\n')}\n`);
}

main();
