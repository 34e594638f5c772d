/**
 * MCP servers and connectors in the configuration: `mcp`, `connectors`, `flags`, the grant
 * fields `mcp_*` and `connectors`, URL safety, secrets. Pure validation and grant
 * evaluation; the running gateway is tested in mcp-gateway.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileGrants } from '../src/access/grants.js';
import { SECRET_MASK, maskSecrets, restoreSecrets } from '../src/config/secrets.js';
import type { Problem } from '../src/config/types.js';
import { validateConfigText, type ValidateOptions } from '../src/config/validate.js';
import type { Identity } from '../src/identity/identity.js';
import { unsafeAddressReason } from '../src/upstream/url-safety.js';

const CAP = 'tailscale.com/cap/aperture';
const ADMIN = [{ src: ['*'], app: { [CAP]: [{ role: 'admin' }] } }];

function docWith(top: Record<string, unknown>, grants: unknown[] = ADMIN): string {
  return JSON.stringify({ grants, ...top }, null, 2);
}

function check(top: Record<string, unknown>, grants?: unknown[], options: ValidateOptions = { env: {} }) {
  return validateConfigText(docWith(top, grants), options);
}

function has(problems: Problem[], severity: string, path: string, message: string | RegExp): void {
  const found = problems.find((p) => p.severity === severity && p.path === path && (typeof message === 'string' ? p.message === message : message.test(p.message)));
  assert.ok(found, `expected ${severity} at ${path}: ${message}\ngot: ${JSON.stringify(problems, null, 1)}`);
}

const FLAG = { flags: { connectors: { value: true } } };

describe('mcp and connectors sections', () => {
  test('mcp.servers and connectors (with the flag) become one list of servers; no not-implemented warnings', () => {
    const result = check({
      ...FLAG,
      mcp: { accept_registrations: true, servers: { local: { url: 'http://127.0.0.1:9000/mcp' } } },
      connectors: {
        servers: {
          github: { protocol: 'mcp', url: 'https://mcp.example.com/mcp', auth: { type: 'bearer_token', token: 'sk-test-gh' }, labels: ['dev'], description: 'GitHub' },
          api: { protocol: 'http', url: 'http://100.64.1.2:8080/api', auth: { type: 'api_key', api_key: 'sk-test-api' } },
          basic: { protocol: 'http', url: 'http://10.0.0.5/', auth: { type: 'basic', username: 'u', password: 'sk-test-pw' } },
          cc: { protocol: 'mcp', url: 'https://mcp2.example.com/', auth: { type: 'oauth2_client_credentials', token_url: 'https://auth.example.com/token', client_id: 'id', client_secret: 'sk-test-cs', scopes: ['read'] } },
        },
      },
    });
    assert.ok(result.config, JSON.stringify(result.problems));
    assert.deepEqual(result.problems.filter((p) => p.severity !== 'info'), []);
    const mcp = result.config.mcp;
    assert.equal(mcp.acceptRegistrations, true);
    assert.equal(mcp.connectorsEnabled, true);
    assert.deepEqual(mcp.servers.map((s) => [s.id, s.source, s.protocol, s.auth.type]), [
      ['local', 'mcp', 'mcp', 'none'],
      ['github', 'connector', 'mcp', 'bearer_token'],
      ['api', 'connector', 'http', 'api_key'],
      ['basic', 'connector', 'http', 'basic'],
      ['cc', 'connector', 'mcp', 'oauth2_client_credentials'],
    ]);
    const api = mcp.servers.find((s) => s.id === 'api')!;
    assert.deepEqual(api.auth, { type: 'api_key', header: 'X-API-Key', apiKey: 'sk-test-api' });
    assert.deepEqual(mcp.servers.find((s) => s.id === 'github')!.labels, ['dev']);
  });

  test('connectors without flags.connectors: a warning, and none of them is used', () => {
    const result = check({ connectors: { servers: { gh: { protocol: 'mcp', url: 'https://mcp.example.com/' } } } });
    assert.ok(result.config);
    has(result.problems, 'warning', 'connectors', /has no effect without the connectors feature flag/);
    assert.deepEqual(result.config.mcp.servers, []);
  });

  test('an unknown feature flag is a warning that it has no effect; a flag of the wrong shape is an error', () => {
    has(check({ flags: { chat_ui: { value: true } } }).problems, 'warning', 'flags.chat_ui', '"flags.chat_ui" has no effect: keyway does not know the feature flag "chat_ui"');
    has(check({ flags: { connectors: true } }).problems, 'error', 'flags.connectors', /must be an object like \{"value": true\}/);
    has(check({ flags: { connectors: { value: 'yes' } } }).problems, 'error', 'flags.connectors.value', /must be true or false/);
  });

  const BAD: Array<{ name: string; top: Record<string, unknown>; path: string; message: RegExp }> = [
    { name: 'an ID with an underscore', top: { mcp: { servers: { my_srv: { url: 'http://127.0.0.1:1/' } } } }, path: 'mcp.servers.my_srv', message: /must start with a letter and contain only letters and digits/ },
    { name: 'an ID with a dash', top: { mcp: { servers: { 'my-srv': { url: 'http://127.0.0.1:1/' } } } }, path: 'mcp.servers.my-srv', message: /only letters and digits/ },
    { name: 'an ID starting with a digit', top: { mcp: { servers: { '1srv': { url: 'http://127.0.0.1:1/' } } } }, path: 'mcp.servers["1srv"]', message: /must start with a letter/ },
    { name: 'a reserved ID', top: { mcp: { servers: { Internal: { url: 'http://127.0.0.1:1/' } } } }, path: 'mcp.servers.Internal', message: /is reserved/ },
    { name: 'the aperture ID', top: { ...FLAG, connectors: { servers: { aperture: { protocol: 'mcp', url: 'http://127.0.0.1:1/' } } } }, path: 'connectors.servers.aperture', message: /is reserved/ },
    { name: 'a registration ID', top: { mcp: { servers: { auto1: { url: 'http://127.0.0.1:1/' } } } }, path: 'mcp.servers.auto1', message: /reserved for servers registered/ },
    { name: 'the same ID twice', top: { ...FLAG, mcp: { servers: { gh: { url: 'http://127.0.0.1:1/' } } }, connectors: { servers: { GH: { protocol: 'mcp', url: 'http://127.0.0.1:2/' } } } }, path: 'connectors.servers.GH', message: /already used by mcp\.servers\.gh/ },
    { name: 'no url', top: { mcp: { servers: { a: {} } } }, path: 'mcp.servers.a.url', message: /has no url configured/ },
    { name: 'a non-http url', top: { mcp: { servers: { a: { url: 'file:///etc/passwd' } } } }, path: 'mcp.servers.a.url', message: /must be an http/ },
    { name: 'credentials in the url', top: { mcp: { servers: { a: { url: 'http://user:sk-test-pw@127.0.0.1:1/' } } } }, path: 'mcp.servers.a.url', message: /must not hold credentials/ },
    { name: 'cloud metadata', top: { mcp: { servers: { a: { url: 'http://169.254.169.254/latest/' } } } }, path: 'mcp.servers.a.url', message: /refuses to call 169\.254\.169\.254: .*cloud metadata/ },
    { name: 'cloud metadata by name', top: { mcp: { servers: { a: { url: 'http://metadata.google.internal/computeMetadata/v1/' } } } }, path: 'mcp.servers.a.url', message: /cloud metadata/ },
    { name: 'cloud metadata in hex', top: { mcp: { servers: { a: { url: 'http://0xA9FEA9FE/' } } } }, path: 'mcp.servers.a.url', message: /cloud metadata/ },
    { name: 'cloud metadata over IPv6', top: { mcp: { servers: { a: { url: 'http://[fd00:ec2::254]/' } } } }, path: 'mcp.servers.a.url', message: /cloud metadata/ },
    { name: 'link-local', top: { mcp: { servers: { a: { url: 'http://169.254.10.1:8080/' } } } }, path: 'mcp.servers.a.url', message: /link-local/ },
    { name: 'IPv6 link-local', top: { mcp: { servers: { a: { url: 'http://[fe80::1]:8080/' } } } }, path: 'mcp.servers.a.url', message: /link-local/ },
    { name: 'IPv4-mapped link-local', top: { mcp: { servers: { a: { url: 'http://[::ffff:169.254.1.1]/' } } } }, path: 'mcp.servers.a.url', message: /link-local/ },
    { name: 'a connector without protocol', top: { ...FLAG, connectors: { servers: { a: { url: 'http://127.0.0.1:1/' } } } }, path: 'connectors.servers.a.protocol', message: /needs "protocol": "mcp" or "http"/ },
    { name: 'an unknown protocol', top: { ...FLAG, connectors: { servers: { a: { protocol: 'grpc', url: 'http://127.0.0.1:1/' } } } }, path: 'connectors.servers.a.protocol', message: /invalid protocol "grpc"/ },
    { name: 'an unknown auth type', top: { ...FLAG, connectors: { servers: { a: { protocol: 'mcp', url: 'http://127.0.0.1:1/', auth: { type: 'digest' } } } } }, path: 'connectors.servers.a.auth.type', message: /invalid auth type "digest"/ },
    { name: 'a bearer_token without token', top: { ...FLAG, connectors: { servers: { a: { protocol: 'mcp', url: 'http://127.0.0.1:1/', auth: { type: 'bearer_token' } } } } }, path: 'connectors.servers.a.auth.token', message: /needs "token"/ },
    { name: 'client credentials without a secret', top: { ...FLAG, connectors: { servers: { a: { protocol: 'mcp', url: 'http://127.0.0.1:1/', auth: { type: 'oauth2_client_credentials', token_url: 'http://127.0.0.1:2/token', client_id: 'x' } } } } }, path: 'connectors.servers.a.auth.client_secret', message: /needs "client_secret"/ },
    { name: 'a token_url at the metadata service', top: { ...FLAG, connectors: { servers: { a: { protocol: 'mcp', url: 'http://127.0.0.1:1/', auth: { type: 'oauth2_client_credentials', token_url: 'http://169.254.169.254/token', client_id: 'x', client_secret: 'y' } } } } }, path: 'connectors.servers.a.auth.token_url', message: /cloud metadata/ },
    { name: 'an api_key header keyway sets itself', top: { ...FLAG, connectors: { servers: { a: { protocol: 'http', url: 'http://127.0.0.1:1/', auth: { type: 'api_key', header: 'Content-Length', api_key: 'k' } } } } }, path: 'connectors.servers.a.auth.header', message: /may not be sent as Content-Length/ },
    { name: 'the reserved label', top: { ...FLAG, connectors: { servers: { a: { protocol: 'mcp', url: 'http://127.0.0.1:1/', labels: ['system'] } } } }, path: 'connectors.servers.a.labels[0]', message: /label "system" is reserved/ },
  ];
  for (const bad of BAD) {
    test(`refused: ${bad.name}`, () => {
      const result = check(bad.top);
      assert.equal(result.config, undefined, 'an error refuses the document');
      has(result.problems, 'error', bad.path, bad.message);
    });
  }

  test("keyway's own listen address is refused once it is known; loopback, private and tailnet addresses are allowed", () => {
    const self = { port: 8080, hosts: ['127.0.0.1', 'ai.tailnet.ts.net'] };
    for (const url of ['http://127.0.0.1:8080/v1/mcp', 'http://localhost:8080/v1/mcp', 'http://ai.tailnet.ts.net:8080/v1/mcp', 'http://[::1]:8080/']) {
      has(check({ mcp: { servers: { a: { url } } } }, undefined, { env: {}, self }).problems, 'error', 'mcp.servers.a.url', /keyway's own listen address/);
    }
    for (const url of ['http://127.0.0.1:9000/mcp', 'http://localhost:8081/', 'http://10.1.2.3:8080/', 'http://192.168.1.1/', 'http://100.101.102.103:8080/', 'http://[fd7a:115c:a1e0::1]:3000/', 'https://srv.tailnet.ts.net/mcp', 'https://mcp.example.com/']) {
      const result = check({ mcp: { servers: { a: { url } } } }, undefined, { env: {}, self });
      assert.ok(result.config, `${url}: ${JSON.stringify(result.problems)}`);
    }
  });

  test('resolved addresses are checked too: link-local and metadata refused, others allowed', () => {
    assert.match(unsafeAddressReason('169.254.169.254') ?? '', /metadata/);
    assert.match(unsafeAddressReason('::ffff:169.254.169.254') ?? '', /metadata/);
    assert.match(unsafeAddressReason('fe80::abcd') ?? '', /link-local/);
    assert.match(unsafeAddressReason('0.0.0.0') ?? '', /unspecified/);
    for (const ip of ['127.0.0.1', '10.0.0.1', '100.64.0.1', '::1', 'fd7a:115c:a1e0::1', '8.8.8.8']) assert.equal(unsafeAddressReason(ip), undefined, ip);
  });

  test('per-user OAuth is validated and warned about: it has no effect', () => {
    const result = check({ ...FLAG, connectors: { servers: { sf: { protocol: 'mcp', url: 'https://sf.example.com/mcp', auth: { type: 'oauth2_authorization_code', client_id: 'x', authorization_url: 'https://sf.example.com/auth', token_url: 'https://sf.example.com/token', scopes: ['api'] } } } } });
    assert.ok(result.config, JSON.stringify(result.problems));
    has(result.problems, 'warning', 'connectors.servers.sf.auth.type', '"auth.type: oauth2_authorization_code" has no effect: keyway does not implement per-user OAuth (oauth2_authorization_code) for connectors yet');
    has(check({ ...FLAG, connectors: { servers: { d: { protocol: 'mcp', url: 'https://d.example.com/mcp', auth: { type: 'oauth2_dcr' } } } } }).problems, 'warning', 'connectors.servers.d.auth.type', /oauth2_dcr/);
  });

  test('every secret of a connector is masked in admin reads and restored on save', () => {
    const text = docWith({
      ...FLAG,
      connectors: {
        servers: {
          a: { protocol: 'mcp', url: 'http://127.0.0.1:1/', auth: { type: 'bearer_token', token: 'sk-test-bearer-1' } },
          b: { protocol: 'http', url: 'http://127.0.0.1:2/', auth: { type: 'api_key', header: 'X-Key', api_key: 'sk-test-apikey-2' } },
          c: { protocol: 'http', url: 'http://127.0.0.1:3/', auth: { type: 'basic', username: 'me', password: 'sk-test-password-3' } },
          d: { protocol: 'mcp', url: 'http://127.0.0.1:4/', auth: { type: 'oauth2_client_credentials', token_url: 'http://127.0.0.1:5/t', client_id: 'cid', client_secret: 'sk-test-secret-4' } },
        },
      },
    });
    const masked = maskSecrets(text);
    for (const secret of ['sk-test-bearer-1', 'sk-test-apikey-2', 'sk-test-password-3', 'sk-test-secret-4']) assert.ok(!masked.includes(secret), secret);
    assert.equal(masked.split(SECRET_MASK).length - 1, 4);
    assert.ok(masked.includes('"cid"') && masked.includes('"me"'), 'names are not secrets');
    const restored = restoreSecrets(masked, text);
    assert.deepEqual(restored.unresolved, []);
    assert.equal(restored.text, text);
  });
});

describe('MCP grants', () => {
  const servers = { mcp: { servers: { local: { url: 'http://127.0.0.1:1/' }, docs: { url: 'http://127.0.0.1:2/' } } } };

  test('mcp_* fields and connectors patterns are normalised to serverID/category/item globs', () => {
    const result = check({ ...servers }, [
      { src: ['*'], app: { [CAP]: [{ role: 'admin' }, { mcp_tools: 'local/*' }, { mcp_resources: 'docs/**' }, { mcp_templates: '**' }, { mcp_tools: '*/search' }, { connectors: ['docs/tools/read', 'label:dev', 'label:ops/proxy/**'] }] } },
    ]);
    assert.ok(result.config, JSON.stringify(result.problems));
    const mcp = result.config.grants[0]!.caps.flatMap((c) => c.mcp ?? []);
    assert.deepEqual(mcp, ['local/tools/*', 'docs/resources/**', '*/templates/**', '*/tools/search', 'docs/tools/read', 'label:dev/**', 'label:ops/proxy/**']);
  });

  test('a pattern naming an undeclared server is a warning (the reference wording); a malformed one is an error', () => {
    has(check(servers, [{ src: ['*'], app: { [CAP]: [{ role: 'admin' }, { mcp_tools: 'github/*' }] } }]).problems, 'warning', 'grants[0].app["tailscale.com/cap/aperture"][1].mcp_tools', 'mcp_tools pattern "github/*" references server "github" which does not match any declared MCP server');
    has(check(servers, [{ src: ['*'], app: { [CAP]: [{ role: 'admin' }, { mcp_tools: 'local' }] } }]).problems, 'error', 'grants[0].app["tailscale.com/cap/aperture"][1].mcp_tools', /must be "serverID\/item"/);
    has(check(servers, [{ src: ['*'], app: { [CAP]: [{ role: 'admin' }, { connectors: ['local/widgets/x'] }] } }]).problems, 'error', 'grants[0].app["tailscale.com/cap/aperture"][1].connectors[0]', /must be "connectorID\/category\/item"/);
    has(check(servers, [{ src: ['*'], app: { [CAP]: [{ role: 'admin' }, { connectors: ['local/tools'] }] } }]).problems, 'error', 'grants[0].app["tailscale.com/cap/aperture"][1].connectors[0]', /must be/);
    has(check(servers, [{ src: ['*'], app: { [CAP]: [{ role: 'admin' }, { mcp_tools: ['local/*'] }] } }]).problems, 'error', 'grants[0].app["tailscale.com/cap/aperture"][1].mcp_tools', /must be a string/);
    const wild = check(servers, [{ src: ['*'], app: { [CAP]: [{ role: 'admin' }, { mcp_tools: 'l*/x' }, { mcp_tools: 'auto*/x' }] } }]);
    assert.deepEqual(wild.problems.filter((p) => p.severity !== 'info'), [], 'a glob that matches a server, and registrations, are fine');
  });

  test('access: deny by default, globs per category, labels', () => {
    const who: Identity = { login: 'a@example.com', displayName: '', nodeId: 'n', tags: [], groups: [], loopback: false, capMap: {} };
    const evaluate = compileGrants([
      { src: ['a@example.com'], caps: [{ role: 'user', extra: {} }, { mcp: ['local/tools/*', 'docs/resources/**', 'label:dev/tools/deploy'], extra: {} }], otherApps: {} },
    ]);
    const access = evaluate(who).mcp;
    assert.equal(access.granted, true);
    assert.equal(access.allows('local', [], 'tools', 'search'), true);
    assert.equal(access.allows('local', [], 'resources', 'file:///x'), false, 'another category');
    assert.equal(access.allows('docs', [], 'resources', 'file:///a/b.txt'), true, '** spans the slashes of a URI');
    assert.equal(access.allows('docs', [], 'tools', 'search'), false);
    assert.equal(access.allows('gh', ['dev'], 'tools', 'deploy'), true, 'by label');
    assert.equal(access.allows('gh', ['ops'], 'tools', 'deploy'), false);
    assert.equal(access.allows('gh', [], 'tools', 'deploy'), false);
    const nobody = compileGrants([{ src: ['*'], caps: [{ role: 'user', extra: {} }], otherApps: {} }])(who).mcp;
    assert.equal(nobody.granted, false);
    assert.equal(nobody.allows('local', [], 'tools', 'search'), false);
  });
});
