/**
 * Micro-benchmark: what reading a request body costs per KB, step by step, for the
 * body-size scenario. keyway turns the body into a string and JSON.parses it once to
 * find `model` (src/server/inference.ts, src/formats/json-body.ts#parseJsonObject);
 * the alternative measured here scans the bytes for the top-level `"model"` and
 * `"stream"` values and builds nothing else (a sketch, not production code: it
 * does not validate the JSON).
 *
 * usage: node build/bench/micro/json-body.js
 */
import { chatBody } from '../lib/bodies.js';

const SIZES_KB = [1, 100, 1024];

/** time returns the median µs per call of `fn` over several batches. */
function time(fn: () => unknown, budgetMs = 300): number {
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    const ms = performance.now() - t0;
    if (ms > 20) break;
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

/**
 * topLevelScan finds the string value of top-level "model" and whether top-level
 * "stream" is true, walking the bytes once: depth tracking and string skipping only.
 */
export function topLevelScan(buf: Buffer): { model: string | undefined; stream: boolean } {
  let depth = 0;
  let model: string | undefined;
  let stream = false;
  let expectKey = false;
  const n = buf.length;
  for (let i = 0; i < n; i++) {
    const c = buf[i]!;
    if (c === 0x22) {
      const start = i + 1;
      i = start;
      while (i < n && buf[i] !== 0x22) i += buf[i] === 0x5c ? 2 : 1;
      if (depth === 1 && expectKey) {
        expectKey = false;
        const len = i - start;
        if (len === 5 || len === 6) {
          const key = buf.toString('latin1', start, i);
          let j = i + 1;
          while (j < n && buf[j] !== 0x3a) j++;
          j++;
          while (j < n && (buf[j] === 0x20 || buf[j] === 0x0a || buf[j] === 0x0d || buf[j] === 0x09)) j++;
          if (key === 'model' && buf[j] === 0x22) {
            let k = j + 1;
            while (k < n && buf[k] !== 0x22) k += buf[k] === 0x5c ? 2 : 1;
            model = buf.toString('utf8', j + 1, k);
          } else if (key === 'stream') stream = buf[j] === 0x74; // t(rue)
        }
      }
    } else if (c === 0x7b) {
      if (++depth === 1) expectKey = true;
    } else if (c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c && depth === 1) expectKey = true;
  }
  return { model, stream };
}

function main(): void {
  const rows: string[] = [];
  rows.push('body     toString   JSON.parse(str)   toString+parse   byte scan   (µs per body; µs/KB in brackets)');
  for (const kb of SIZES_KB) {
    const buf = Buffer.from(chatBody(kb * 1024));
    const str = buf.toString('utf8');
    if (topLevelScan(buf).model !== (JSON.parse(str) as { model: string }).model) throw new Error('scan disagrees with JSON.parse');
    const cells = [
      time(() => buf.toString('utf8')),
      time(() => JSON.parse(str)),
      time(() => JSON.parse(buf.toString('utf8'))),
      time(() => topLevelScan(buf)),
    ].map((us) => `${us.toFixed(1).padStart(8)} (${(us / kb).toFixed(2)})`);
    rows.push(`${`${kb} KB`.padEnd(8)} ${cells.join('  ')}`);
  }
  process.stdout.write(`${rows.join('\n')}\n`);
}

main();
