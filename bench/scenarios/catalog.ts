/**
 * Catalog (opt-in: --only catalog): how long `GET /v1/models` takes as the configuration
 * grows. Clients such as Claude Code and Codex call it at start-up, and while keyway
 * builds the list its event loop serves nothing else, so this is also how long every
 * other request in flight waits.
 */
import { request } from 'node:http';
import { median } from '../lib/stats.js';
import type { ConfigShape, Row, Scenario } from '../lib/types.js';

const SHAPES: Array<{ label: string; shape: ConfigShape }> = [
  { label: '10 models, 1 grant', shape: { models: 10, grants: 1 } },
  { label: '10,000 models, 1 grant', shape: { models: 10_000, grants: 1 } },
  { label: '1,000 models, 1,000 grants (all match caller)', shape: { models: 1000, grants: 1000, grantsMatch: 'caller' } },
  { label: '10,000 models, 1,000 grants (all match caller)', shape: { models: 10_000, grants: 1000, grantsMatch: 'caller' } },
];

export const catalogScenario: Scenario = {
  name: 'catalog',
  title: 'GET /v1/models vs config size',
  optIn: true,
  async run(ctx) {
    const rows: Row[] = [];
    for (const { label, shape } of SHAPES) {
      const keyway = await ctx.startKeyway({ shape });
      try {
        const times: number[] = [];
        let bytes = 0;
        for (let i = 0; i < 6; i++) {
          const r = await get(`${keyway.url}/v1/models`);
          bytes = r.bytes;
          if (i > 0) times.push(r.ms); // the first one warms up
        }
        ctx.log(`    ${label}: ${median(times).toFixed(1)} ms`);
        rows.push({ scenario: this.title, measure: label, unit: 'ms', keyway: median(times), target: '–', status: 'info', note: `${(bytes / 1024).toFixed(0)} KB answer; median of 5` });
      } finally {
        await keyway.stop();
      }
    }
    return rows;
  },
};

function get(url: string): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = request(url, { agent: false, timeout: 60_000 }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => (res.statusCode === 200 ? resolve({ ms: performance.now() - start, bytes }) : reject(new Error(`GET ${url}: HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in 60 s`)));
    req.on('error', reject);
    req.end();
  });
}
