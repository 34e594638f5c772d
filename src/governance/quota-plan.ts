/**
 * QuotaPlan answers, for one configuration snapshot, "which buckets does this request
 * touch?": every bucket attached by every capability of the caller that applies to the
 * model (a capability without `models` applies to all of them), each named for the caller
 * (`daily:<user>` → `daily:alice@example.com`). It is pure and cached: the answer for a
 * caller and a model is worked out once per snapshot.
 */
import type { Access } from '../access/grants.js';
import { compileModelGlob, type ModelMatcher } from '../access/glob.js';
import type { QuotaSpec } from '../config/types.js';
import type { Identity } from '../identity/identity.js';

/** A bucket a request is checked against and charged to. */
export interface BucketRef {
  /** The bucket's name: `daily:alice@example.com`, or the quota's name for a shared bucket. */
  readonly bucket: string;
  /** The quota that defines it; undefined when a tailnet grant names no configured quota. */
  readonly spec: QuotaSpec | undefined;
  /** The reference as the grant wrote it (`daily:<user>`). */
  readonly ref: string;
}

const NONE: readonly BucketRef[] = Object.freeze([]);

/** Most (provider, model) answers remembered per caller. */
const MEMO_LIMIT = 10_000;

interface CallerQuotas {
  /** Buckets of capabilities without `models`: they apply to every model. */
  floating: BucketRef[];
  byPattern: Array<{ matches: ModelMatcher; refs: BucketRef[] }>;
  /** Everything attached, whatever the model, in order, without repeats. */
  all: BucketRef[];
  memo: Map<string, readonly BucketRef[]>;
}

/** bucketName names the bucket of `spec` that `identity` is charged to. */
export function bucketName(spec: QuotaSpec, identity: Identity): string {
  if (spec.template === '<user>') return `${spec.base}:${identity.login}`;
  // Without a node id (serve headers, loopback) the login is the best stable stand-in.
  if (spec.template === '<node>') return `${spec.base}:${identity.nodeId || identity.login}`;
  return spec.name;
}

export class QuotaPlan {
  readonly specs: ReadonlyMap<string, QuotaSpec>;
  private readonly globs = new Map<string, ModelMatcher>();
  private readonly callers = new WeakMap<Access, CallerQuotas | null>();

  constructor(specs: readonly QuotaSpec[]) {
    this.specs = new Map(specs.map((s) => [s.name, s]));
  }

  /** bucketsFor returns the buckets a request of this caller for `provider/model` touches. */
  bucketsFor(access: Access, identity: Identity, provider: string, model: string): readonly BucketRef[] {
    const caller = this.caller(access, identity);
    if (!caller) return NONE;
    const fqn = `${provider}/${model}`;
    let refs = caller.memo.get(fqn);
    if (refs === undefined) {
      const list = [...caller.floating];
      for (const p of caller.byPattern) if (p.matches(fqn)) for (const r of p.refs) if (!list.some((x) => x.bucket === r.bucket)) list.push(r);
      refs = list.length === 0 ? NONE : Object.freeze(list);
      if (caller.memo.size >= MEMO_LIMIT) caller.memo.clear();
      caller.memo.set(fqn, refs);
    }
    return refs;
  }

  /** attachedTo returns every bucket the caller's grants attach, for any model. */
  attachedTo(access: Access, identity: Identity): readonly BucketRef[] {
    return this.caller(access, identity)?.all ?? NONE;
  }

  /**
   * The caller's quota capabilities, resolved once: Access objects live one per identity
   * and snapshot, so this runs once per caller, not per request.
   */
  private caller(access: Access, identity: Identity): CallerQuotas | null {
    let c = this.callers.get(access);
    if (c !== undefined) return c;
    c = null;
    for (const cap of access.capabilities) {
      if (!cap.quotas || cap.quotas.length === 0) continue;
      c ??= { floating: [], byPattern: [], all: [], memo: new Map() };
      const refs = cap.quotas.map(({ bucket }): BucketRef => {
        const spec = this.specs.get(bucket);
        return { bucket: spec ? bucketName(spec, identity) : bucket, spec, ref: bucket };
      });
      if (cap.models === undefined) {
        for (const r of refs) if (!c.floating.some((x) => x.bucket === r.bucket)) c.floating.push(r);
      } else {
        c.byPattern.push({ matches: this.glob(cap.models), refs });
      }
      for (const r of refs) if (!c.all.some((x) => x.bucket === r.bucket)) c.all.push(r);
    }
    this.callers.set(access, c);
    return c;
  }

  private glob(pattern: string): ModelMatcher {
    let m = this.globs.get(pattern);
    if (!m) this.globs.set(pattern, (m = compileModelGlob(pattern)));
    return m;
  }
}
