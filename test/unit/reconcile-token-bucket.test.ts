// The orderquery rate limiter (src/reconcile/token-bucket.ts), on a fake monotonic clock.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TokenBucket } from '../../src/reconcile/token-bucket';

/** A bucket on a clock the test moves; `sleep` advances it instead of waiting. */
function fakeBucket(rate: number, capacity: number): { bucket: TokenBucket; clock: { t: number }; slept: number[] } {
  const clock = { t: 1_000 };
  const slept: number[] = [];
  const bucket = new TokenBucket(
    rate,
    capacity,
    () => clock.t,
    async (ms) => {
      slept.push(ms);
      clock.t += ms;
    },
  );
  return { bucket, clock, slept };
}

describe('tryTake: a full bucket, then the rate', () => {
  // Steps: advance the clock by `advance` ms, then tryTake(); `expected` is the result (0 = taken).
  const cases: ReadonlyArray<{
    name: string;
    rate: number;
    capacity: number;
    steps: ReadonlyArray<[advance: number, expected: number]>;
  }> = [
    {
      name: '5/s with a burst of 5: five at once, the sixth waits 200 ms',
      rate: 5,
      capacity: 5,
      steps: [
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 200],
      ],
    },
    {
      name: '5/s: after 200 ms one more token, not two',
      rate: 5,
      capacity: 5,
      steps: [
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 0],
        [200, 0],
        [0, 200],
      ],
    },
    {
      name: '5/s: a partial refill says how long is left',
      rate: 5,
      capacity: 5,
      steps: [
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 0],
        [150, 50],
      ],
    },
    {
      name: '1/s with no burst: one per second',
      rate: 1,
      capacity: 1,
      steps: [
        [0, 0],
        [0, 1_000],
        [999, 1],
        [1, 0],
      ],
    },
    {
      name: 'an idle hour refills to the capacity only',
      rate: 2,
      capacity: 2,
      steps: [
        [0, 0],
        [0, 0],
        [3_600_000, 0],
        [0, 0],
        [0, 500],
      ],
    },
    {
      name: 'a clock that steps back adds no tokens',
      rate: 1,
      capacity: 1,
      steps: [
        [0, 0],
        [-5_000, 1_000],
        [5_000, 1_000],
        [1_000, 0],
      ],
    },
    {
      name: '1000/s: 1 ms apart',
      rate: 1_000,
      capacity: 1,
      steps: [
        [0, 0],
        [0, 1],
        [1, 0],
      ],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { bucket, clock } = fakeBucket(c.rate, c.capacity);
      const got = c.steps.map(([advance]) => {
        clock.t += advance;
        return bucket.tryTake();
      });
      assert.deepEqual(
        got,
        c.steps.map(([, expected]) => expected),
      );
    });
  }
});

describe('take: waits, and never hands out more than the rate', () => {
  test('12 takes at 5/s with a burst of 5 take 1.4 s of (fake) time', async () => {
    const { bucket, clock } = fakeBucket(5, 5);
    const start = clock.t;
    const times: number[] = [];
    for (let i = 0; i < 12; i++) {
      await bucket.take();
      times.push(clock.t - start);
    }
    assert.deepEqual(times, [0, 0, 0, 0, 0, 200, 400, 600, 800, 1_000, 1_200, 1_400]);
  });

  test('concurrent takers share the rate', async () => {
    const { bucket, clock } = fakeBucket(10, 1);
    const start = clock.t;
    const times: number[] = [];
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        await bucket.take();
        times.push(clock.t - start);
      }),
    );
    // Each fake sleep moves the shared clock, so the order of wake-ups can bunch; the count per
    // window cannot exceed the rate: 5 tokens need at least 400 ms after the first.
    assert.equal(times.length, 5);
    assert.ok(Math.max(...times) >= 400, JSON.stringify(times));
  });

  test('an aborted signal rejects with its reason and takes nothing', async () => {
    const bucket = new TokenBucket(1, 1, () => 0);
    bucket.tryTake();
    const controller = new AbortController();
    const reason = new Error('stopping');
    const taking = bucket.take(controller.signal);
    controller.abort(reason);
    await assert.rejects(taking, (e) => e === reason);
  });

  for (const [rate, capacity] of [
    [0, 1],
    [-1, 1],
    [1, 0],
    [Number.NaN, 1],
    [Number.POSITIVE_INFINITY, 1],
  ] as const) {
    test(`rate ${rate}, capacity ${capacity} is a programming error`, () => {
      assert.throws(() => new TokenBucket(rate, capacity, () => 0), RangeError);
    });
  }
});
