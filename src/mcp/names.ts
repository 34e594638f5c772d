/**
 * How the aggregated server names what it gathers: tools are `<serverID>_<tool>` and
 * resources and templates `<serverID>-<uri>`. Server IDs hold neither `_` nor `-`
 * (validate-mcp.ts), so the first one splits a name back, and tool names and URIs may
 * contain either.
 */

/** The built-in server: its tools are visible to every caller with a role. */
export const INTERNAL_SERVER = 'internal';

export function toolName(server: string, tool: string): string {
  return `${server}_${tool}`;
}

export function resourceName(server: string, uri: string): string {
  return `${server}-${uri}`;
}

/** splitTool returns `[server, tool]` for `server_tool`, or undefined without a `_`. */
export function splitTool(name: string): [string, string] | undefined {
  const at = name.indexOf('_');
  return at <= 0 || at === name.length - 1 ? undefined : [name.slice(0, at), name.slice(at + 1)];
}

/** splitResource returns `[server, uri]` for `server-uri`, or undefined without a `-`. */
export function splitResource(name: string): [string, string] | undefined {
  const at = name.indexOf('-');
  return at <= 0 || at === name.length - 1 ? undefined : [name.slice(0, at), name.slice(at + 1)];
}
