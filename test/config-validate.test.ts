import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { NOT_IMPLEMENTED } from '../src/config/not-implemented.js';
import { blocking } from '../src/config/problems.js';
import { STARTER_CONFIG } from '../src/config/starter.js';
import type { Problem } from '../src/config/types.js';
import { validateConfigText } from '../src/config/validate.js';

/** A service-account keyfile made here (a fresh RSA key), for the docs' keyfile:: examples. */
const EXAMPLE_KEYFILE = Buffer.from(
  JSON.stringify({
    type: 'service_account',
    project_id: 'docs-test-project',
    client_email: 'docs-test@docs-test-project.iam.gserviceaccount.com',
    token_uri: 'https://oauth2.googleapis.com/token',
    private_key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
  }),
).toString('base64');

const grants = `"grants": [{"src": ["*"], "app": {"tailscale.com/cap/aperture": [{"role": "admin"}, {"models": "**"}]}}]`;

function problemsOf(text: string, env: Record<string, string> = {}): Problem[] {
  return validateConfigText(text, { env }).problems;
}

function has(problems: Problem[], severity: string, path: string, message: string | RegExp): void {
  const found = problems.find((p) => p.severity === severity && p.path === path && (typeof message === 'string' ? p.message === message : message.test(p.message)));
  assert.ok(found, `expected ${severity} at ${path}: ${message}\ngot: ${JSON.stringify(problems, null, 1)}`);
}

