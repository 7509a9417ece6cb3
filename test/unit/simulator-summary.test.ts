// The summary of a run and the delivery log (tools/simulator/summary.ts, delivery-log.ts).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DeliveryLog, LOGGED_BODY_CHARS, parseLogLines } from '../../tools/simulator/delivery-log';
import type { AttemptRecord, DeliveryResult } from '../../tools/simulator/sender';
import { formatSummary, percentile, summarize } from '../../tools/simulator/summary';

const attempt = (
  id: string,
  kind: string,
  n: number,
  acknowledged: boolean,
  status: number | null,
  latencyMs = 10,
): AttemptRecord => ({
  type: 'attempt',
  id,
  kind,
  sender: 0,
  attempt: n,
  at: '2026-01-01T00:00:00.000Z',
  latencyMs,
  status,
  body: '',
  error: status === null ? 'ECONNREFUSED' : null,
  acknowledged,
  reason: '',
  nextRetryMs: null,
});
const delivery = (
  id: string,
  kind: string,
  delivered: boolean,
  attempts: number,
  elapsedMs = 5,
  sender = 0,
): DeliveryResult => ({
  type: 'delivery',
  id,
  kind,
  sender,
  delivered,
  attempts,
  firstAttemptAt: '2026-01-01T00:00:00.000Z',
  elapsedMs,
  lastReason: '',
});

describe('summarize', () => {
  const notifications = [
    { id: 'a', kind: 'unique', valid: true },
    { id: 'b', kind: 'duplicate', valid: true },
    { id: 'c', kind: 'forged', valid: false },
    { id: 'd', kind: 'unique', valid: true },
    { id: 'e', kind: 'forged', valid: false },
  ];
  const attempts = [
    attempt('a', 'unique', 1, false, null, 3),
    attempt('a', 'unique', 2, true, 200, 20),
    attempt('b', 'duplicate', 1, true, 200, 30),
    attempt('b', 'duplicate', 1, true, 200, 40),
    attempt('c', 'forged', 1, false, 401, 5),
    attempt('c', 'forged', 2, false, 401, 6),
    attempt('d', 'unique', 1, false, 503, 100),
    attempt('e', 'forged', 1, true, 200, 7),
  ];
  const deliveries = [
    delivery('a', 'unique', true, 2, 900),
    delivery('b', 'duplicate', true, 1, 40, 0),
    delivery('b', 'duplicate', true, 1, 40, 1),
    delivery('c', 'forged', false, 2),
    delivery('d', 'unique', false, 1),
    delivery('e', 'forged', true, 1),
  ];
  const s = summarize({ notifications, deliveries, attempts });
  const rows: ReadonlyArray<[string, unknown, unknown]> = [
    ['notifications', s.notifications, 5],
    ['deliveries (one per sender)', s.deliveries, 6],
    ['delivered', s.delivered, 4],
    ['given up', s.givenUp, 2],
    ['attempts', s.attempts, 8],
    ['valid notifications given up', s.validNotAcknowledged, ['d']],
    ['invalid notifications acknowledged', s.invalidAcknowledged, ['e']],
    ['most attempts a valid delivery needed', s.maxAttemptsToDeliver, 2],
    ['longest valid delivery', s.maxTimeToDeliverMs, 900],
    ['replies by status or error', s.replies, { ECONNREFUSED: 1, 'HTTP 200': 4, 'HTTP 401': 2, 'HTTP 503': 1 }],
    ['latency max', s.latencyMs.max, 100],
    ['by kind: unique', s.byKind['unique'], { notifications: 2, deliveries: 2, delivered: 1, givenUp: 1, attempts: 3 }],
    [
      'by kind: duplicate',
      s.byKind['duplicate'],
      { notifications: 1, deliveries: 2, delivered: 2, givenUp: 0, attempts: 2 },
    ],
  ];
  for (const [name, actual, expected] of rows) test(name, () => assert.deepEqual(actual, expected));
  test('a valid notification with no finished delivery counts as not acknowledged', () => {
    const t = summarize({ notifications: [{ id: 'x', kind: 'unique', valid: true }], deliveries: [], attempts: [] });
    assert.deepEqual(t.validNotAcknowledged, ['x']);
  });
  test('formatSummary names the totals and every kind', () => {
    const text = formatSummary(s);
    assert.match(text, /delivered 4, given up 2, attempts 8/);
    assert.match(text, /valid not acknowledged 1, invalid acknowledged 1/);
    assert.match(text, /forged/);
  });
});

describe('percentile (nearest rank)', () => {
  const cases: ReadonlyArray<[number[], number, number]> = [
    [[], 0.5, 0],
    [[7], 0.99, 7],
    [[1, 2, 3, 4], 0.5, 2],
    [[1, 2, 3, 4], 0.75, 3],
    [[1, 2, 3, 4], 1, 4],
    [Array.from({ length: 100 }, (_, i) => i + 1), 0.95, 95],
  ];
  for (const [list, q, expected] of cases)
    test(`${JSON.stringify(list.slice(0, 5))}${list.length > 5 ? '...' : ''} q=${q} => ${expected}`, () =>
      assert.equal(percentile(list, q), expected));
});

describe('DeliveryLog', () => {
  test('one JSON line per record; bodies cut to the logged length; kept in memory too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'payment-callback-simlog-'));
    try {
      const log = new DeliveryLog(join(dir, 'log.jsonl'));
      log.write({
        type: 'run',
        at: 'now',
        url: 'http://x/',
        runId: 'R',
        schedule: 'wechat',
        timeScale: 1,
        notifications: 1,
      });
      log.write({ ...attempt('a', 'unique', 1, true, 200), body: 'x'.repeat(2000) });
      log.write(delivery('a', 'unique', true, 1));
      await log.close();
      const lines = parseLogLines(readFileSync(join(dir, 'log.jsonl'), 'utf8'));
      assert.deepEqual(
        lines.map((l) => l.type),
        ['run', 'attempt', 'delivery'],
      );
      const a = lines[1] as AttemptRecord;
      assert.equal(a.body?.length, LOGGED_BODY_CHARS);
      assert.equal(log.attempts.length, 1);
      assert.equal(log.deliveries.length, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  test('without a path it only keeps records in memory', async () => {
    const log = new DeliveryLog();
    log.write(delivery('a', 'unique', true, 1));
    await log.close();
    assert.equal(log.deliveries.length, 1);
  });
});
