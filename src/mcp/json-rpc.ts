/**
 * keyway's own errors on the MCP endpoint, as JSON-RPC error responses: an MCP client
 * reads `error.message`, not keyway's `{"error", "code"}` envelope. The HTTP status stays
 * the catalogue's (403 without a role, 413, …); the JSON-RPC code is the generic server
 * error, with keyway's code in `data`.
 */
import type { ApiFormat } from '../formats/types.js';

/** JSON-RPC error codes keyway uses (JSON-RPC 2.0 §5.1 and the MCP SDK's). */
export const RPC = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  SERVER_ERROR: -32000,
  SESSION_NOT_FOUND: -32001,
  /** The MCP SDK's ErrorCode.ConnectionClosed and RequestTimeout (test/mcp-runtime.test.ts pins them). */
  CONNECTION_CLOSED: -32000,
  REQUEST_TIMEOUT: -32001,
} as const;

/** jsonRpcError is the body of a JSON-RPC error response. */
export function jsonRpcError(code: number, message: string, data?: unknown, id: string | number | null = null): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } });
}

/** MCP_ERRORS renders catalogue errors for respond.ts (sendError). */
export const MCP_ERRORS: Pick<ApiFormat, 'renderError'> = {
  renderError: (status, code, message) => jsonRpcError(RPC.SERVER_ERROR, message, { code, status }),
};

/** isMcpPath: the paths whose errors are JSON-RPC. */
export function isMcpPath(pathname: string): boolean {
  return pathname === '/v1/mcp' || pathname.startsWith('/v1/mcp/');
}
