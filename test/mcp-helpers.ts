/**
 * Fixtures for the MCP tests: callers chosen per request by a test header (one keyway
 * plays many people), the SDK's own client pointed at keyway's /v1/mcp, and raw JSON-RPC
 * POSTs for what a well-behaved client would never send.
 */
import type { IncomingMessage } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Identity, IdentitySource } from '../src/identity/identity.js';

export const CAP = 'tailscale.com/cap/aperture';

function person(login: string, groups: string[] = []): Identity {
  return { login, displayName: login, nodeId: `n-${login}`, tags: [], groups, loopback: false, capMap: {} };
}

export const PEOPLE: Record<string, Identity> = {
  admin: person('admin@example.com'),
  alice: person('alice@example.com'),
  bob: person('bob@example.com'),
  nomcp: person('nomcp@example.com'),
  norole: person('norole@example.com'),
};

/** asHeader identifies callers by `x-test-as: <name>` (names of PEOPLE). */
export const asHeader: IdentitySource = {
  name: 'test-header',
  identify: (req: IncomingMessage) => PEOPLE[String(req.headers['x-test-as'])],
};

/** mcpClient connects the SDK's client to keyway as `who`, with extra request headers. */
export async function mcpClient(keywayUrl: string, who: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'test-client', version: '1.0.0' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(`${keywayUrl}/v1/mcp`), { requestInit: { headers: { 'x-test-as': who, ...headers } } });
  await client.connect(transport);
  return client;
}

/** sessionOf is the Mcp-Session-Id keyway gave a client. */
export function sessionOf(client: Client): string {
  return (client.transport as StreamableHTTPClientTransport).sessionId!;
}

/** rpc POSTs one raw JSON-RPC body (string or value) to /v1/mcp. */
export async function rpc(keywayUrl: string, who: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${keywayUrl}/v1/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-test-as': who, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: parseRpc(text) };
}

/** parseRpc reads a JSON answer, or the first JSON-RPC message of an SSE answer. */
export function parseRpc(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    const data = text.split('\n').find((l) => l.startsWith('data: '));
    return data ? JSON.parse(data.slice(6)) : undefined;
  }
}

export const INIT = (version = '2025-06-18') => ({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

/** until polls `check` until it returns true (or fails after `ms`). */
export async function until(check: () => boolean | Promise<boolean>, ms = 5_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}
