/**
 * The vocabulary of the suite: options, the context a scenario runs in, the rows it
 * reports, and the Scenario object itself. Adding a scenario means writing one object
 * of type Scenario (a name, a title, a run function returning rows) and listing it in
 * scenarios/index.ts.
 */
import type { LoadDriver } from './load.js';

/** Options are the parsed command-line flags (see args.ts for their defaults). */
export interface Options {
  /** Scenario names to run; empty means the default set. */
  only: string[];
  /** Scenario names to leave out. */
  skip: string[];
  quick: boolean;
  /** Repeats per measurement; the table shows the median of the repeats. */
  repeat: number;
  /** Seconds of each load-generator run (throughput scenarios). */
  loadSeconds: number;
  /** Soak length in seconds; 0 skips the soak. */
  soakSeconds: number;
  loadgen: 'auto' | 'wrk' | 'autocannon';
  /** Whether to add the nginx proxy_pass reference when nginx is installed. */
  nginx: boolean;
  /** Run keyway under `node --cpu-prof` during max-load and summarise the profile. */
  profile: boolean;
  list: boolean;
  help: boolean;
}

/** A Service is a server the suite started in its own process on 127.0.0.1. */
export interface Service {
  readonly name: string;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** stop ends the process (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
}

/**
 * TargetName says which way a request travels: straight to the mock, through keyway,
 * through nginx, through the bare Node proxy of reference/bare-proxy.ts, or through
 * claude-code-router (the translation scenario's peer, lib/ccr.ts).
 */
export type TargetName = 'direct' | 'keyway' | 'nginx' | 'bare' | 'ccr';

/** A Target is one way to reach the mock upstream. */
export interface Target {
  name: TargetName;
  url: string;
  /** The path and body this target is called with, when they differ from the run's (translation). */
  path?: string;
  bodyFile?: string;
  /** The text a complete stream from this target ends with (default `[DONE]`). */
  endMarker?: string;
}

/** ConfigShape describes a generated keyway configuration (see keyway-config.ts). */
export interface ConfigShape {
  /** Number of configured models across all providers (at least 1). */
  models: number;
  /** Number of grants (at least 1). */
  grants: number;
  /**
   * 'others': the extra grants are for other callers (the usual case).
   * 'caller': every grant matches the caller, with the one that allows the model last
   * (the worst case for per-request model checks).
   */
  grantsMatch?: 'others' | 'caller';
  /**
   * Quota buckets attached to the caller's grant (`daily:<user>`, `device:<node>`, `team`,
   * then more shared ones), large enough never to refuse. 0 or absent: no quotas.
   */
  quotaBuckets?: number;
  /** Price the bench model (as gpt-4o), so quota charges and cost estimates do real work. */
  priced?: boolean;
  /** Hooks wired to the caller's grant for every model (`hooks` and `send_hooks`). */
  hooks?: Array<{ id: string; url: string; events: string[]; send?: string[] }>;
}

/** KeywayOptions shape a private gateway: its configuration, Node flags and extra `serve` flags. */
export interface KeywayOptions {
  /** Default: one provider, one model, one loopback admin grant. */
  shape?: ConfigShape;
  /** Flags for node itself, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** Extra `keyway serve` flags, e.g. `['--telemetry', 'off']`. */
  serveArgs?: string[];
  /** A configuration text of its own instead of a generated shape. */
  configText?: string;
}

/** BenchContext is what every scenario gets: options, running services and helpers. */
export interface BenchContext {
  readonly opts: Options;
  /** A private temporary folder, removed at the end. */
  readonly tmp: string;
  /** The shared mock upstream (its own process, 0 ms latency unless a request asks). */
  readonly mock: Service;
  readonly load: LoadDriver;
  /** keyway returns the shared gateway with the default configuration, starting it once. */
  keyway(): Promise<Service>;
  /** startKeyway starts a private gateway; the caller stops it. */
  startKeyway(options?: KeywayOptions): Promise<Service>;
  /** nginx returns the shared nginx reference, or undefined when absent or disabled. */
  nginx(): Promise<Service | undefined>;
  /** bare returns the shared bare Node reference proxy, starting it once. */
  bare(): Promise<Service>;
  /** startBare starts a private bare Node reference proxy; the caller stops it. */
  startBare(nodeArgs?: string[]): Promise<Service>;
  /** targets lists direct, keyway, nginx (when available) and, when asked, the bare Node proxy. */
  targets(withBare?: boolean): Promise<Target[]>;
  /** bodyFile returns a file holding a chat request body of about `bytes` bytes. */
  bodyFile(bytes: number, stream?: boolean): Promise<string>;
  log(line: string): void;
}

export type Status = 'meets' | 'misses' | 'info' | 'pending' | 'skipped' | 'failed';

/**
 * A Row is one line of the result table. Values are in `unit`; `added` is keyway minus
 * direct, `ratio` keyway / direct, `vsNginx` keyway / nginx (each a median over repeats).
 */
export interface Row {
  scenario: string;
  measure: string;
  unit: string;
  direct?: number;
  keyway?: number;
  nginx?: number;
  bare?: number;
  added?: number;
  ratio?: number;
  vsNginx?: number;
  target: string;
  status: Status;
  note?: string;
  /** Raw per-repeat figures, kept in latest.json only. */
  detail?: unknown;
}

/** A Scenario measures one thing and reports it as rows. */
export interface Scenario {
  /** Short name used by `--only` and `--skip`. */
  name: string;
  /** The row heading in the table. */
  title: string;
  /** Left out of the default run (still runnable with --only). */
  optIn?: boolean;
  run(ctx: BenchContext): Promise<Row[]>;
}
