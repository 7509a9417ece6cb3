// The sender's retry loop (tools/simulator/sender.ts) and the multi-server duplicate sender, with a
// scripted transport and a fake clock: which attempts happen, after which pauses, and how a
// delivery ends.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deliverFromSenders, senderOffsetsMs } from '../../tools/simulator/duplicate-sender';
import { TransportError, type HttpReply, type Transport } from '../../tools/simulator/http-transport';
import { seededRandom } from '../../tools/simulator/random';
import { LEGACY_SCHEDULE, parseSchedule, WECHAT_SCHEDULE } from '../../tools/simulator/retry-schedule';
import { semaphore } from '../../tools/simulator/semaphore';
import { deliver, type AttemptRecord, type SenderOptions } from '../../tools/simulator/sender';

const OK: HttpReply = { status: 200, body: '<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>' };
const FAIL: HttpReply = { status: 503, body: '<xml><return_code><![CDATA[FAIL]]></return_code></xml>' };
const FAIL_200: HttpReply = { status: 200, body: '<xml><return_code><![CDATA[FAIL]]></return_code></xml>' };

type Step = HttpReply | { error: string } | { reply: HttpReply; takesMs: number };

/**
 * A transport that plays `steps` in order (the last one repeats) on a fake clock. Senders running
 * side by side share the clock, so their sleeps must not advance it (advanceOnSleep false).
 */
function scripted(
  steps: readonly Step[],
  advanceOnSleep = true,
): {
  options: Omit<SenderOptions, 'url' | 'schedule' | 'timeScale'>;
  sleeps: number[];
  records: AttemptRecord[];
  posts: () => number;
} {
  let clock = 1_000_000;
  let i = 0;
  const sleeps: number[] = [];
  const records: AttemptRecord[] = [];
  const transport: Transport = async () => {
    const step = steps[Math.min(i++, steps.length - 1)];
    if (!step) throw new Error('no steps');
    if ('error' in step) throw new TransportError(step.error, step.error);
    if ('takesMs' in step) {
      clock += step.takesMs;
      return step.reply;
    }
    clock += 5;
    return step;
  };
  return {
    options: {
      transport,
      now: () => clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        if (advanceOnSleep) clock += ms;
      },
      onAttempt: (r) => records.push(r),
    },
    sleeps,
    records,
    posts: () => i,
  };
}

const N = { id: 'n1', kind: 'unique', xml: '<xml/>' };

describe('deliver: one sender', () => {
  const cases: ReadonlyArray<{
    name: string;
    steps: Step[];
    scale?: number;
    schedule?: typeof WECHAT_SCHEDULE;
    max?: number;
    delivered: boolean;
    attempts: number;
    sleeps: number[];
  }> = [
    { name: 'acknowledged at once: one attempt, no pause', steps: [OK], delivered: true, attempts: 1, sleeps: [] },
    {
      name: 'FAIL then SUCCESS: retried after 15 s',
      steps: [FAIL, OK],
      delivered: true,
      attempts: 2,
      sleeps: [15_000],
    },
    {
      name: 'HTTP 200 with FAIL is retried too',
      steps: [FAIL_200, OK],
      delivered: true,
      attempts: 2,
      sleeps: [15_000],
    },
    {
      name: 'connection refused is retried',
      steps: [{ error: 'ECONNREFUSED' }, { error: 'ECONNRESET' }, OK],
      delivered: true,
      attempts: 3,
      sleeps: [15_000, 15_000],
    },
    {
      name: 'a SUCCESS that takes 6 s is late and retried',
      steps: [{ reply: OK, takesMs: 6_000 }, OK],
      delivered: true,
      attempts: 2,
      sleeps: [15_000],
    },
    {
      name: 'pauses follow the schedule, compressed x0.001',
      steps: [FAIL, FAIL, FAIL, FAIL, FAIL, OK],
      scale: 0.001,
      delivered: true,
      attempts: 6,
      sleeps: [15, 15, 30, 180, 600],
    },
    {
      name: 'never acknowledged: 16 attempts, 15 pauses adding up to 24h4m, then given up',
      steps: [FAIL],
      delivered: false,
      attempts: 16,
      sleeps: [...WECHAT_SCHEDULE.delaysMs],
    },
    {
      name: 'legacy schedule: 10 attempts, then given up',
      steps: [FAIL],
      schedule: LEGACY_SCHEDULE,
      delivered: false,
      attempts: 10,
      sleeps: [...LEGACY_SCHEDULE.delaysMs],
    },
    {
      name: 'an attempt cap stops early',
      steps: [FAIL],
      max: 3,
      delivered: false,
      attempts: 3,
      sleeps: [15_000, 15_000],
    },
    {
      name: 'schedule "none": one attempt',
      steps: [FAIL],
      schedule: parseSchedule('none'),
      delivered: false,
      attempts: 1,
      sleeps: [],
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const s = scripted(c.steps);
      const result = await deliver(N, 0, {
        ...s.options,
        url: 'http://x/',
        schedule: c.schedule ?? WECHAT_SCHEDULE,
        timeScale: c.scale ?? 1,
        maxAttempts: c.max,
      });
      assert.deepEqual([result.delivered, result.attempts], [c.delivered, c.attempts]);
      assert.deepEqual(s.sleeps, c.sleeps);
      assert.equal(s.records.length, c.attempts, 'one log record per attempt');
      assert.equal(s.posts(), c.attempts);
      assert.deepEqual(
        s.records.map((r) => r.attempt),
        Array.from({ length: c.attempts }, (_, i) => i + 1),
      );
      assert.deepEqual(
        s.records.map((r) => r.nextRetryMs),
        [...c.sleeps, null],
      );
      assert.equal(s.records.filter((r) => r.acknowledged).length, c.delivered ? 1 : 0);
    });
  }

  test('the log record of an attempt: status, body, latency, reason; or the error code', async () => {
    const s = scripted([{ error: 'ECONNREFUSED' }, { reply: FAIL, takesMs: 120 }, OK]);
    await deliver(N, 2, { ...s.options, url: 'http://x/', schedule: WECHAT_SCHEDULE, timeScale: 1 });
    const [refused, failed, ok] = s.records;
    assert.deepEqual([refused?.status, refused?.error, refused?.acknowledged], [null, 'ECONNREFUSED', false]);
    assert.deepEqual([failed?.status, failed?.latencyMs, failed?.reason, failed?.sender], [503, 120, 'HTTP 503', 2]);
    assert.deepEqual([ok?.status, ok?.acknowledged, ok?.reason], [200, true, 'SUCCESS']);
  });
});

