/**
 * Telemetry on vs off. Telemetry lands with issue 6, which replaces these pending rows
 * with a measurement (the same load run against a gateway started each way).
 */
import { pendingRow } from '../lib/compare.js';
import type { Scenario } from '../lib/types.js';

export const telemetryScenario: Scenario = {
  name: 'telemetry',
  title: 'telemetry on vs off',
  async run() {
    return [
      pendingRow(this.title, 'throughput cost', '≤ 5 %', 'issue 6'),
      pendingRow(this.title, 'added latency p50', '≤ 0.1 ms', 'issue 6'),
    ];
  },
};
