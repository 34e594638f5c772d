/**
 * MCP metrics on keyway's registry (`/metrics`): tool calls by server, tool and outcome,
 * their duration, server transitions, and gauges read at scrape time (servers up, tools
 * listed, open sessions). Label values are server IDs and tool names the servers listed,
 * never free text from a client: a name that resolved to nothing is counted as
 * server "none", tool "unknown".
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { SeriesCounter, SeriesHistogram } from '../telemetry/series.js';
import type { McpGateway, ToolCallEvent } from './gateway.js';
import type { ServerStatus } from './upstream.js';

const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class McpMetrics {
  private readonly calls: SeriesCounter<'server' | 'tool' | 'outcome'>;
  private readonly duration: SeriesHistogram<'server' | 'tool'>;
  private readonly transitions: Counter<'server' | 'to'>;

  constructor(registry: Registry, gateway: McpGateway) {
    this.calls = new SeriesCounter('keyway_mcp_tool_calls_total', 'MCP tool calls by server, tool and outcome (ok, tool_error, refused, unknown, invalid, upstream_error, unavailable, timeout, cancelled)', registry);
    this.duration = new SeriesHistogram('keyway_mcp_tool_call_duration_seconds', 'Time from an MCP tool call to its answer, by server and tool', registry, BUCKETS);
    this.transitions = new Counter({ name: 'keyway_mcp_server_transitions_total', help: 'MCP servers becoming available (to="up") or unavailable (to="down")', labelNames: ['server', 'to'], registers: [registry] });
    new Gauge({
      name: 'keyway_mcp_server_up',
      help: 'Whether an MCP server is available (1) or not (0)',
      labelNames: ['server'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of gateway.catalog.all()) this.set({ server: s.id }, s.status === 'up' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'keyway_mcp_tools',
      help: 'Tools an MCP server lists (0 while it is unavailable)',
      labelNames: ['server'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of gateway.catalog.all()) this.set({ server: s.id }, s.tools.length);
      },
    });
    new Gauge({
      name: 'keyway_mcp_sessions',
      help: 'Open client sessions on /v1/mcp',
      registers: [registry],
      collect() {
        this.set(gateway.sessionCount);
      },
    });
  }

  observeCall(e: ToolCallEvent): void {
    const server = e.server ?? 'none';
    const tool = e.tool ?? 'unknown';
    const outcome = e.outcome;
    this.calls.inc(`${server}\0${tool}\0${outcome}`, () => ({ server, tool, outcome }));
    this.duration.observe(`${server}\0${tool}`, () => ({ server, tool }), e.durationMs / 1000);
  }

  observeTransition(server: string, to: ServerStatus): void {
    if (to === 'up' || to === 'down') this.transitions.inc({ server, to });
  }
}