describe('several senders: the same notification from N WeChat servers', () => {
  test('each sender delivers on its own, after its offset', async () => {
    const s = scripted([OK], false);
    const results = await deliverFromSenders(N, [0, 5, 2000], {
      ...s.options,
      url: 'http://x/',
      schedule: WECHAT_SCHEDULE,
      timeScale: 1,
    });
    assert.deepEqual(
      results.map((r) => [r.sender, r.delivered]),
      [
        [0, true],
        [1, true],
        [2, true],
      ],
    );
    assert.deepEqual(
      s.sleeps.sort((a, b) => a - b),
      [5, 2000],
      'sender 0 starts at once',
    );
    assert.equal(s.posts(), 3);
  });

  test('one sender retrying does not stop the others', async () => {
    const s = scripted([FAIL, OK], false);
    const results = await deliverFromSenders(N, [0, 0], {
      ...s.options,
      url: 'http://x/',
      schedule: WECHAT_SCHEDULE,
      timeScale: 1,
    });
    assert.deepEqual(
      results.map((r) => r.delivered),
      [true, true],
    );
    assert.equal(s.posts(), 3);
  });

  const offsetCases: ReadonlyArray<[number, number, number]> = [
    [1, 0, 0],
    [3, 0, 20],
    [5, 500, 3000],
    [2, 7, 7],
  ];
  for (const [senders, min, max] of offsetCases) {
    test(`senderOffsetsMs(${senders}, ${min}, ${max}): first at 0, gaps within [${min}, ${max}]`, () => {
      const offsets = senderOffsetsMs(senders, min, max, seededRandom(senders * 31 + max));
      assert.equal(offsets.length, senders);
      assert.equal(offsets[0], 0);
      for (let i = 1; i < offsets.length; i++) {
        const gap = (offsets[i] ?? 0) - (offsets[i - 1] ?? 0);
        assert.ok(gap >= min && gap <= max, `gap ${gap}`);
      }
    });
  }
  for (const [senders, min, max] of [
    [0, 0, 1],
    [1.5, 0, 1],
    [2, 5, 1],
    [2, -1, 1],
  ] as const) {
    test(`senderOffsetsMs(${senders}, ${min}, ${max}) is refused`, () =>
      assert.throws(() => senderOffsetsMs(senders, min, max, seededRandom(1)), RangeError));
  }
});

describe('semaphore: the concurrency limit', () => {
  test('at most `limit` holders; the others wait in order; a release twice counts once', async () => {
    const acquire = semaphore(2);
    const order: number[] = [];
    const a = await acquire();
    const b = await acquire();
    const waiting = [
      acquire().then((r) => {
        order.push(3);
        return r;
      }),
      acquire().then((r) => {
        order.push(4);
        return r;
      }),
    ];
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, []);
    a();
    a();
    const c = await waiting[0];
    assert.deepEqual(order, [3]);
    b();
    const d = await waiting[1];
    assert.deepEqual(order, [3, 4]);
    c?.();
    d?.();
    const e = await acquire();
    const f = await acquire();
    e();
    f();
  });
});
