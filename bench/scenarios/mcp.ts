/**
 * MCP: a tool call through keyway against the same call made directly (the SDK's client,
 * concurrency 1), and `tools/list` over 20 servers × 50 tools answered from keyway's
 * cache. The upstreams run in a process of their own (reference/mcp-fleet.ts), keyway in
 * another, the client in a third. The bare Node MCP proxy (reference/bare-mcp-proxy.ts) in
 * front of the same server is the "bare node" column: what two extra HTTP exchanges
 * through Node cost a call here, measured against direct after keyway's pair.
 */
import { median } from '../lib/stats.js';
import { clientScript, BUILD_DIR } from '../lib/paths.js';
import { freePort, runJsonChild, startService } from '../lib/procs.js';
import { compareRow, push, type PerRepeat } from '../lib/compare.js';
import type { Row, Scenario } from '../lib/types.js';
import { join } from 'node:path';
import type { Summary } from '../lib/stats.js';
import { CAP } from '../lib/keyway-config.js';

const SERVERS = 20;
const TOOLS = 50;
/** Warm-up rounds of 1,000 calls per side before the first repeat; one before each later one. */
const WARM_ROUNDS = 3;

interface McpResult {
  listed: number;
  direct: Summary;
  keyway: Summary;
  bareDirect?: Summary;
  bare?: Summary;
  list: Summary;
  listBytes: number;
}

export const mcpScenario: Scenario = {
  name: 'mcp',
  title: `MCP: tool call, tools/list (${SERVERS}×${TOOLS})`,
  async run(ctx) {
    const fleetPort = await freePort();
    const fleet = await startService('mcp-fleet', process.execPath, [join(BUILD_DIR, 'bench', 'reference', 'mcp-fleet.js'), String(fleetPort), String(SERVERS), String(TOOLS)], fleetPort);
    try {
      const urls = (await (await fetch(fleet.url)).json()) as string[];
      const servers = Object.fromEntries(urls.map((url, i) => [`s${i}`, { url }]));
      const config = JSON.stringify({ grants: [{ src: ['(loopback)'], app: { [CAP]: [{ role: 'admin' }, { mcp_tools: '**' }] } }], mcp: { servers } });
      const keyway = await ctx.startKeyway({ configText: config });
      const barePort = await freePort();
      const bare = await startService('bare-mcp', process.execPath, [join(BUILD_DIR, 'bench', 'reference', 'bare-mcp-proxy.js'), String(barePort), urls[0]!], barePort);
      try {
        const callP50: PerRepeat = {};
        const callP99: PerRepeat = {};
        const bareAdded: number[] = [];
        const listP50: number[] = [];
        const listP99: number[] = [];
        let bytes = 0;
        for (let r = 0; r < ctx.opts.repeat; r++) {
          // The first repeat warms the three servers up to their steady state (clients/mcp.ts).
          const warmRounds = ctx.opts.quick ? 0 : r === 0 ? WARM_ROUNDS : 1;
          const res = await runJsonChild<McpResult>(process.execPath, [clientScript('mcp'), urls[0]!, keyway.url, String(ctx.opts.quick ? 300 : 1000), String(SERVERS * TOOLS + 1), String(warmRounds), `${bare.url}/mcp`], 300_000);
          if (res.listed < SERVERS * TOOLS + 1) throw new Error(`keyway listed ${res.listed} tools, want ${SERVERS * TOOLS + 1}`);
          push(callP50, 'direct', res.direct.p50);
          push(callP50, 'keyway', res.keyway.p50);
          push(callP99, 'direct', res.direct.p99);
          push(callP99, 'keyway', res.keyway.p99);
          if (res.bare && res.bareDirect) {
            push(callP50, 'bare', res.bare.p50);
            push(callP99, 'bare', res.bare.p99);
            bareAdded.push(res.bare.p50 - res.bareDirect.p50);
          }
          listP50.push(res.list.p50);
          listP99.push(res.list.p99);
          bytes = res.listBytes;
          const bareLog = res.bare && res.bareDirect ? ` (bare node p50 ${res.bare.p50.toFixed(3)}, its direct ${res.bareDirect.p50.toFixed(3)})` : '';
          ctx.log(`    repeat ${r + 1}: call direct p50 ${res.direct.p50.toFixed(3)} keyway p50 ${res.keyway.p50.toFixed(3)} ms${bareLog}; tools/list p50 ${res.list.p50.toFixed(3)} p99 ${res.list.p99.toFixed(3)} ms (${(res.listBytes / 1024).toFixed(0)} KB)`);
        }
        const head = { scenario: this.title, unit: 'ms' };
        const rows: Row[] = [
          compareRow(
            { ...head, measure: 'tool call p50', target: 'added ≤ 0.5 ms' },
            callP50,
            (c) => c.added! <= 0.5,
            bareAdded.length ? `bare node adds ${median(bareAdded).toFixed(3)} ms against its own direct calls (a Node proxy that only forwards bytes: the floor here)` : undefined,
          ),
          compareRow({ ...head, measure: 'tool call p99', target: '–' }, callP99, () => 'info'),
          { ...head, measure: `tools/list p50 (${SERVERS * TOOLS + 1} tools)`, keyway: median(listP50), target: '≤ 2 ms', status: median(listP50) <= 2 ? 'meets' : 'misses', note: `${(bytes / 1024).toFixed(0)} KB answer, from keyway's cache` },
          { ...head, measure: 'tools/list p99', keyway: median(listP99), target: '–', status: 'info' },
        ];
        return rows;
      } finally {
        await bare.stop();
        await keyway.stop();
      }
    } finally {
      await fleet.stop();
    }
  },
};
