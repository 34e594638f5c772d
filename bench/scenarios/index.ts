/**
 * The scenario registry, in the order a default run goes through it. A new scenario is
 * one object (see lib/types.ts#Scenario) and one line here.
 */
import type { Scenario } from '../lib/types.js';
import { bodySizeScenario } from './body-size.js';
import { catalogScenario } from './catalog.js';
import { configScaleScenario } from './config-scale.js';
import { latencyScenario } from './latency.js';
import { mcpScenario } from './mcp.js';
import { profileScenario } from './profile.js';
import { soakScenario } from './soak.js';
import { manyStreamsScenario, sseScenario } from './sse.js';
import { quotasScenario } from './quotas.js';
import { hooksScenario } from './hooks.js';
import { instructionsScenario } from './instructions.js';
import { telemetryScenario } from './telemetry.js';
import { translationScenario } from './translation.js';
import { maxLoadScenario, throughputScenario } from './throughput.js';
import { replicasScenario } from './replicas.js';

export const SCENARIOS: readonly Scenario[] = [
  latencyScenario,
  throughputScenario,
  maxLoadScenario,
  sseScenario,
  manyStreamsScenario,
  bodySizeScenario,
  configScaleScenario,
  telemetryScenario,
  quotasScenario,
  mcpScenario,
  hooksScenario,
  soakScenario,
  profileScenario,
  catalogScenario,
  translationScenario,
  replicasScenario,
  instructionsScenario,
];
