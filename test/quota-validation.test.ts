/**
 * Validation of `quotas` and of the buckets grants attach: what would be read wrongly is
 * an error naming the field, so the document is refused as a whole (the reference would
 * instead answer 429 at request time). Table-driven over the messages.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Problem } from '../src/config/types.js';
import { validateConfigText } from '../src/config/validate.js';
import { parseCapabilities } from '../src/config/validate-sections.js';

const CAP = 'tailscale.com/cap/aperture';
const PROVIDERS = { p: { baseurl: 'https://x.example', apikey: 'sk-test-x', models: ['m'] } };

function doc(quotas: unknown, buckets?: unknown[]): string {
  const caps: unknown[] = [{ role: 'admin' }, { models: '**' }];
  if (buckets) caps.push({ quotas: buckets });
  return JSON.stringify({ providers: PROVIDERS, grants: [{ src: ['*'], app: { [CAP]: caps } }], quotas });
}

function errors(text: string): Problem[] {
  return validateConfigText(text, { env: {} }).problems.filter((p) => p.severity === 'error');
}

const OK = { capacity: '$5.00', rate: '$5.00/day' };

describe('quota validation', () => {
  test('a well-formed section is accepted and normalised to nanodollars', () => {
    const r = validateConfigText(doc({ 'daily:<user>': { ...OK, on_exceed: 'reject' }, 'device:<node>': { capacity: '$0.50', rate: '$1/hour' }, team: { capacity: '$100', rate: '$0.000000001/month' } }, [{ bucket: 'daily:<user>' }, { bucket: 'device:<node>' }, { bucket: 'team' }]), { env: {} });
    assert.deepEqual(r.problems.filter((p) => p.severity !== 'info'), []);
    assert.deepEqual(
      r.config!.quotas.map((q) => [q.name, q.base, q.template, q.capacityNanos, q.rateNanos, q.periodMs]),
      [
        ['daily:<user>', 'daily', '<user>', 5e9, 5e9, 86_400_000],
        ['device:<node>', 'device', '<node>', 0.5e9, 1e9, 3_600_000],
        ['team', 'team', undefined, 100e9, 1, 30 * 86_400_000],
      ],
    );
    assert.deepEqual(r.config!.grants[0]!.caps[2]!.quotas, [{ bucket: 'daily:<user>' }, { bucket: 'device:<node>' }, { bucket: 'team' }]);
  });

  const cases: Array<{ name: string; text: string; path: string; message: RegExp }> = [
    { name: 'unsupported template in a quota name', text: doc({ 'daily:<team>': OK }), path: 'quotas["daily:<team>"]', message: /^quota "daily:<team>": unsupported template "<team>" after the colon \(use <user> or <node>/ },
    { name: 'literal after the colon in a quota name', text: doc({ 'daily:alice': OK }), path: 'quotas["daily:alice"]', message: /"alice" after the colon is not a template/ },
    { name: 'nothing before the colon', text: doc({ ':<user>': OK }), path: 'quotas[":<user>"]', message: /needs a word before the colon/ },
    { name: 'two quotas with one base name', text: doc({ 'daily:<user>': OK, 'daily:<node>': OK }), path: 'quotas["daily:<node>"]', message: /quota "daily:<user>" already uses the name "daily"; bucket names would collide/ },
    { name: 'not an object', text: doc({ q: '$5' }), path: 'quotas.q', message: /^quota q: must be an object with capacity and rate$/ },
    { name: 'capacity missing', text: doc({ q: { rate: '$1/day' } }), path: 'quotas.q.capacity', message: /^quota q: capacity must be a dollar amount like "\$5.00"$/ },
    { name: 'capacity a number', text: doc({ q: { capacity: 5, rate: '$1/day' } }), path: 'quotas.q.capacity', message: /capacity must be a dollar amount/ },
    { name: 'capacity finer than a nanodollar', text: doc({ q: { capacity: '$0.0000000001', rate: '$1/day' } }), path: 'quotas.q.capacity', message: /capacity has more than 9 decimal places/ },
    { name: 'capacity too large', text: doc({ q: { capacity: '$2000000', rate: '$1/day' } }), path: 'quotas.q.capacity', message: /capacity is above the largest supported amount, \$1000000.00/ },
    { name: 'rate without a unit', text: doc({ q: { capacity: '$1', rate: '$1' } }), path: 'quotas.q.rate', message: /rate must look like "\$5.00\/day" \(units: min, hour, day, week, month\)/ },
    { name: 'rate with an unknown unit', text: doc({ q: { capacity: '$1', rate: '$1/year' } }), path: 'quotas.q.rate', message: /rate must look like/ },
    { name: 'rate too large', text: doc({ q: { capacity: '$1', rate: '$5000000/day' } }), path: 'quotas.q.rate', message: /rate amount is above the largest supported amount/ },
    { name: 'on_exceed other than reject', text: doc({ q: { ...OK, on_exceed: 'warn' } }), path: 'quotas.q.on_exceed', message: /on_exceed must be "reject"/ },
    { name: 'grant bucket with an unsupported template', text: doc({ 'daily:<user>': OK }, [{ bucket: 'daily:<team>' }]), path: `grants[0].app["${CAP}"][2].quotas[0].bucket`, message: /^quotas references bucket "daily:<team>": unsupported template "<team>" after the colon/ },
    { name: 'grant naming one bucket of a templated quota', text: doc({ 'daily:<user>': OK }, [{ bucket: 'daily:alice@example.com' }]), path: `grants[0].app["${CAP}"][2].quotas[0].bucket`, message: /"alice@example.com" after the colon is not a template/ },
    { name: 'grant bucket that names no quota', text: doc({ 'daily:<user>': OK }, [{ bucket: 'weekly:<user>' }]), path: `grants[0].app["${CAP}"][2].quotas[0].bucket`, message: /^quotas references undefined quota "weekly:<user>"$/ },
    { name: 'grant bucket entry without a name', text: doc({ 'daily:<user>': OK }, [{ name: 'daily:<user>' }]), path: `grants[0].app["${CAP}"][2].quotas[0]`, message: /quotas entries must be objects with a "bucket" name/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const found = errors(c.text);
      assert.ok(found.some((p) => p.path === c.path && c.message.test(p.message)), `expected an error at ${c.path} matching ${c.message}\ngot: ${JSON.stringify(found, null, 1)}`);
      assert.equal(validateConfigText(c.text, { env: {} }).config, undefined, 'an error refuses the document');
    });
  }

  test('an unknown key in a quota is a warning', () => {
    const problems = validateConfigText(doc({ q: { ...OK, capcity: '$1' } }), { env: {} }).problems;
    assert.ok(problems.some((p) => p.severity === 'warning' && p.path === 'quotas.q.capcity'));
  });

  test('tailnet grants keep their bucket references, even ones the configuration cannot resolve', () => {
    // Never validated before use: the request path refuses what it cannot resolve.
    const caps = parseCapabilities([{ role: 'user', quotas: [{ bucket: 'daily:<user>' }, { bucket: 'daily:<team>' }, {}] }]);
    assert.deepEqual(caps[0]!.quotas, [{ bucket: 'daily:<user>' }, { bucket: 'daily:<team>' }, { bucket: '' }]);
  });
});

describe('quota refusal envelopes', () => {
  test('OpenAI says insufficient_quota; Bedrock a ThrottlingException in its header', async () => {
    const { renderOpenAiError } = await import('../src/formats/openai.js');
    const { bedrockErrorHeaders, bedrockErrorType, renderBedrockError } = await import('../src/formats/bedrock-errors.js');
    assert.deepEqual(JSON.parse(renderOpenAiError(429, 'quota_exceeded', 'm')), { error: { message: 'm', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } });
    // Rate limits that are not quotas keep their own type.
    assert.equal(JSON.parse(renderOpenAiError(429, 'other', 'm')).error.type, 'rate_limit_error');
    assert.deepEqual(JSON.parse(renderBedrockError(429, 'quota_exceeded', 'm')), { message: 'm' });
    assert.deepEqual(bedrockErrorHeaders(429, 'quota_exceeded'), { 'x-amzn-errortype': 'ThrottlingException' });
    assert.deepEqual([403, 404, 400, 500, 503].map((s) => bedrockErrorType(s, 'x')), ['AccessDeniedException', 'ResourceNotFoundException', 'ValidationException', 'InternalServerException', 'ServiceUnavailableException']);
  });

  test('sendError adds the headers a format asks for (a Bedrock format module, later)', async () => {
    const { createServer } = await import('node:http');
    const { sendError } = await import('../src/server/respond.js');
    const { GatewayError } = await import('../src/errors.js');
    const { openaiChat } = await import('../src/formats/openai-chat.js');
    const { bedrockErrorHeaders, renderBedrockError } = await import('../src/formats/bedrock-errors.js');
    const bedrockLike = { ...openaiChat, renderError: renderBedrockError, errorHeaders: bedrockErrorHeaders };
    const server = createServer((_req, res) => sendError(res, new GatewayError('QUOTA_EXCEEDED', 'over quota', { headers: { 'retry-after': '3' } }), bedrockLike));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('x-amzn-errortype'), 'ThrottlingException');
      assert.equal(res.headers.get('retry-after'), '3');
      assert.deepEqual(await res.json(), { message: 'over quota' });
    } finally {
      server.close();
    }
  });
});
