// The full reliability suite: every fault scenario with thousands of simulated WeChat
// notifications through nginx -> gateway -> core -> Redis + PostgreSQL, invariants after each.
//
//   make reliability    (or, after the build: node --test dist/test/reliability/full.suite.js)
//
// About 8 to 10 minutes on 2 cores. Not part of `make test`, which runs only *.test.js files.
// Set RELIABILITY_RESULTS_FILE=path to also get the results as JSON, RELIABILITY_LOG_DIR=dir to
// keep each scenario's delivery log (JSONL), and RELIABILITY_ONLY=id,id to run some scenarios only.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  assertNothingLostOrDoubled,
  CORE_SIGKILL,
  describeResult,
  GATEWAY_RESTART,
  lockExpiry,
  POSTGRES_RESTART,
  REDIS_QUORUM,
  runScenario,
  TWO_CORES,
  type Scenario,
  type ScenarioResult,
  type Size,
} from './scenarios';
import { startBackends, type Backends } from './stack';

const FULL: ReadonlyArray<{ scenario: Scenario; size: Size }> = [
  { scenario: POSTGRES_RESTART, size: { count: 2_000, spreadMs: 50_000, faultMs: 8_000 } },
  { scenario: REDIS_QUORUM, size: { count: 2_000, spreadMs: 50_000, faultMs: 8_000 } },
  { scenario: CORE_SIGKILL, size: { count: 2_000, spreadMs: 50_000, faultMs: 3_000 } },
  { scenario: GATEWAY_RESTART, size: { count: 2_000, spreadMs: 50_000, faultMs: 0 } },
  { scenario: lockExpiry(2_000, 5, 3), size: { count: 2_000, spreadMs: 50_000, faultMs: 2_000 } },
  { scenario: TWO_CORES, size: { count: 2_000, spreadMs: 50_000, faultMs: 0 } },
];

const only = (process.env['RELIABILITY_ONLY'] ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

{
  const results: ScenarioResult[] = [];
  let backends: Backends;
  before(async () => {
    backends = await startBackends();
  });
  after(async () => {
    await backends?.dispose();
    const file = process.env['RELIABILITY_RESULTS_FILE'];
    if (file) {
      writeFileSync(
        file,
        `${JSON.stringify(
          results.map((r) => ({
            id: r.id,
            title: r.title,
            size: r.size,
            elapsedMs: r.elapsedMs,
            stormMs: r.report.elapsedMs,
            summary: r.report.summary,
            invariants: r.invariants,
            evidence: r.evidence,
            timeline: r.timeline,
            endedByTest: r.endedByTest,
          })),
          null,
          2,
        )}\n`,
      );
    }
  });

  describe('reliability (full suite)', () => {
    for (const { scenario, size } of FULL) {
      if (only.length > 0 && !only.includes(scenario.id)) continue;
      test(`${scenario.title}: nothing lost, doubled or forged, no crash`, { timeout: 10 * 60_000 }, async (t) => {
        const r = await runScenario(backends, scenario, size);
        results.push(r);
        const text = describeResult(r);
        for (const line of text.split('\n')) t.diagnostic(line);
        assertNothingLostOrDoubled(r, text);
        if (scenario === TWO_CORES) {
          const perCore = r.evidence['decisionsByCore'];
          assert.ok(Array.isArray(perCore) && perCore.length === 2, 'both cores serve /metrics');
          for (const decisions of perCore as unknown[]) {
            assert.ok(
              typeof decisions === 'object' &&
                decisions !== null &&
                ((decisions as Record<string, number>)['PAID'] ?? 0) > 0,
              `each core decided some PAID notifications: ${JSON.stringify(perCore)}`,
            );
          }
        }
      });
    }
  });
}
