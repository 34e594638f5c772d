import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { STARTER_CONFIG } from '../src/config/starter.js';
import type { Problem } from '../src/config/types.js';
import { validateConfigText } from '../src/config/validate.js';

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

  const cases: Array<{ name: string; providers: string; severity: string; path: string; message: string | RegExp }> = [
    { name: 'missing baseurl', providers: `{"p": {"models": ["m"]}}`, severity: 'warning', path: 'providers.p.baseurl', message: 'provider p has no baseurl configured' },
    { name: 'non-http baseurl', providers: `{"p": {"baseurl": "ftp://x", "models": ["m"]}}`, severity: 'warning', path: 'providers.p.baseurl', message: /invalid baseurl/ },
    { name: 'unknown auth_mode', providers: `{"p": {"baseurl": "https://x", "auth_mode": "passthru", "apikey": "k"}}`, severity: 'warning', path: 'providers.p.auth_mode', message: /invalid auth_mode: passthru/ },
    { name: 'bad authorization', providers: `{"p": {"baseurl": "https://x", "authorization": "basic", "apikey": "k"}}`, severity: 'warning', path: 'providers.p.authorization', message: 'provider p has invalid authorization type: basic' },
    { name: 'override without key', providers: `{"p": {"baseurl": "https://x", "auth_mode": "override"}}`, severity: 'warning', path: 'providers.p.apikey', message: /override.*no apikey/ },
    { name: 'malformed add_headers', providers: `{"p": {"baseurl": "https://x", "apikey": "k", "add_headers": ["Bad-Entry"]}}`, severity: 'warning', path: 'providers.p.add_headers[0]', message: 'provider p: add_headers entry "Bad-Entry" must be in "Header-Name: value" format' },
    { name: 'header injection in add_headers', providers: `{"p": {"baseurl": "https://x", "apikey": "k", "add_headers": ["X-A: b\\r\\nX-Evil: 1"]}}`, severity: 'warning', path: 'providers.p.add_headers[0]', message: /must be in "Header-Name: value" format/ },
    { name: 'wildcard model name', providers: `{"p": {"baseurl": "https://x", "apikey": "k", "models": ["claude-opus-*"]}}`, severity: 'warning', path: 'providers.p.models[0]', message: /wildcard/ },
    { name: 'unknown provider key', providers: `{"p": {"basurl": "https://x"}}`, severity: 'warning', path: 'providers.p.basurl', message: 'unknown config key "basurl"' },
    { name: 'type mismatch', providers: `{"p": {"baseurl": "https://x", "apikey": "k", "preference": "high"}}`, severity: 'warning', path: 'providers.p.preference', message: /must be a whole number, not string/ },
    { name: 'empty models saves but serves nothing', providers: `{"p": {"baseurl": "https://x", "apikey": "k", "models": []}}`, severity: 'info', path: 'providers.p.models', message: /serves nothing/ },
    { name: 'slash in provider id', providers: `{"a/b": {"baseurl": "https://x", "apikey": "k"}}`, severity: 'warning', path: 'providers["a/b"]', message: /provider ID/ },
    { name: 'unknown compatibility flag', providers: `{"p": {"baseurl": "https://x", "apikey": "k", "compatibility": {"anthropic": true}}}`, severity: 'warning', path: 'providers.p.compatibility.anthropic', message: 'unknown config key "anthropic"' },
  ];
  for (const c of cases) {
    test(`reports ${c.name}`, () => has(problemsOf(`{"providers": ${c.providers}, ${grants}}`), c.severity, c.path, c.message));
  }

  test('a provider with a blocking warning still loads but is not usable', () => {
    const result = validateConfigText(`{"providers": {"p": {"models": ["m"]}, "q": {"baseurl": "https://q", "apikey": "k", "models": ["m"]}}, ${grants}}`, { env: {} });
    assert.ok(result.config);
    assert.equal(result.config.providers.find((p) => p.id === 'p')?.usable, false);
    assert.equal(result.config.providers.find((p) => p.id === 'q')?.usable, true);
  });

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

  test('duplicate keys are warnings with a path', () => {
    has(problemsOf(`{"providers": {"p": {"baseurl": "https://x", "baseurl": "https://y", "apikey": "k"}}, ${grants}}`), 'warning', 'providers.p.baseurl', 'duplicate config key "baseurl"');
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
    has(problems, 'warning', 'hooks.h.url', 'hook h has invalid URL scheme (must be http:// or https://): ftp://x');
    has(problems, 'error', 'quotas["q:bad"]', /"bad" after the colon is not a template/);
    has(problems, 'error', 'quotas["q:bad"].capacity', /capacity must be a dollar amount/);
    has(problems, 'warning', 'exporters.s3.prefix', 'exporters.s3.prefix must not end with a slash');
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
});
