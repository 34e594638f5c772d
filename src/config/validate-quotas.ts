/**
 * Validation of the `quotas` section and of the bucket references grants make. A quota
 * that would be read wrongly is an error, so the document is refused as a whole: the
 * reference instead answers 429 to every request that touches a malformed quota, at
 * request time; keyway gives one verdict, before the document is used (documented in
 * docs/configuration.md).
 */
import { parseDollars, parseRate } from '../governance/money.js';
import { Checker, isObject, type Obj } from './checker.js';
import type { PathSegment } from './hujson.js';
import { QUOTA_TEMPLATES, type QuotaSpec, type QuotaTemplate } from './types.js';

const QUOTA_KEYS = new Set(['capacity', 'rate', 'on_exceed']);

/** splitBucketName splits `daily:<user>` into its base and the text after the first colon. */
export function splitBucketName(name: string): { base: string; suffix: string | undefined } {
  const colon = name.indexOf(':');
  return colon < 0 ? { base: name, suffix: undefined } : { base: name.slice(0, colon), suffix: name.slice(colon + 1) };
}

export function isQuotaTemplate(s: string | undefined): s is QuotaTemplate {
  return (QUOTA_TEMPLATES as readonly string[]).includes(s ?? '');
}

/** templateProblem says what is wrong with the part of a bucket name after its colon, if anything. */
function templateProblem(suffix: string | undefined): string | undefined {
  if (suffix === undefined || isQuotaTemplate(suffix)) return undefined;
  if (suffix.startsWith('<') && suffix.endsWith('>')) return `unsupported template "${suffix}" after the colon (use <user> or <node>, or no colon for one shared bucket)`;
  return `"${suffix}" after the colon is not a template (use <user> or <node>, or no colon for one shared bucket)`;
}

/** validateQuotas checks `quotas` and returns the definitions, in document order. */
export function validateQuotas(c: Checker, doc: Obj): QuotaSpec[] {
  const section = c.object(doc, 'quotas', []);
  const out: QuotaSpec[] = [];
  const byBase = new Map<string, string>();
  for (const [name, q] of Object.entries(section ?? {})) {
    const path: PathSegment[] = ['quotas', name];
    const { base, suffix } = splitBucketName(name);
    let ok = true;
    const bad = templateProblem(suffix);
    if (bad) {
      c.error(path, `quota "${name}": ${bad}`);
      ok = false;
    } else if (base === '') {
      c.error(path, `quota "${name}": the name needs a word before the colon, like "daily:<user>"`);
      ok = false;
    } else if (byBase.has(base)) {
      // daily:<user> and daily:<node> would name their buckets alike (daily:…).
      c.error(path, `quota "${name}": quota "${byBase.get(base)}" already uses the name "${base}"; bucket names would collide`);
      ok = false;
    }
    byBase.set(base, name);
    if (!isObject(q)) {
      c.error(path, `quota ${name}: must be an object with capacity and rate`);
      continue;
    }
    c.unknownKeys(q, QUOTA_KEYS, path);
    const capacity = typeof q.capacity === 'string' ? parseDollars(q.capacity) : undefined;
    if (!capacity?.ok) {
      c.error([...path, 'capacity'], `quota ${name}: capacity ${capacity ? capacity.reason : 'must be a dollar amount like "$5.00"'}`);
      ok = false;
    }
    const rate = typeof q.rate === 'string' ? parseRate(q.rate) : undefined;
    if (!rate?.ok) {
      c.error([...path, 'rate'], `quota ${name}: rate ${rate ? rate.reason : 'must look like "$5.00/day" (units: min, hour, day, week, month)'}`);
      ok = false;
    }
    if (q.on_exceed !== undefined && q.on_exceed !== 'reject') {
      c.error([...path, 'on_exceed'], `quota ${name}: on_exceed must be "reject"`);
      ok = false;
    }
    if (!ok || !capacity?.ok || !rate?.ok) continue;
    out.push({
      name,
      base,
      template: suffix as QuotaTemplate | undefined,
      capacityNanos: capacity.value,
      rateNanos: rate.value.nanos,
      periodMs: rate.value.periodMs,
      capacity: q.capacity as string,
      rate: q.rate as string,
    });
  }
  return out;
}

/**
 * validateBucketRefs checks a capability's `quotas: [{"bucket": name}]` list against the
 * quota names of the document and returns the names as written. Entries are kept even
 * when they are wrong: for capabilities that arrive from the tailnet (never validated
 * before use) an unresolvable reference refuses the request instead of being ignored.
 */
export function validateBucketRefs(c: Checker, cap: Obj, capPath: readonly PathSegment[], quotas: ReadonlySet<string>): Array<{ bucket: string }> {
  const out: Array<{ bucket: string }> = [];
  (c.array(cap, 'quotas', capPath) ?? []).forEach((q, k) => {
    const qp = [...capPath, 'quotas', k];
    if (!isObject(q) || typeof q.bucket !== 'string' || q.bucket === '') {
      c.error(qp, 'quotas entries must be objects with a "bucket" name');
      out.push({ bucket: '' });
      return;
    }
    const bucket = q.bucket;
    out.push({ bucket });
    const bad = templateProblem(splitBucketName(bucket).suffix);
    if (bad) c.error([...qp, 'bucket'], `quotas references bucket "${bucket}": ${bad}`);
    else if (!quotas.has(bucket)) c.error([...qp, 'bucket'], `quotas references undefined quota "${bucket}"`);
  });
  return out;
}
