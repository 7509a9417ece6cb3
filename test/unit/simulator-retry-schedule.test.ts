// The simulator's retry schedules (tools/simulator/retry-schedule.ts): WeChat's current and legacy
// schedules, time compression, and the duration notation the CLI accepts.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  attemptOffsetsMs,
  deliveryDeadlineMs,
  describeSchedule,
  formatDuration,
  LEGACY_SCHEDULE,
  maxAttempts,
  parseDuration,
  parseSchedule,
  retryDelayMs,
  scaleMs,
  totalDelayMs,
  WECHAT_SCHEDULE,
} from '../../tools/simulator/retry-schedule';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

describe("WeChat's current schedule: 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h", () => {
  test('the pauses, in order', () => {
    assert.deepEqual(WECHAT_SCHEDULE.delaysMs, [
      15 * S,
      15 * S,
      30 * S,
      3 * M,
      10 * M,
      20 * M,
      30 * M,
      30 * M,
      30 * M,
      60 * M,
      3 * H,
      3 * H,
      3 * H,
      6 * H,
      6 * H,
    ]);
  });
  test('they add up to 24h4m, as WeChat documents', () => {
    assert.equal(totalDelayMs(WECHAT_SCHEDULE), 24 * H + 4 * M);
    assert.equal(formatDuration(totalDelayMs(WECHAT_SCHEDULE)), '24h4m');
  });
  test('16 attempts: the first delivery and 15 retries', () => {
    assert.equal(maxAttempts(WECHAT_SCHEDULE), 16);
  });
  test('the last attempt starts 24h4m after the first', () => {
    const offsets = attemptOffsetsMs(WECHAT_SCHEDULE);
    assert.equal(offsets.length, 16);
    assert.deepEqual(offsets.slice(0, 5), [0, 15 * S, 30 * S, 60 * S, 4 * M]);
    assert.equal(offsets[15], 24 * H + 4 * M);
  });
  test('is the default: parseSchedule("wechat")', () => {
    assert.equal(parseSchedule('wechat'), WECHAT_SCHEDULE);
  });
});

describe('the legacy schedule: 15/15/30/180/1800/1800/1800/1800/3600 s', () => {
  test('the pauses, in order', () => {
    assert.deepEqual(
      LEGACY_SCHEDULE.delaysMs.map((d) => d / S),
      [15, 15, 30, 180, 1800, 1800, 1800, 1800, 3600],
    );
  });
  test('10 attempts over 3h4m', () => {
    assert.equal(maxAttempts(LEGACY_SCHEDULE), 10);
    assert.equal(totalDelayMs(LEGACY_SCHEDULE), 3 * H + 4 * M);
  });
  test('parseSchedule("legacy")', () => {
    assert.equal(parseSchedule('legacy'), LEGACY_SCHEDULE);
  });
});

describe('time scale: a day of retries in seconds', () => {
  const cases: ReadonlyArray<[string, number, number, number | undefined]> = [
    ['retry 1 in real time', 1, 1, 15 * S],
    ['retry 1 at x0.001', 1, 0.001, 15],
    ['retry 5 (10m) at x0.001', 5, 0.001, 600],
    ['retry 15 (6h) at x0.0001', 15, 0.0001, 2160],
    ['retry 16 does not exist', 16, 1, undefined],
    ['retry 0 does not exist', 0, 1, undefined],
  ];
  for (const [name, retry, scale, expected] of cases) {
    test(name, () => assert.equal(retryDelayMs(WECHAT_SCHEDULE, retry, scale), expected));
  }
  test('x0.001 compresses 24h4m into 86.64 s', () => {
    const scaled = WECHAT_SCHEDULE.delaysMs.reduce((s, d) => s + scaleMs(d, 0.001), 0);
    assert.equal(scaled, 86_640);
  });
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    test(`a scale of ${bad} is refused`, () => assert.throws(() => scaleMs(1000, bad), RangeError));
  }
  test('the delivery deadline adds every scaled pause and a full reply timeout per attempt', () => {
    assert.equal(deliveryDeadlineMs(WECHAT_SCHEDULE, 0.001, 5_000), 86_640 + 16 * 5_000);
    assert.equal(deliveryDeadlineMs(WECHAT_SCHEDULE, 0.001, 5_000, 3), 15 + 15 + 3 * 5_000);
    assert.equal(deliveryDeadlineMs(WECHAT_SCHEDULE, 1, 0, 1), 0);
  });
  test('describeSchedule names the attempts, the span and the scaled span', () => {
    assert.equal(
      describeSchedule(LEGACY_SCHEDULE, 0.01),
      'legacy: 15s/15s/30s/3m/30m/30m/30m/30m/1h (10 attempts over 3h4m, x0.01 => 110.4s)',
    );
  });
});

describe('durations', () => {
  const parsed: ReadonlyArray<[string, number]> = [
    ['15s', 15 * S],
    ['3m', 3 * M],
    ['6h', 6 * H],
    ['24h4m', 24 * H + 4 * M],
    ['1500ms', 1500],
    ['1m30s', 90 * S],
    ['2', 2 * S],
    ['0.5s', 500],
    [' 10s ', 10 * S],
  ];
  for (const [text, ms] of parsed)
    test(`parseDuration(${JSON.stringify(text)}) = ${ms}`, () => assert.equal(parseDuration(text), ms));
  for (const bad of ['', 's', '15x', '15s junk', '-5s', '1d']) {
    test(`parseDuration(${JSON.stringify(bad)}) is refused`, () => assert.throws(() => parseDuration(bad), RangeError));
  }
  const formatted: ReadonlyArray<[number, string]> = [
    [0, '0s'],
    [15 * S, '15s'],
    [3 * M, '3m'],
    [90 * S, '1m30s'],
    [H, '1h'],
    [24 * H + 4 * M, '24h4m'],
    [1500, '1.5s'],
    [15, '0.015s'],
  ];
  for (const [ms, text] of formatted)
    test(`formatDuration(${ms}) = ${text}`, () => assert.equal(formatDuration(ms), text));
  test('a custom list: "15s,1m,5m"', () => {
    assert.deepEqual(parseSchedule('15s,1m,5m').delaysMs, [15 * S, M, 5 * M]);
  });
  test('"none": a single attempt', () => {
    assert.equal(maxAttempts(parseSchedule('none')), 1);
  });
  test('an unknown name is refused', () => assert.throws(() => parseSchedule('weekly'), RangeError));
});