describe('configuration validation', () => {
  test('the starter config is valid and has no warnings', () => {
    const result = validateConfigText(STARTER_CONFIG, { env: {} });
    assert.ok(result.config);
    assert.deepEqual(result.problems.filter((p) => p.severity !== 'info'), []);
    assert.equal(result.config.providers.length, 3);
    assert.ok(result.config.providers.every((p) => p.authMode === 'passthrough' && p.apikey === ''));
  });

  // One verdict: what keyway would have to drop or guess at is an error (refused
  // everywhere); a warning never blocks and never drops anything.
  const cases: Array<{ name: string; providers: string; severity: string; path: string; message: string | RegExp }> = [
    { name: 'missing baseurl', providers: `{"p": {"models": ["m"]}}`, severity: 'error', path: 'providers.p.baseurl', message: 'provider p has no baseurl configured' },
    { name: 'non-http baseurl', providers: `{"p": {"baseurl": "ftp://x", "models": ["m"]}}`, severity: 'error', path: 'providers.p.baseurl', message: /invalid baseurl/ },
    { name: 'unknown auth_mode', providers: `{"p": {"baseurl": "https://x", "auth_mode": "passthru", "apikey": "k"}}`, severity: 'error', path: 'providers.p.auth_mode', message: /invalid auth_mode: passthru/ },
    { name: 'bad authorization', providers: `{"p": {"baseurl": "https://x", "authorization": "basic", "apikey": "k"}}`, severity: 'error', path: 'providers.p.authorization', message: 'provider p has invalid authorization type: basic' },
    { name: 'override without key', providers: `{"p": {"baseurl": "https://x", "auth_mode": "override"}}`, severity: 'error', path: 'providers.p.apikey', message: /override.*no apikey/ },
    { name: 'malformed add_headers', providers: `{"p": {"baseurl": "https://x", "apikey": "k", "add_headers": ["Bad-Entry"]}}`, severity: 'error', path: 'providers.p.add_headers[0]', message: 'provider p: add_headers entry "Bad-Entry" must be in "Header-Name: value" format' },
    { name: 'header injection in add_headers', providers: `{"p": {"baseurl": "https://x", "apikey": "k", "add_headers": ["X-A: b\\r\\nX-Evil: 1"]}}`, severity: 'error', path: 'providers.p.add_headers[0]', message: /must be in "Header-Name: value" format/ },
    { name: 'reserved add_headers', providers: `{"p": {"baseurl": "https://x", "apikey": "k", "add_headers": ["Host: evil"]}}`, severity: 'error', path: 'providers.p.add_headers[0]', message: 'provider p: add_headers may not set Host' },
    { name: 'wildcard model name', providers: `{"p": {"baseurl": "https://x", "apikey": "k", "models": ["claude-opus-*"]}}`, severity: 'error', path: 'providers.p.models[0]', message: /wildcard/ },
    { name: 'empty model name', providers: `{"p": {"baseurl": "https://x", "apikey": "k", "models": [""]}}`, severity: 'error', path: 'providers.p.models[0]', message: 'provider p lists an empty model name' },
    { name: 'unknown provider key', providers: `{"p": {"basurl": "https://x"}}`, severity: 'warning', path: 'providers.p.basurl', message: 'unknown config key "basurl"' },
    { name: 'type mismatch', providers: `{"p": {"baseurl": "https://x", "apikey": "k", "preference": "high"}}`, severity: 'error', path: 'providers.p.preference', message: /must be a whole number, not string/ },
    { name: 'empty models saves but serves nothing', providers: `{"p": {"baseurl": "https://x", "apikey": "k", "models": []}}`, severity: 'warning', path: 'providers.p.models', message: /serves nothing/ },
    { name: 'slash in provider id', providers: `{"a/b": {"baseurl": "https://x", "apikey": "k"}}`, severity: 'error', path: 'providers["a/b"]', message: /provider ID/ },
    { name: 'provider not an object', providers: `{"p": "https://x"}`, severity: 'error', path: 'providers.p', message: 'provider p must be an object' },
    { name: 'unknown compatibility flag', providers: `{"p": {"baseurl": "https://x", "apikey": "k", "compatibility": {"anthropic": true}}}`, severity: 'warning', path: 'providers.p.compatibility.anthropic', message: 'unknown config key "anthropic"' },
    { name: 'model_cost_map without "as"', providers: `{"p": {"baseurl": "https://x", "apikey": "k", "model_cost_map": [{"match": "m*"}]}}`, severity: 'error', path: 'providers.p.model_cost_map[0]', message: 'model_cost_map entries need both "match" and "as"' },
    { name: 'unknown cost_basis', providers: `{"p": {"baseurl": "https://x", "apikey": "k", "cost_basis": "acme"}}`, severity: 'warning', path: 'providers.p.cost_basis', message: /unknown cost_basis: acme/ },
    { name: 'duplicate model', providers: `{"p": {"baseurl": "https://x", "apikey": "k", "models": ["m", "m"]}}`, severity: 'info', path: 'providers.p.models[1]', message: 'provider p lists model "m" more than once' },
  ];
  for (const c of cases) {
    test(`reports ${c.name}`, () => has(problemsOf(`{"providers": ${c.providers}, ${grants}}`), c.severity, c.path, c.message));
  }

  test('HuJSON: comments and trailing commas', () => {
    const result = validateConfigText(`// hello\n{"providers": {"p": {"baseurl": "https://x", "apikey": "k", /* c */ "models": ["m",],},}, ${grants},}`, { env: {} });
    assert.ok(result.config);
  });

  test('syntax errors carry line and column', () => {
    const problems = problemsOf('{\n  "providers": {\n    "p": {"baseurl" "https://x"}\n  }\n}');
    const err = problems.find((p) => p.severity === 'error');
    assert.ok(err);
    assert.equal(err.line, 3);
    assert.match(err.message, /syntax error/);
  });

  test('duplicate keys are errors with a path and a line (the earlier value would be dropped)', () => {
    const problems = problemsOf(`{"providers": {"p": {"baseurl": "https://x",\n "baseurl": "https://y", "apikey": "k"}}, ${grants}}`);
    has(problems, 'error', 'providers.p.baseurl', 'duplicate config key "baseurl"');
    assert.equal(problems.find((p) => p.message.startsWith('duplicate'))!.line, 2);
  });

  test('unknown top-level keys are warnings', () => {
    has(problemsOf(`{"providers": {}, "hostname": "x", ${grants}}`), 'warning', 'hostname', 'unknown config key "hostname"');
  });

  test('empty config is an error', () => {
    has(problemsOf('   '), 'error', '', 'config must not be empty');
  });

  test('${VAR} macros are substituted from the environment', () => {
    const result = validateConfigText(`{"providers": {"p": {"baseurl": "https://x", "apikey": "\${MY_KEY}"}}, ${grants}}`, { env: { MY_KEY: 'sk-test-from-env' } });
    assert.equal(result.config?.providers[0]?.apikey, 'sk-test-from-env');
  });

  test('unresolved macros are an error that names them', () => {
    has(problemsOf(`{"providers": {"p": {"baseurl": "https://x", "apikey": "\${NOPE_KEY}"}}, ${grants}}`), 'error', '', 'unsubstituted macros: [NOPE_KEY]');
  });

  test('compatibility defaults: no block means openai_chat only; a block means exactly what it says', () => {
    const result = validateConfigText(`{"providers": {"a": {"baseurl": "https://x", "apikey": "k"}, "b": {"baseurl": "https://x", "apikey": "k", "compatibility": {"anthropic_messages": true}}}, ${grants}}`, { env: {} });
    const [a, b] = result.config!.providers;
    assert.equal(a!.compatibility.openai_chat, true);
    assert.equal(a!.compatibility.anthropic_messages, false);
    assert.equal(b!.compatibility.openai_chat, false);
    assert.equal(b!.compatibility.anthropic_messages, true);
  });

  test('auth_mode "" and omitted mean override', () => {
    const result = validateConfigText(`{"providers": {"a": {"baseurl": "https://x", "apikey": "k", "auth_mode": ""}, "b": {"baseurl": "https://x", "apikey": "k"}}, ${grants}}`, { env: {} });
    assert.deepEqual(result.config!.providers.map((p) => p.authMode), ['override', 'override']);
  });

  test('grant warnings: none, no admin, unknown provider in a models pattern', () => {
    has(problemsOf(`{"providers": {"p": {"baseurl": "https://x", "apikey": "k"}}}`), 'warning', 'grants', 'providers are configured but no grants or temp_grants defined; all access will be denied');
    has(problemsOf(`{"providers": {"p": {"baseurl": "https://x", "apikey": "k"}}, "grants": [{"src": ["*"], "app": {"tailscale.com/cap/aperture": [{"role": "user"}]}}]}`), 'warning', 'grants', /no grant in grants or temp_grants assigns role:admin/);
    has(
      problemsOf(`{"providers": {"p": {"baseurl": "https://x", "apikey": "k"}}, "grants": [{"src": ["*"], "app": {"tailscale.com/cap/aperture": [{"role": "admin"}, {"models": "openai/**"}]}}]}`),
      'warning',
      'grants[0].app["tailscale.com/cap/aperture"][1].models',
      'models pattern "openai/**" references provider "openai" which does not match any declared provider',
    );
  });

  test('no providers at all is a warning', () => {
    has(problemsOf(`{${grants}}`), 'warning', 'providers', 'no providers or mcp servers defined; users will not be able to access any models');
  });

  test('other sections: hooks, quotas, exporters', () => {
    const problems = problemsOf(`{"providers": {}, ${grants}, "hooks": {"h": {"url": "ftp://x"}}, "quotas": {"q:bad": {"capacity": "5", "rate": "$1/year"}}, "exporters": {"s3": {"prefix": "logs/"}}}`);
    has(problems, 'error', 'hooks.h.url', 'hook h has invalid URL scheme (must be http:// or https://): ftp://x');
    has(problems, 'error', 'quotas["q:bad"]', /"bad" after the colon is not a template/);
    has(problems, 'error', 'quotas["q:bad"].capacity', /capacity must be a dollar amount/);
    // The export is in force: a prefix it would write outside of is an error, no longer the reference's warning.
    has(problems, 'error', 'exporters.s3.prefix', 'exporters.s3.prefix must not end with a slash');
  });

  test('legacy temp_grants are accepted as grants', () => {
    const result = validateConfigText(`{"providers": {"p": {"baseurl": "https://x", "apikey": "k", "models": ["m"]}}, "temp_grants": [{"src": ["*"], "grants": [{"role": "admin"}, {"providers": [{"provider": "p", "model": "*"}]}]}]}`, { env: {} });
    assert.ok(result.config);
    assert.deepEqual(result.config.grants[0]!.caps.map((c) => c.role ?? c.models), ['admin', 'p/**']);
    assert.deepEqual(result.problems.filter((p) => p.severity === 'warning'), []);
  });

  test('__proto__ keys never touch prototypes', () => {
    const result = validateConfigText(`{"providers": {"__proto__": {"baseurl": "https://x", "apikey": "k"}}, ${grants}}`, { env: {} });
    assert.equal(({} as Record<string, unknown>).baseurl, undefined);
    assert.ok(result.problems.some((p) => p.path === 'providers.__proto__' && /provider ID/.test(p.message)));
  });

  test('every problem whose path is in the text has its line and column', () => {
    const text = `{\n  "providers": {\n    "p": {\n      "baseurl": "https://x",\n      "apikey": "k",\n      "auth_mode": "sometimes",\n      "models": ["m"]\n    },\n    "q": {"apikey": "k", "models": ["m"]}\n  },\n  ${grants}\n}`;
    const problems = validateConfigText(text, { env: {} }).problems;
    const mode = problems.find((p) => p.path === 'providers.p.auth_mode')!;
    assert.deepEqual([mode.line, mode.column], [6, 7]);
    // A missing field points at its nearest existing parent.
    const missing = problems.find((p) => p.path === 'providers.q.baseurl')!;
    assert.deepEqual([missing.line, missing.column], [9, 5]);
  });

  test('warnings never block: a document with only warnings compiles', () => {
    const result = validateConfigText(`{"providers": {"p": {"baseurl": "https://x", "apikey": "k", "models": [], "extra": 1}}, "hostname": "x", ${grants}}`, { env: {} });
    assert.ok(result.problems.some((p) => p.severity === 'warning'));
    assert.deepEqual(blocking(result.problems), []);
    assert.ok(result.config);
    assert.equal(result.config.providers.length, 1);
  });

  test('grants: what would be dropped is an error', () => {
    const cap = (c: string) => `{"providers": {"p": {"baseurl": "https://x", "apikey": "k"}}, "grants": [{"src": ["*"], "app": {"tailscale.com/cap/aperture": [{"role": "admin"}, ${c}]}}]}`;
    has(problemsOf(cap('{"role": "owner"}')), 'error', 'grants[0].app["tailscale.com/cap/aperture"][1].role', 'invalid role "owner" (want "admin" or "user")');
    has(problemsOf(cap('"admin"')), 'error', 'grants[0].app["tailscale.com/cap/aperture"][1]', 'capability must be an object');
    has(problemsOf(cap('{"add_headers": ["nope"]}')), 'error', 'grants[0].app["tailscale.com/cap/aperture"][1].add_headers[0]', 'add_headers entry "nope" must be in "Header-Name: value" format');
    has(problemsOf(cap('{"enable_chat_ui": "no"}')), 'error', 'grants[0].app["tailscale.com/cap/aperture"][1].enable_chat_ui', /must be true or false, not string/);
    has(problemsOf(`{"providers": {}, "grants": ["alice"]}`), 'error', 'grants[0]', /must be an object/);
    has(problemsOf(`{"providers": {}, "temp_grants": [{"src": ["*"], "grants": [{"providers": ["p"]}]}]}`), 'error', 'temp_grants[0].grants[0].providers[0]', /must be objects/);
    has(problemsOf(cap('{"model": "**"}')), 'warning', 'grants[0].app["tailscale.com/cap/aperture"][1].model', 'unknown config key "model"');
  });

  test('database.retention is in force, so what it cannot read is an error', () => {
    has(problemsOf(`{"providers": {}, ${grants}, "database": {"retention": {"duration": "a month"}}}`), 'error', 'database.retention.duration', /is not a duration/);
    has(problemsOf(`{"providers": {}, ${grants}, "database": {"retention": {"purge": ["logs"]}}}`), 'error', 'database.retention.purge[0]', /must be "captures" or "tools"/);
    const ok = validateConfigText(`{"providers": {}, ${grants}, "database": {"retention": {"duration": "720h", "purge": ["captures", "tools"]}}}`, { env: {} });
    assert.deepEqual(blocking(ok.problems), []);
    assert.deepEqual(ok.problems.filter((p) => p.path.startsWith('database')), [], 'duration and purge are implemented: no warning');
  });

  test('exporters.s3 is in force: each field it cannot use is an error naming it', () => {
    const s3 = (fields: Record<string, unknown>, extra = '') => `{"providers": {}, ${grants}, "exporters": {"s3": ${JSON.stringify({ bucket_name: 'audit', ...fields })}}${extra}}`;
    const ok = validateConfigText(s3({ endpoint: 'http://127.0.0.1:9000', region: 'eu-west-3', prefix: 'a/b', access_key_id: 'FAKETEST', access_secret: 'test-secret', every: '15m', limit: 500 }), { env: {} });
    assert.deepEqual(ok.problems.filter((p) => p.path.startsWith('exporters')), [], 'a full exporter is implemented: no warning');
    assert.deepEqual(ok.config!.s3Export, { endpoint: 'http://127.0.0.1:9000', bucket: 'audit', region: 'eu-west-3', prefix: 'a/b', accessKeyId: 'FAKETEST', accessSecret: 'test-secret', everyMs: 900_000, limit: 500 });
    const defaults = validateConfigText(s3({}), { env: {} }).config!.s3Export!;
    assert.deepEqual([defaults.region, defaults.everyMs, defaults.limit, defaults.endpoint, defaults.prefix], ['us-east-1', 3_600_000, 1000, '', ''], "the reference's defaults");
    assert.equal(validateConfigText(s3({ every: 90 }), { env: {} }).config!.s3Export!.everyMs, 90_000, 'a number is seconds, as in the reference');
    assert.equal(validateConfigText(`{"providers": {}, ${grants}, "exporters": {"s3": {"prefix": "x"}}}`, { env: {} }).config!.s3Export, undefined, 'no bucket, no export');
    has(problemsOf(`{"providers": {}, ${grants}, "exporters": {"s3": {"prefix": "x"}}}`), 'info', 'exporters.s3.bucket_name', /no bucket_name, so nothing is exported/);

    has(problemsOf(s3({ endpoint: 'ftp://x' })), 'error', 'exporters.s3.endpoint', /must be an http:\/\/ or https:\/\/ URL/);
    has(problemsOf(s3({ endpoint: 'https://user:pw@s3.example' })), 'error', 'exporters.s3.endpoint', /without credentials/);
    has(problemsOf(s3({ bucket_name: 'a/b' })), 'error', 'exporters.s3.bucket_name', /is not a bucket name/);
    has(problemsOf(s3({ bucket_name: 7 })), 'error', 'exporters.s3.bucket_name', /must be a string, not number/);
    has(problemsOf(s3({ region: 'eu west' })), 'error', 'exporters.s3.region', /is not a region name/);
    has(problemsOf(s3({ prefix: 'logs/' })), 'error', 'exporters.s3.prefix', 'exporters.s3.prefix must not end with a slash');
    has(problemsOf(s3({ prefix: '/logs' })), 'error', 'exporters.s3.prefix', 'exporters.s3.prefix must not start with a slash');
    has(problemsOf(s3({ access_key_id: 'FAKETEST' })), 'error', 'exporters.s3.access_secret', 'exporters.s3.access_secret is required when access_key_id is set');
    has(problemsOf(s3({ access_secret: 'test-secret' })), 'error', 'exporters.s3.access_key_id', 'exporters.s3.access_key_id is required when access_secret is set');
    has(problemsOf(s3({ every: 'hourly' })), 'error', 'exporters.s3.every', /must be a duration like "1h"/);
    has(problemsOf(s3({ every: '500ms' })), 'error', 'exporters.s3.every', /at least one second/);
    has(problemsOf(s3({ every: true })), 'error', 'exporters.s3.every', /must be a duration/);
    has(problemsOf(s3({ limit: 0 })), 'error', 'exporters.s3.limit', 'exporters.s3.limit must be at least 1, not 0');
    has(problemsOf(s3({ limit: 2.5 })), 'error', 'exporters.s3.limit', /must be a whole number/);
    has(problemsOf(s3({ bucket: 'audit' })), 'warning', 'exporters.s3.bucket', 'unknown config key "bucket"');
    // The reference caps limit silently; keyway caps it too and says so.
    const capped = validateConfigText(s3({ limit: 50_000 }), { env: {} });
    has(capped.problems, 'info', 'exporters.s3.limit', /at most 10000 records/);
    assert.equal(capped.config!.s3Export!.limit, 10_000);
  });

  test('require_export without an export keeps captures for ever: a warning', () => {
    const retention = `"database": {"retention": {"duration": "0", "require_export": true}}`;
    has(problemsOf(`{"providers": {}, ${grants}, ${retention}}`), 'warning', 'database.retention.require_export', /exporters.s3 has no bucket_name: captures are never purged/);
    const withExport = problemsOf(`{"providers": {}, ${grants}, ${retention}, "exporters": {"s3": {"bucket_name": "audit"}}}`);
    assert.deepEqual(withExport.filter((p) => p.path.startsWith('database') || p.path.startsWith('exporters')), []);
    has(problemsOf(`{"providers": {}, ${grants}, "database": {"retention": {"require_export": "yes"}}}`), 'error', 'database.retention.require_export', /must be true or false/);
  });

  test('every key of the NOT_IMPLEMENTED table is a warning naming it, and never blocks', () => {
    // A valid value for each key (anything not listed here: {} in the document, ["*"] in a grant).
    const sample: Record<string, unknown> = {
      'document quotas': { daily: { capacity: '$5.00', rate: '$5.00/day' } },
      'document hooks': { h: { url: 'https://hook.example' } },
      'capability quotas': [{ bucket: 'daily' }],
      'capability send_hooks': [{ name: 'h', events: ['entire_request'], send: ['tools'] }],
    };
    const provider = { baseurl: 'https://x', apikey: 'k', models: ['m'] };
    const admin = { src: ['*'], app: { 'tailscale.com/cap/aperture': [{ role: 'admin' }] } };
    const nest = (path: string[], v: unknown): Record<string, unknown> => ({ [path[0]!]: path.length === 1 ? v : nest(path.slice(1), v) });
    for (const entry of NOT_IMPLEMENTED) {
      const value = sample[`${entry.scope} ${entry.key}`];
      let doc: Record<string, unknown>;
      let where: string;
      if (entry.scope === 'document') {
        doc = { providers: { p: provider }, grants: [admin], ...nest(entry.key.split('.'), value ?? {}) };
        where = entry.key;
      } else if (entry.scope === 'provider') {
        doc = { providers: { p: { ...provider, ...nest(entry.key.split('.'), true) } }, grants: [admin] };
        where = `providers.p.${entry.key}`;
      } else if (entry.scope === 'capability') {
        const cap = { src: ['*'], app: { 'tailscale.com/cap/aperture': [{ role: 'admin' }, { [entry.key]: value ?? ['*'] }] } };
        doc = { providers: { p: provider }, quotas: sample['document quotas'], hooks: sample['document hooks'], grants: [cap] };
        where = `grants[0].app["tailscale.com/cap/aperture"][1]${/^[A-Za-z_][A-Za-z0-9_-]*$/.test(entry.key) ? `.${entry.key}` : `[${JSON.stringify(entry.key)}]`}`;
      } else if (entry.scope === 'connector') {
        const server = { protocol: 'mcp', url: 'https://mcp.example.com/', ...nest(entry.key.split('.'), entry.value ?? true) };
        doc = { providers: { p: provider }, grants: [admin], flags: { connectors: { value: true } }, connectors: { servers: { c: server } } };
        where = `connectors.servers.c.${entry.key}`;
      } else {
        doc = { providers: { p: provider }, hooks: sample['document hooks'], temp_grants: [{ src: ['*'], grants: [{ role: 'admin' }, { [entry.key]: { hook: 'h', match: { events: ['entire_request'] } } }] }] };
        where = `temp_grants[0].grants[1].${entry.key}`;
      }
      const result = validateConfigText(JSON.stringify(doc), { env: {} });
      assert.deepEqual(blocking(result.problems), [], `${entry.scope} ${entry.key}: ${JSON.stringify(result.problems)}`);
      const key = entry.value === undefined ? entry.key : `${entry.key}: ${entry.value}`;
      has(result.problems, 'warning', where, `"${key}" has no effect: keyway does not implement ${entry.feature} yet`);
    }
  });

  test('keys set to false ask for nothing and are not reported', () => {
    const problems = problemsOf(`{"providers": {"p": {"baseurl": "https://x", "apikey": "k", "compatibility": {"openai_chat": true, "bedrock_converse": false}}}, ${grants}}`);
    assert.deepEqual(problems.filter((p) => /has no effect/.test(p.message)), []);
  });

  test('chat_models: exact names with labels and patterns; what would be dropped is an error', () => {
    const base = `"providers": {"p": {"baseurl": "https://x", "apikey": "k", "models": ["m1", "m2"]}}, ${grants}`;
    const ok = validateConfigText(`{${base}, "chat_models": [{"model": "p/m1", "label": "Model one"}, "p/**"]}`, { env: {} });
    assert.deepEqual(blocking(ok.problems), []);
    assert.deepEqual(ok.config!.chatModels, [{ model: 'p/m1', label: 'Model one' }, { model: 'p/**', label: undefined }]);
    assert.equal(validateConfigText(`{${base}}`, { env: {} }).config!.chatModels, undefined, 'no key: every model');
    has(problemsOf(`{${base}, "chat_models": "p/m1"}`), 'error', 'chat_models', /must be an array, not string/);
    has(problemsOf(`{${base}, "chat_models": [42]}`), 'error', 'chat_models[0]', /must be "provider\/model" or/);
    has(problemsOf(`{${base}, "chat_models": ["m1"]}`), 'error', 'chat_models[0]', /must be provider\/model/);
    has(problemsOf(`{${base}, "chat_models": [{"label": "x"}]}`), 'error', 'chat_models[0]', /need a model/);
    has(problemsOf(`{${base}, "chat_models": [{"model": "p/*", "label": "All"}]}`), 'error', 'chat_models[0].label', /is a pattern; a label names one model/);
    has(problemsOf(`{${base}, "chat_models": ["p/m1", "p/m1"]}`), 'error', 'chat_models[1]', 'chat_models lists "p/m1" more than once');
    has(problemsOf(`{${base}, "chat_models": ["q/m1"]}`), 'warning', 'chat_models[0]', 'chat_models entry "q/m1" references provider "q" which does not match any declared provider');
    has(problemsOf(`{${base}, "chat_models": ["p/m9"]}`), 'warning', 'chat_models[0]', /provider p does not list model "m9"/);
    has(problemsOf(`{${base}, "chat_models": [{"model": "p/m1", "labell": "x"}]}`), 'warning', 'chat_models[0].labell', 'unknown config key "labell"');
    has(problemsOf(`{${base}, "chat_models": []}`), 'warning', 'chat_models', /chat offers no model/);
  });

  test('every configuration example in README.md and docs/ is accepted', async () => {
    // Fragments (`"providers": {…}`, one provider `"id": {…}`) are completed into a document.
    const root = new URL('../../', import.meta.url);
    const files = ['README.md', 'docs/configuration.md', 'docs/clients.md', 'docs/telemetry.md', 'docs/operations.md', 'docs/dashboard.md', 'docs/identity.md', 'docs/hooks.md'];
    let checked = 0;
    for (const name of files) {
      const md = await readFile(new URL(name, root), 'utf8');
      for (const [, block] of md.matchAll(/```(?:json|jsonc|hujson)\n([\s\S]*?)```/g)) {
        const text = block!.trim();
        // Only gateway configuration: not client settings, not the tailnet policy file (dst/ip).
        if (!/"(baseurl|tailscale\.com\/cap\/aperture|retention|chat_models)"/.test(text) || /"dst"/.test(text)) continue;
        const candidates = text.startsWith('{') ? [text] : [`{${text}}`, `{"providers": {${text}}}`];
        const results = candidates.map((t) => validateConfigText(t, { env: { ANTHROPIC_FALLBACK_KEY: 'sk-ant-test-x', ANTHROPIC_API_KEY: 'sk-ant-test-x', VERTEX_KEYFILE_B64: EXAMPLE_KEYFILE, BEDROCK_API_KEY: 'test-bedrock-api-key', DLP_KEY: 'hk-test-x', CRIBL_TOKEN: 'hk-test-y', GUARD_KEY: 'hk-test-z' } }));
        const best = results.find((r) => r.config) ?? results[0]!;
        assert.deepEqual(blocking(best.problems), [], `${name}:\n${text}`);
        checked++;
      }
    }
    assert.ok(checked >= 4, `${checked} examples checked`);
  });
});
