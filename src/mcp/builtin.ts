/**
 * Tools keyway serves itself, under the reserved server ID `internal`. Every caller with a
 * role sees them (the reference's `internal_current_time`): they reveal nothing and reach
 * nothing.
 */
import { toolName, INTERNAL_SERVER } from './names.js';

export interface BuiltinTool {
  readonly name: string;
  readonly definition: Record<string, unknown>;
  run(args: Record<string, unknown>, now: Date): Record<string, unknown>;
}

const currentTime: BuiltinTool = {
  name: toolName(INTERNAL_SERVER, 'current_time'),
  definition: {
    name: toolName(INTERNAL_SERVER, 'current_time'),
    title: 'Current time',
    description: 'Returns the current date and time: UTC (ISO 8601), Unix seconds, and, when a time zone is given, the local time there.',
    inputSchema: {
      type: 'object',
      properties: { timezone: { type: 'string', description: 'An IANA time zone such as "Europe/Berlin" (optional)' } },
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  run(args, now) {
    const out: Record<string, unknown> = { utc: now.toISOString(), unix: Math.floor(now.getTime() / 1000) };
    const zone = args.timezone;
    if (zone !== undefined && zone !== null && zone !== '') {
      if (typeof zone !== 'string') return { content: [{ type: 'text', text: 'timezone must be a string' }], isError: true };
      try {
        out.timezone = zone;
        out.local = new Intl.DateTimeFormat('en-CA', { timeZone: zone, dateStyle: 'short', timeStyle: 'long', hourCycle: 'h23' }).format(now);
      } catch {
        return { content: [{ type: 'text', text: `unknown time zone "${zone}"` }], isError: true };
      }
    }
    return { content: [{ type: 'text', text: JSON.stringify(out) }], structuredContent: out };
  },
};

export const BUILTIN_TOOLS: readonly BuiltinTool[] = [currentTime];

export const BUILTIN_BY_NAME: ReadonlyMap<string, BuiltinTool> = new Map(BUILTIN_TOOLS.map((t) => [t.name, t]));
