/**
 * Generated keyway configurations. The default is one mock provider serving `gpt-bench`
 * and one loopback admin grant. Larger shapes add providers of 100 models each (all on
 * the mock's origin, so they share one connection pool) and grants.
 */
import { BENCH_MODEL } from './bodies.js';
import type { ConfigShape } from './types.js';

/** The capability key of keyway's (and Aperture's) grants. */
export const CAP = 'tailscale.com/cap/aperture';
const MODELS_PER_PROVIDER = 100;

/** DEFAULT_SHAPE is the configuration of the shared gateway. */
export const DEFAULT_SHAPE: ConfigShape = { models: 1, grants: 1 };

/** keywayConfig returns the JSON text of a configuration of `shape` pointing at `mockUrl`. */
export function keywayConfig(mockUrl: string, shape: ConfigShape): string {
  const buckets = quotaNames(shape.quotaBuckets ?? 0);
  const quotas = Object.fromEntries(buckets.map((name) => [name, { capacity: '$1000000', rate: '$1000000/day' }]));
  const hooks = shape.hooks?.length ? { hooks: Object.fromEntries(shape.hooks.map((h) => [h.id, { url: h.url }])) } : {};
  return JSON.stringify({ providers: providers(mockUrl, shape.models, shape.priced === true), grants: grants(shape, buckets), ...(buckets.length ? { quotas } : {}), ...hooks }, null, 1);
}

/** The quotas of a shape: one per template, then shared ones. */
function quotaNames(n: number): string[] {
  const names = ['daily:<user>', 'device:<node>', 'team'];
  for (let i = names.length; i < n; i++) names.push(`shared-${i}`);
  return names.slice(0, n);
}

function providers(mockUrl: string, total: number, priced: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let left = Math.max(1, total);
  for (let p = 0; left > 0; p++) {
    const count = Math.min(MODELS_PER_PROVIDER, left);
    const models: string[] = [];
    for (let m = 0; m < count; m++) models.push(`model-${p}-${m}`);
    if (p === 0) models[count - 1] = BENCH_MODEL; // the one the requests use, last in its list
    out[p === 0 ? 'mock' : `p${p}`] = {
      baseurl: mockUrl,
      apikey: 'sk-test-bench',
      models,
      compatibility: { openai_chat: true, anthropic_messages: true },
      ...(priced && p === 0 ? { model_cost_map: [{ match: BENCH_MODEL, as: 'gpt-4o' }] } : {}),
    };
    left -= count;
  }
  return out;
}

function grants(shape: ConfigShape, buckets: string[]): unknown[] {
  const out: unknown[] = [];
  for (let i = 1; i < shape.grants; i++) {
    out.push(
      shape.grantsMatch === 'caller'
        ? { src: ['(loopback)'], app: { [CAP]: [{ role: 'user' }, { models: `mock/other-${i}-*` }] } }
        : { src: [`user${i}@example.com`, `group:team-${i % 50}`], app: { [CAP]: [{ role: 'user' }, { models: `mock/model-0-${i % 99}` }] } },
    );
  }
  // The grant that lets the caller use the bench model comes last.
  const quotas = buckets.length ? [{ quotas: buckets.map((bucket) => ({ bucket })) }] : [];
  const hooks = shape.hooks?.length ? [{ send_hooks: shape.hooks.map((h) => ({ name: h.id, events: h.events, send: h.send ?? [] })) }] : [];
  out.push({ src: ['(loopback)'], app: { [CAP]: [{ role: 'admin' }, { models: '**' }, ...quotas, ...hooks] } });
  return out;
}
