// The fast reliability subset, part of the normal test command: a few hundred simulated WeChat
// notifications through nginx -> gateway -> core -> Redis + PostgreSQL while the core is
// SIGKILLed, while Redis loses its quorum, and while a Redlock lock expires under a slow
// transaction; then the invariants (test/reliability/invariants.ts). The full set, with
// thousands of notifications per scenario and every fault, is full.suite.ts (RELIABILITY.md).

import { after, before, describe, test } from 'node:test';
import {
  assertNothingLostOrDoubled,
  CORE_SIGKILL,
  describeResult,
  lockExpiry,
  REDIS_QUORUM,
  runScenario,
  type Scenario,
  type Size,
} from './scenarios';
import { startBackends, type Backends } from './stack';

const FAST: ReadonlyArray<{ scenario: Scenario; size: Size }> = [
  { scenario: CORE_SIGKILL, size: { count: 200, spreadMs: 4_000, faultMs: 1_000 } },
  { scenario: REDIS_QUORUM, size: { count: 200, spreadMs: 4_000, faultMs: 1_000 } },
  { scenario: lockExpiry(2_000, 1, 3), size: { count: 150, spreadMs: 3_000, faultMs: 2_000 } },
];

let backends: Backends;
before(async () => {
  backends = await startBackends();
});
after(async () => {
  await backends?.dispose();
});

describe('reliability (fast subset)', () => {
  for (const { scenario, size } of FAST) {
    test(`${scenario.title}: nothing lost, doubled or forged, no crash`, async (t) => {
      const r = await runScenario(backends, scenario, size);
      const text = describeResult(r);
      for (const line of text.split('\n')) t.diagnostic(line);
      assertNothingLostOrDoubled(r, text);
    });
  }
});
