/**
 * The MCP SDK, loaded when keyway first needs it. The SDK's message schemas are built with
 * zod when its modules load: about 13 MB of heap, and more of RSS, in every gateway that
 * imported them at start, also those that serve no MCP at all. keyway loads them when a
 * client first calls `/v1/mcp` (or registers a server there) and when the configuration
 * first names an MCP server; a gateway that does neither never pays.
 */
import type { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { authInfoFor, createSession } from './session.js';
import type { UpstreamServer } from './upstream.js';

export interface McpRuntime {
  createSession: typeof createSession;
  authInfoFor: typeof authInfoFor;
  UpstreamServer: typeof UpstreamServer;
  McpError: typeof McpError;
  /** The protocol versions the SDK's server negotiates (fast-path.ts answers only those). */
  supportedVersions: ReadonlySet<string>;
}

let loaded: McpRuntime | undefined;
let loading: Promise<McpRuntime> | undefined;

/** loadMcpRuntime loads the SDK once; every later call resolves with the same modules. */
export function loadMcpRuntime(): Promise<McpRuntime> {
  loading ??= Promise.all([import('./session.js'), import('./upstream.js'), import('@modelcontextprotocol/sdk/types.js')]).then(([session, upstream, types]) => {
    loaded = {
      createSession: session.createSession,
      authInfoFor: session.authInfoFor,
      UpstreamServer: upstream.UpstreamServer,
      McpError: types.McpError,
      supportedVersions: new Set(types.SUPPORTED_PROTOCOL_VERSIONS),
    };
    return loaded;
  });
  return loading;
}

/** mcpRuntime is the SDK once loaded, or undefined before. */
export function mcpRuntime(): McpRuntime | undefined {
  return loaded;
}

/** requireMcpRuntime is the SDK where the caller has loaded it first (a bug otherwise). */
export function requireMcpRuntime(): McpRuntime {
  if (!loaded) throw new Error('the MCP SDK is used before loadMcpRuntime() has resolved');
  return loaded;
}
