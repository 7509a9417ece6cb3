// The in-process order lock (src/lock/in-process-lock.ts): one holder per key, first come first
// served, a bounded wait that ends in LOCK_BUSY, and release whatever the routine does.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InProcessLock } from '../../src/lock/in-process-lock';
import { LockError } from '../../src/lock/order-lock';

/** Resolves after every pending microtask and the current timers phase. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('one holder per key; different keys do not wait for each other', () => {
  const cases: ReadonlyArray<{ name: string; keys: readonly string[]; maxPerKey: number; maxOverall: number }> = [
    {
      name: '20 routines on one key never overlap',
      keys: Array.from({ length: 20 }, () => 'order-1'),
      maxPerKey: 1,
      maxOverall: 1,
    },
    {
      name: 'two routines on two keys run at the same time',
      keys: ['order-1', 'order-2'],
      maxPerKey: 1,
      maxOverall: 2,
    },
    {
      name: '3 keys x 4 routines: 3 at a time, one per key',
      keys: Array.from({ length: 12 }, (_, i) => `order-${i % 3}`),
      maxPerKey: 1,
      maxOverall: 3,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const lock = new InProcessLock(5_000);
      const counters = new Map<string, number>();
      const active = new Map<string, number>();
      let activeOverall = 0;
      let maxOverall = 0;
      let maxPerKey = 0;
      await Promise.all(
        c.keys.map((key) =>
          lock.withLock(key, async () => {
            active.set(key, (active.get(key) ?? 0) + 1);
            activeOverall += 1;
            maxPerKey = Math.max(maxPerKey, active.get(key) ?? 0);
            maxOverall = Math.max(maxOverall, activeOverall);
            // Read, wait, write: an overlap would lose an increment.
            const seen = counters.get(key) ?? 0;
            await sleep(5);
            counters.set(key, seen + 1);
            active.set(key, (active.get(key) ?? 0) - 1);
            activeOverall -= 1;
          }),
        ),
      );
      assert.equal(maxPerKey, c.maxPerKey);
      assert.equal(maxOverall, c.maxOverall);
      const expectedCounts = new Map<string, number>();
      for (const key of c.keys) expectedCounts.set(key, (expectedCounts.get(key) ?? 0) + 1);
      assert.deepEqual(counters, expectedCounts, 'no increment was lost');
    });
  }
});

describe('waiters get the lock in arrival order', () => {
  const cases: ReadonlyArray<{
    name: string;
    arrivals: ReadonlyArray<{ id: string; key: string }>;
    expected: Record<string, string[]>;
  }> = [
    {
      name: 'one key: A, B, C, D',
      arrivals: ['A', 'B', 'C', 'D'].map((id) => ({ id, key: 'order-1' })),
      expected: { 'order-1': ['A', 'B', 'C', 'D'] },
    },
    {
      name: 'two keys interleaved: each key keeps its own order',
      arrivals: [
        { id: 'A1', key: 'a' },
        { id: 'B1', key: 'b' },
        { id: 'A2', key: 'a' },
        { id: 'B2', key: 'b' },
        { id: 'A3', key: 'a' },
        { id: 'B3', key: 'b' },
      ],
      expected: { a: ['A1', 'A2', 'A3'], b: ['B1', 'B2', 'B3'] },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const lock = new InProcessLock(5_000);
      const order: Record<string, string[]> = {};
      const runs: Array<Promise<void>> = [];
      for (const a of c.arrivals) {
        runs.push(
          lock.withLock(a.key, async () => {
            (order[a.key] ??= []).push(a.id);
            await sleep(3);
          }),
        );
        // Each one arrives while the previous ones still hold or wait.
        await tick();
      }
      await Promise.all(runs);
      assert.deepEqual(order, c.expected);
    });
  }
});

describe('a waiter gives up after waitMs with LOCK_BUSY', () => {
  const cases: ReadonlyArray<{
    name: string;
    waitMs: number;
    callerWaitMs?: number;
    holdMs: number;
    expected: 'acquired' | 'LOCK_BUSY';
  }> = [
    { name: 'held longer than waitMs -> LOCK_BUSY', waitMs: 50, holdMs: 400, expected: 'LOCK_BUSY' },
    { name: 'waitMs 0 and the lock is held -> LOCK_BUSY', waitMs: 0, holdMs: 200, expected: 'LOCK_BUSY' },
    { name: 'released well within waitMs -> acquired', waitMs: 1_000, holdMs: 30, expected: 'acquired' },
    {
      name: 'a caller with less of its wait left gives up sooner',
      waitMs: 1_000,
      callerWaitMs: 50,
      holdMs: 400,
      expected: 'LOCK_BUSY',
    },
    {
      name: 'a caller cannot wait longer than waitMs',
      waitMs: 50,
      callerWaitMs: 1_000,
      holdMs: 400,
      expected: 'LOCK_BUSY',
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const lock = new InProcessLock(c.waitMs);
      const holder = lock.withLock('order-1', () => sleep(c.holdMs));
      await tick();
      const started = Date.now();
      const expectedWait = Math.min(c.waitMs, c.callerWaitMs ?? c.waitMs);
      let outcome: string;
      try {
        outcome = await lock.withLock('order-1', async () => 'acquired' as const, undefined, c.callerWaitMs);
      } catch (e) {
        assert.ok(e instanceof LockError, `expected a LockError, got ${String(e)}`);
        outcome = e.code;
        const waited = Date.now() - started;
        assert.ok(waited >= expectedWait - 5, `gave up after ${waited} ms, before ${expectedWait} ms`);
        assert.ok(waited < c.holdMs, `waited ${waited} ms: until the holder released, not waitMs`);
      }
      assert.equal(outcome, c.expected);
      await holder;
    });
  }
});

describe('the lock is released however the routine ends', () => {
  const failure = new Error('the store is down');
  const cases: ReadonlyArray<{
    name: string;
    routine: () => Promise<unknown>;
    settles: { value: unknown } | { error: unknown };
  }> = [
    { name: 'returns a value', routine: async () => 42, settles: { value: 42 } },
    {
      name: 'throws an Error',
      routine: async () => {
        throw failure;
      },
      settles: { error: failure },
    },
    {
      name: 'throws after an await',
      routine: async () => {
        await sleep(2);
        throw failure;
      },
      settles: { error: failure },
    },
    {
      name: 'rejects with a non-Error', // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the case is a non-Error rejection
      routine: () => Promise.reject('plain string'),
      settles: { error: 'plain string' },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const lock = new InProcessLock(100);
      const run = lock.withLock('order-1', c.routine);
      if ('value' in c.settles) assert.equal(await run, c.settles.value);
      else await assert.rejects(run, (e: unknown) => e === (c.settles as { error: unknown }).error);
      // The next caller gets the lock at once, well before waitMs.
      assert.equal(await lock.withLock('order-1', async () => 'next'), 'next');
    });
  }
});

describe('a waiter that timed out does not break the queue', () => {
  // waitMs 300: the holder keeps the lock 450 ms. Waiters arriving at `arriveMs` give up at
  // arriveMs + 300; those still waiting at 450 ms get the lock, in arrival order.
  const cases: ReadonlyArray<{
    name: string;
    waiters: ReadonlyArray<{ id: string; arriveMs: number }>;
    expected: Record<string, string>;
  }> = [
    {
      name: 'B times out, C (arrived later) still gets the lock',
      waiters: [
        { id: 'B', arriveMs: 0 },
        { id: 'C', arriveMs: 250 },
      ],
      expected: { B: 'LOCK_BUSY', C: 'acquired' },
    },
    {
      name: 'B and C time out, D and E get the lock in order',
      waiters: [
        { id: 'B', arriveMs: 0 },
        { id: 'C', arriveMs: 20 },
        { id: 'D', arriveMs: 250 },
        { id: 'E', arriveMs: 260 },
      ],
      expected: { B: 'LOCK_BUSY', C: 'LOCK_BUSY', D: 'acquired', E: 'acquired' },
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const lock = new InProcessLock(300);
      const acquiredOrder: string[] = [];
      const holder = lock.withLock('order-1', () => sleep(450));
      await tick();
      const start = Date.now();
      const results = await Promise.all(
        c.waiters.map(async (w) => {
          await sleep(Math.max(0, w.arriveMs - (Date.now() - start)));
          try {
            await lock.withLock('order-1', async () => {
              acquiredOrder.push(w.id);
              await sleep(5);
            });
            return [w.id, 'acquired'] as const;
          } catch (e) {
            assert.ok(e instanceof LockError);
            return [w.id, e.code] as const;
          }
        }),
      );
      await holder;
      assert.deepEqual(Object.fromEntries(results), c.expected);
      const acquirers = c.waiters.filter((w) => c.expected[w.id] === 'acquired').map((w) => w.id);
      assert.deepEqual(acquiredOrder, acquirers, 'the remaining waiters got the lock in arrival order');
      // Nothing is left behind: a newcomer gets the lock at once.
      const t0 = Date.now();
      assert.equal(await lock.withLock('order-1', async () => 'free'), 'free');
      assert.ok(Date.now() - t0 < 50);
    });
  }
});
