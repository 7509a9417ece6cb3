// When reconciliation asks WeChat again (src/reconcile/backoff.ts): 5, 10, 20, 40 minutes...
// capped, then no further attempt once it would fall after the order's give-up age.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffDelay, firstDueAt, nextAttempt, type ReconcileSchedule } from '../../src/reconcile/backoff';

const MIN = 60_000;
const HOUR = 60 * MIN;
/** The defaults: first query at 5 min, then 5, 10, 20, 40, 60, 60... min, give up at 24 h. */
const DEFAULT: ReconcileSchedule = { afterMs: 5 * MIN, backoffMs: 5 * MIN, backoffMaxMs: HOUR, giveUpMs: 24 * HOUR };
const created = new Date('2026-11-27T04:00:00.000Z');
const at = (ms: number): Date => new Date(created.getTime() + ms);

describe('backoffDelay: doubling from the base, capped', () => {
  const cases: ReadonlyArray<[attempt: number, base: number, max: number, expected: number]> = [
    [1, 5 * MIN, HOUR, 5 * MIN],
    [2, 5 * MIN, HOUR, 10 * MIN],
    [3, 5 * MIN, HOUR, 20 * MIN],
    [4, 5 * MIN, HOUR, 40 * MIN],
    [5, 5 * MIN, HOUR, HOUR], // 80 min, capped
    [6, 5 * MIN, HOUR, HOUR],
    [1000, 5 * MIN, HOUR, HOUR], // no overflow to Infinity or NaN
    [1, 1_000, 1_000, 1_000], // a cap equal to the base: a constant interval
    [3, 1_000, 1_500, 1_500],
  ];
  for (const [attempt, base, max, expected] of cases) {
    test(`attempt ${attempt}, base ${base} ms, cap ${max} ms => ${expected} ms`, () => {
      assert.equal(backoffDelay(attempt, base, max), expected);
    });
  }
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    test(`attempt ${bad} is a programming error`, () =>
      assert.throws(() => backoffDelay(bad, 5 * MIN, HOUR), RangeError));
  }
});

describe('firstDueAt: created + RECONCILE_AFTER_MS', () => {
  test('5 minutes after creation', () => assert.deepEqual(firstDueAt(created, DEFAULT), at(5 * MIN)));
  test('immediately with afterMs 0', () => assert.deepEqual(firstDueAt(created, { ...DEFAULT, afterMs: 0 }), created));
});

describe('nextAttempt: retry after the backoff, or give up at the give-up age', () => {
  const cases: ReadonlyArray<{
    name: string;
    attempt: number;
    nowMs: number;
    schedule?: ReconcileSchedule;
    expected: ReturnType<typeof nextAttempt>;
  }> = [
    {
      name: 'first query at 5 min: again at 10 min',
      attempt: 1,
      nowMs: 5 * MIN,
      expected: { kind: 'RETRY', at: at(10 * MIN) },
    },
    {
      name: 'second at 10 min: again at 20 min',
      attempt: 2,
      nowMs: 10 * MIN,
      expected: { kind: 'RETRY', at: at(20 * MIN) },
    },
    {
      name: 'third at 20 min: again at 40 min',
      attempt: 3,
      nowMs: 20 * MIN,
      expected: { kind: 'RETRY', at: at(40 * MIN) },
    },
    {
      name: 'fourth at 40 min: again at 80 min',
      attempt: 4,
      nowMs: 40 * MIN,
      expected: { kind: 'RETRY', at: at(80 * MIN) },
    },
    {
      name: 'fifth at 80 min: capped, again at 140 min',
      attempt: 5,
      nowMs: 80 * MIN,
      expected: { kind: 'RETRY', at: at(140 * MIN) },
    },
    {
      name: 'a late sweep counts from when it ran, not from when it was due',
      attempt: 1,
      nowMs: 7 * MIN,
      expected: { kind: 'RETRY', at: at(12 * MIN) },
    },
    {
      name: 'the next attempt lands exactly on the give-up age: still retried',
      attempt: 30,
      nowMs: 23 * HOUR,
      expected: { kind: 'RETRY', at: at(24 * HOUR) },
    },
    {
      name: 'the next attempt would be 1 ms past the give-up age: give up',
      attempt: 30,
      nowMs: 23 * HOUR + 1,
      expected: { kind: 'GIVE_UP' },
    },
    {
      name: 'give-up at 30 min: the third query (20 min) is the last',
      attempt: 3,
      nowMs: 20 * MIN,
      schedule: { ...DEFAULT, giveUpMs: 30 * MIN },
      expected: { kind: 'GIVE_UP' },
    },
    {
      name: 'an order first seen long after its give-up age (sweeper was off) was asked once, then given up',
      attempt: 1,
      nowMs: 48 * HOUR,
      expected: { kind: 'GIVE_UP' },
    },
  ];
  for (const c of cases) {
    test(c.name, () =>
      assert.deepEqual(nextAttempt(c.attempt, created, at(c.nowMs), c.schedule ?? DEFAULT), c.expected),
    );
  }

  test('the whole default schedule: queries at 5, 10, 20, 40, 80 min, then hourly, none after 24 h', () => {
    const times: number[] = [];
    let now = DEFAULT.afterMs;
    for (let attempt = 1; ; attempt += 1) {
      times.push(now);
      const next = nextAttempt(attempt, created, at(now), DEFAULT);
      if (next.kind === 'GIVE_UP') break;
      now = next.at.getTime() - created.getTime();
    }
    assert.deepEqual(
      times.slice(0, 7).map((t) => t / MIN),
      [5, 10, 20, 40, 80, 140, 200],
    );
    assert.ok(times.every((t) => t <= DEFAULT.giveUpMs));
    assert.equal(times.length, 27, 'five doubling steps to the cap, then hourly up to 24 h');
  });
});
