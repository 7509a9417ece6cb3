// The notify table (docs/exactly-once.md "What happens to a notification"), row by row, through a real gRPC
// server on a real socket, on each supported store: SQLite with the in-process lock, and
// PostgreSQL and MariaDB with Redlock over three real Redis nodes.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { status, type ServiceError } from '@grpc/grpc-js';
import Redis from 'ioredis';
import Redlock from 'redlock';
import { NotifyOutcome, OrderStatus } from '../../src/gen/payment/callback/v1/payment_callback';
import { orderLockKey } from '../../src/lock/order-lock';
import { MARIADB_REDLOCK, POSTGRES_REDLOCK, SQLITE_IN_PROCESS, type Backend } from '../../harness/backends';
import { DEMO, HMAC_ONLY, newTradeNo, paidFields, signNotification } from '../../harness/sign-notification';
import { orderTrail, startTestCore, tableCounts, type TestCore } from '../../harness/test-core';

const O = NotifyOutcome;

/** How many times the core obtained the order lock (its lock-wait histogram's count). */
async function lockAcquisitions(core: TestCore): Promise<number> {
  const metric = await core.metrics.lockWaitSeconds.get();
  return metric.values.find((v) => v.metricName === 'payment_callback_lock_wait_seconds_count')?.value ?? 0;
}

interface Row {
  readonly name: string;
  /** Work done before the notification under test (register the order, pay it once...). */
  readonly arrange?: (core: TestCore, tradeNo: string) => Promise<void>;
  readonly fields: (tradeNo: string) => Record<string, string>;
  readonly expect: { outcome: NotifyOutcome; code: string; acknowledge: boolean };
  /** What must be stored afterwards; `nothing` means no table changed at all. */
  readonly stored: 'nothing' | ((trail: Awaited<ReturnType<typeof orderTrail>>, tradeNo: string) => void);
}

const signed = (fields: Record<string, string>): Record<string, string> => signNotification(fields, DEMO.key);
const register =
  (totalFee = 100) =>
  async (core: TestCore, tradeNo: string): Promise<void> => {
    await core.createOrder({ outTradeNo: tradeNo, totalFee });
  };
const registerAndPay = async (core: TestCore, tradeNo: string): Promise<void> => {
  await register()(core, tradeNo);
  const first = await core.notify(signed(paidFields(tradeNo)));
  assert.equal(first.outcome, O.NOTIFY_OUTCOME_PAID);
};
const withoutField = (fields: Record<string, string>, name: string): Record<string, string> => {
  const copy = { ...fields };
  delete copy[name];
  return copy;
};

const ROWS: readonly Row[] = [
  {
    name: 'valid, SUCCESS, known NOTPAY order, equal amount: the order is paid with one event',
    arrange: register(),
    fields: (t) => signed(paidFields(t)),
    expect: { outcome: O.NOTIFY_OUTCOME_PAID, code: 'OK', acknowledge: true },
    stored: ({ order, notifications, anomalies, events }, tradeNo) => {
      assert.equal(order?.['status'], 'PAID');
      assert.equal(order?.['transaction_id'], paidFields(tradeNo)['transaction_id']);
      // time_end 20261127120000 is China Standard Time, 04:00 UTC.
      assert.equal(Number(order?.['paid_at_ms']), Date.UTC(2026, 10, 27, 4, 0, 0));
      assert.deepEqual(
        notifications.map((n) => n['outcome']),
        ['PAID'],
      );
      assert.deepEqual(
        events.map((e) => e['type']),
        ['ORDER_PAID'],
      );
      // The same text whichever way the store wrote it (one statement or a transaction).
      const f = paidFields(tradeNo);
      assert.equal(
        events[0]?.['payload_json'],
        JSON.stringify({
          mch_id: f['mch_id'],
          appid: f['appid'],
          out_trade_no: tradeNo,
          transaction_id: f['transaction_id'],
          total_fee: 100,
          fee_type: 'CNY',
          paid_at: '2026-11-27T04:00:00.000Z',
          notification_id: Number(notifications[0]?.['id']),
        }),
      );
      assert.equal(anomalies.length, 0);
    },
  },
  {
    name: 'valid HMAC-SHA256 signature: paid the same way',
    arrange: register(),
    fields: (t) => signNotification(paidFields(t), DEMO.key, 'HMAC-SHA256'),
    expect: { outcome: O.NOTIFY_OUTCOME_PAID, code: 'OK', acknowledge: true },
    stored: ({ order, events }) => {
      assert.equal(order?.['status'], 'PAID');
      assert.equal(events.length, 1);
    },
  },
  {
    name: 'the same notification again: no second transition, no second event',
    arrange: registerAndPay,
    fields: (t) => signed(paidFields(t)),
    expect: { outcome: O.NOTIFY_OUTCOME_DUPLICATE, code: 'DUPLICATE', acknowledge: true },
    stored: ({ order, notifications, events }) => {
      assert.equal(order?.['status'], 'PAID');
      assert.deepEqual(
        notifications.map((n) => n['outcome']),
        ['PAID', 'DUPLICATE'],
      );
      assert.deepEqual(
        events.map((e) => e['type']),
        ['ORDER_PAID'],
      );
    },
  },
  {
    name: 'already PAID under a different transaction_id: an anomaly, the order untouched, SUCCESS',
    arrange: registerAndPay,
    fields: (t) => signed(paidFields(t, { transaction_id: '4200000000000000000000000000999' })),
    expect: { outcome: O.NOTIFY_OUTCOME_CONFLICTING_PAYMENT, code: 'CONFLICTING_TRANSACTION', acknowledge: true },
    stored: ({ order, anomalies, events }) => {
      assert.notEqual(order?.['transaction_id'], '4200000000000000000000000000999');
      assert.deepEqual(
        anomalies.map((a) => a['kind']),
        ['CONFLICTING_TRANSACTION'],
      );
      assert.deepEqual(
        events.map((e) => e['type']),
        ['ORDER_PAID', 'ANOMALY_RAISED'],
      );
    },
  },
  {
    name: 'valid, result_code FAIL: the failure recorded, the order not paid, SUCCESS',
    arrange: register(),
    fields: (t) =>
      signed({
        ...withoutField(paidFields(t), 'transaction_id'),
        result_code: 'FAIL',
        err_code: 'NOTENOUGH',
        err_code_des: '余额不足',
      }),
    expect: { outcome: O.NOTIFY_OUTCOME_PAYMENT_FAILED, code: 'PAYMENT_FAILED', acknowledge: true },
    stored: ({ order, notifications, events }) => {
      assert.equal(order?.['status'], 'NOTPAY');
      assert.deepEqual(
        notifications.map((n) => n['outcome']),
        ['PAYMENT_FAILED'],
      );
      assert.deepEqual(
        events.map((e) => e['type']),
        ['PAYMENT_FAILED'],
      );
    },
  },
  {
    name: 'bad signature (signed with another key): nothing stored, FAIL',
    arrange: register(),
    fields: (t) => signNotification(paidFields(t), 'A'.repeat(32)),
    expect: { outcome: O.NOTIFY_OUTCOME_REJECTED, code: 'INVALID_SIGNATURE', acknowledge: false },
    stored: 'nothing',
  },
  {
    name: 'amount changed after signing: nothing stored, FAIL',
    arrange: register(),
    fields: (t) => ({ ...signed(paidFields(t)), total_fee: '1' }),
    expect: { outcome: O.NOTIFY_OUTCOME_REJECTED, code: 'INVALID_SIGNATURE', acknowledge: false },
    stored: 'nothing',
  },
  {
    name: 'missing sign: nothing stored, FAIL',
    arrange: register(),
    fields: (t) => paidFields(t),
    expect: { outcome: O.NOTIFY_OUTCOME_REJECTED, code: 'MISSING_SIGNATURE', acknowledge: false },
    stored: 'nothing',
  },
  {
    name: 'unknown sign_type: nothing stored, FAIL',
    arrange: register(),
    fields: (t) => signed({ ...paidFields(t), sign_type: 'SHA1' }),
    expect: { outcome: O.NOTIFY_OUTCOME_REJECTED, code: 'UNKNOWN_SIGN_TYPE', acknowledge: false },
    stored: 'nothing',
  },
  {
    name: 'sign_type the merchant does not allow (MD5 to an HMAC-only merchant): nothing stored, FAIL',
    fields: (t) =>
      signNotification(paidFields(t, { mch_id: HMAC_ONLY.mchId, appid: HMAC_ONLY.appid }), HMAC_ONLY.key, 'MD5'),
    expect: { outcome: O.NOTIFY_OUTCOME_REJECTED, code: 'SIGN_TYPE_NOT_ALLOWED', acknowledge: false },
    stored: 'nothing',
  },
  {
    name: 'mch_id not configured: nothing stored, FAIL',
    fields: (t) => signed(paidFields(t, { mch_id: '19999999' })),
    expect: { outcome: O.NOTIFY_OUTCOME_REJECTED, code: 'UNKNOWN_MERCHANT', acknowledge: false },
    stored: 'nothing',
  },
  {
    name: 'appid not configured for the merchant: nothing stored, FAIL',
    fields: (t) => signed(paidFields(t, { appid: 'wx1111111111111111' })),
    expect: { outcome: O.NOTIFY_OUTCOME_REJECTED, code: 'UNKNOWN_MERCHANT', acknowledge: false },
    stored: 'nothing',
  },
  {
    name: 'total_fee differs from the order: an anomaly, the order untouched, FAIL',
    arrange: register(100),
    fields: (t) => signed(paidFields(t, { total_fee: '1', cash_fee: '1' })),
    expect: { outcome: O.NOTIFY_OUTCOME_ORDER_MISMATCH, code: 'AMOUNT_MISMATCH', acknowledge: false },
    stored: ({ order, anomalies, events }) => {
      assert.equal(order?.['status'], 'NOTPAY');
      assert.deepEqual(
        anomalies.map((a) => a['kind']),
        ['AMOUNT_MISMATCH'],
      );
      assert.deepEqual(
        events.map((e) => e['type']),
        ['ANOMALY_RAISED'],
      );
    },
  },
  {
    name: 'fee_type differs from the order: an anomaly, the order untouched, FAIL',
    arrange: register(100),
    fields: (t) => signed(paidFields(t, { fee_type: 'USD' })),
    expect: { outcome: O.NOTIFY_OUTCOME_ORDER_MISMATCH, code: 'FEE_TYPE_MISMATCH', acknowledge: false },
    stored: ({ order, anomalies }) => {
      assert.equal(order?.['status'], 'NOTPAY');
      assert.deepEqual(
        anomalies.map((a) => a['kind']),
        ['FEE_TYPE_MISMATCH'],
      );
    },
  },
  {
    name: 'unknown out_trade_no: the notification stored, FAIL so WeChat retries',
    fields: (t) => signed(paidFields(t)),
    expect: { outcome: O.NOTIFY_OUTCOME_ORDER_NOT_FOUND, code: 'ORDER_NOT_FOUND', acknowledge: false },
    stored: ({ order, notifications, events }) => {
      assert.equal(order, undefined);
      assert.deepEqual(
        notifications.map((n) => n['outcome']),
        ['ORDER_NOT_FOUND'],
      );
      assert.equal(events.length, 0);
    },
  },
  ...['01', '-1', '1.0', ' 100', '1e2', ''].map((totalFee): Row => ({
    name: `total_fee ${JSON.stringify(totalFee)} (not a canonical integer): nothing stored, FAIL`,
    arrange: register(),
    fields: (t) => signed(paidFields(t, { total_fee: totalFee })),
    expect: {
      outcome: O.NOTIFY_OUTCOME_MALFORMED,
      code: totalFee === '' ? 'MISSING_FIELD' : 'INVALID_FIELD',
      acknowledge: false,
    },
    stored: 'nothing',
  })),
  ...['transaction_id', 'out_trade_no', 'time_end', 'result_code'].map((name): Row => ({
    name: `required field ${name} missing: nothing stored, FAIL`,
    arrange: register(),
    fields: (t) => signed(withoutField(paidFields(t), name)),
    expect: { outcome: O.NOTIFY_OUTCOME_MALFORMED, code: 'MISSING_FIELD', acknowledge: false },
    stored: 'nothing',
  })),
];

for (const kind of [SQLITE_IN_PROCESS, POSTGRES_REDLOCK, MARIADB_REDLOCK]) {
  describe(kind.name, () => {
    let backend: Backend;
    let core: TestCore;
    before(async () => {
      backend = await kind.start();
      core = await startTestCore({ databaseUrl: backend.databaseUrl, redisUrls: backend.redis.map((r) => r.url) });
    });
    after(async () => {
      await core?.stop();
      await backend?.dispose();
    });

    describe('the notify table', () => {
      for (const row of ROWS) {
        test(row.name, async () => {
          const tradeNo = newTradeNo();
          await row.arrange?.(core, tradeNo);
          const before = await tableCounts(core.db);
          const trailBefore = await orderTrail(core.db, tradeNo);
          const res = await core.notify(row.fields(tradeNo));
          assert.deepEqual(
            { outcome: res.outcome, code: res.code, acknowledge: res.acknowledge },
            row.expect,
            `message: ${res.message}`,
          );
          assert.ok(res.message.length > 0, 'every outcome explains itself');
          if (row.stored === 'nothing') {
            assert.deepEqual(await tableCounts(core.db), before);
            assert.deepEqual(await orderTrail(core.db, tradeNo), trailBefore);
          } else {
            row.stored(await orderTrail(core.db, tradeNo), tradeNo);
          }
        });
      }
    });

    describe('concurrency', () => {
      test('50 concurrent copies of one notification: one transition, one event, 50 SUCCESS', async () => {
        const tradeNo = newTradeNo('C');
        await core.createOrder({ outTradeNo: tradeNo });
        const fields = signed(paidFields(tradeNo));
        const locksBefore = await lockAcquisitions(core);
        const replies = await Promise.all(Array.from({ length: 50 }, () => core.notify(fields)));
        assert.equal(
          replies.filter((r) => r.acknowledge).length,
          50,
          JSON.stringify(replies.filter((r) => !r.acknowledge)),
        );
        assert.equal(replies.filter((r) => r.outcome === O.NOTIFY_OUTCOME_PAID).length, 1);
        const trail = await orderTrail(core.db, tradeNo);
        assert.equal(trail.order?.['status'], 'PAID');
        assert.equal(trail.events.length, 1);
        assert.equal(trail.notifications.length, 50);
        // The copies queue inside the core and find the order paid when their turn comes,
        // rather than each polling the lock service.
        const locks = (await lockAcquisitions(core)) - locksBefore;
        assert.ok(locks >= 1 && locks <= 5, `${locks} lock acquisitions for 50 copies`);
      });

      test('50 notifications for 50 orders at once: all PAID', async () => {
        const tradeNos = Array.from({ length: 50 }, () => newTradeNo('M'));
        await Promise.all(tradeNos.map((t) => core.createOrder({ outTradeNo: t })));
        const replies = await Promise.all(tradeNos.map((t) => core.notify(signed(paidFields(t)))));
        assert.deepEqual(new Set(replies.map((r) => r.outcome)), new Set([O.NOTIFY_OUTCOME_PAID]));
        for (const t of tradeNos) assert.equal((await core.getOrder(t)).order?.status, OrderStatus.ORDER_STATUS_PAID);
      });

      test('a notification that arrives before its order pays it when the order is created; the retry is a duplicate', async () => {
        // WeChat may stop retrying before the merchant registers the order: CreateOrder applies
        // the stored, authenticated notification itself.
        const tradeNo = newTradeNo('L');
        const fields = signed(paidFields(tradeNo));
        assert.equal((await core.notify(fields)).outcome, O.NOTIFY_OUTCOME_ORDER_NOT_FOUND);
        const created = await core.createOrder({ outTradeNo: tradeNo });
        assert.deepEqual([created.created, created.order?.status], [true, OrderStatus.ORDER_STATUS_PAID]);
        assert.equal((await core.notify(fields)).outcome, O.NOTIFY_OUTCOME_DUPLICATE);
        const trail = await orderTrail(core.db, tradeNo);
        assert.deepEqual(
          trail.notifications.map((n) => n['outcome']),
          ['ORDER_NOT_FOUND', 'PAID', 'DUPLICATE'],
        );
        assert.equal(trail.events.length, 1);
      });

      test('a parked notification whose amount differs raises the anomaly at CreateOrder and pays nothing', async () => {
        const tradeNo = newTradeNo('L');
        assert.equal(
          (await core.notify(signed(paidFields(tradeNo, { total_fee: '1', cash_fee: '1' })))).outcome,
          O.NOTIFY_OUTCOME_ORDER_NOT_FOUND,
        );
        const created = await core.createOrder({ outTradeNo: tradeNo, totalFee: 100 });
        assert.equal(created.order?.status, OrderStatus.ORDER_STATUS_NOTPAY);
        assert.deepEqual(
          (await orderTrail(core.db, tradeNo)).anomalies.map((a) => a['kind']),
          ['AMOUNT_MISMATCH'],
        );
      });
    });

    describe('orders API', () => {
      const rpcError = async (p: Promise<unknown>): Promise<ServiceError> => {
        try {
          await p;
        } catch (e) {
          return e as ServiceError;
        }
        throw new Error('expected the call to fail');
      };
      test('CreateOrder is idempotent for the same values and refuses different ones', async () => {
        const tradeNo = newTradeNo('O');
        const first = await core.createOrder({ outTradeNo: tradeNo, totalFee: 250 });
        assert.equal(first.created, true);
        assert.equal(first.order?.status, OrderStatus.ORDER_STATUS_NOTPAY);
        assert.equal(first.order?.feeType, 'CNY');
        const again = await core.createOrder({ outTradeNo: tradeNo, totalFee: 250 });
        assert.equal(again.created, false);
        const conflict = await rpcError(core.createOrder({ outTradeNo: tradeNo, totalFee: 251 }));
        assert.equal(conflict.code, status.ALREADY_EXISTS);
      });
      const invalid: ReadonlyArray<[string, Record<string, unknown>, status]> = [
        ['total_fee 0', { totalFee: 0 }, status.INVALID_ARGUMENT],
        ['out_trade_no with a space', { outTradeNo: 'a b' }, status.INVALID_ARGUMENT],
        ['fee_type in lower case', { feeType: 'cny' }, status.INVALID_ARGUMENT],
        ['a merchant not configured', { mchId: '19999999' }, status.FAILED_PRECONDITION],
        ['an appid not configured', { appid: 'wx1111111111111111' }, status.FAILED_PRECONDITION],
      ];
      for (const [name, req, code] of invalid) {
        test(`CreateOrder with ${name} fails with ${status[code]}`, async () => {
          const err = await rpcError(core.createOrder({ outTradeNo: newTradeNo('I'), ...req }));
          assert.equal(err.code, code, err.details);
        });
      }
      test('GetOrder of an unknown order is NOT_FOUND', async () => {
        assert.equal((await rpcError(core.getOrder('nope'))).code, status.NOT_FOUND);
      });
    });

    describe('faults: the database decides, failures answer FAIL and write nothing', () => {
      test('two cores with no shared lock race 20 copies: exactly one transition', async () => {
        // Each core has only its own in-process lock: nothing but the conditional update stands
        // between the copies. (On SQLite the second core shares the file.)
        const other = await startTestCore({ databaseUrl: backend.databaseUrl });
        const lone = await startTestCore({ databaseUrl: backend.databaseUrl });
        try {
          const tradeNo = newTradeNo('R');
          await core.createOrder({ outTradeNo: tradeNo });
          const fields = signed(paidFields(tradeNo));
          const replies = await Promise.all(
            Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? other : lone).notify(fields)),
          );
          const trail = await orderTrail(core.db, tradeNo);
          assert.equal(replies.filter((r) => r.outcome === O.NOTIFY_OUTCOME_PAID).length, 1);
          assert.equal(trail.events.length, 1);
          // Losers of a write race may answer RETRY_LATER (FAIL) and be retried by WeChat; none
          // may claim a second payment.
          for (const r of replies) {
            assert.ok(
              [O.NOTIFY_OUTCOME_PAID, O.NOTIFY_OUTCOME_DUPLICATE, O.NOTIFY_OUTCOME_RETRY_LATER].includes(r.outcome),
              r.message,
            );
          }
        } finally {
          await other.stop();
          await lone.stop();
        }
      });

      if (kind !== SQLITE_IN_PROCESS) {
        test('lock held elsewhere for the whole bounded wait: RETRY_LATER, nothing written', async () => {
          const impatient = await startTestCore({
            databaseUrl: backend.databaseUrl,
            redisUrls: backend.redis.map((r) => r.url),
            env: { LOCK_WAIT_MS: '200', LOCK_RETRY_DELAY_MS: '20' },
          });
          const clients = backend.redis.map((r) => new Redis(r.url));
          const holder = new Redlock(clients, { retryCount: 0 });
          try {
            const tradeNo = newTradeNo('B');
            await core.createOrder({ outTradeNo: tradeNo });
            const lock = await holder.acquire([orderLockKey(DEMO.mchId, tradeNo)], 10_000);
            const before = await tableCounts(core.db);
            const res = await impatient.notify(signed(paidFields(tradeNo)));
            assert.deepEqual(
              [res.outcome, res.code, res.acknowledge],
              [O.NOTIFY_OUTCOME_RETRY_LATER, 'LOCK_BUSY', false],
            );
            assert.deepEqual(await tableCounts(core.db), before);
            await lock.release();
            assert.equal((await impatient.notify(signed(paidFields(tradeNo)))).outcome, O.NOTIFY_OUTCOME_PAID);
          } finally {
            await impatient.stop();
            await Promise.allSettled(clients.map((c) => c.quit()));
          }
        });

        test('one Redis node of three down: quorum holds and the order is paid', async () => {
          const tradeNo = newTradeNo('Q');
          await core.createOrder({ outTradeNo: tradeNo });
          await backend.redis[0]?.kill();
          try {
            assert.equal((await core.notify(signed(paidFields(tradeNo)))).outcome, O.NOTIFY_OUTCOME_PAID);
          } finally {
            await backend.redis[0]?.restart();
          }
        });

        test('two Redis nodes of three down (quorum lost): RETRY_LATER, nothing written; paid once they return', async () => {
          const tradeNo = newTradeNo('Q');
          await core.createOrder({ outTradeNo: tradeNo });
          await backend.redis[0]?.kill();
          await backend.redis[1]?.kill();
          const before = await tableCounts(core.db);
          try {
            const res = await core.notify(signed(paidFields(tradeNo)));
            assert.deepEqual(
              [res.outcome, res.code, res.acknowledge],
              [O.NOTIFY_OUTCOME_RETRY_LATER, 'LOCK_UNAVAILABLE', false],
            );
            assert.deepEqual(await tableCounts(core.db), before);
          } finally {
            await backend.redis[0]?.restart();
            await backend.redis[1]?.restart();
          }
          await waitFor(async () => (await core.notify(signed(paidFields(tradeNo)))).outcome === O.NOTIFY_OUTCOME_PAID);
        });

        const databaseDownCases: ReadonlyArray<{
          name: string;
          arrange: (core: TestCore, tradeNo: string) => Promise<void>;
          after: NotifyOutcome;
          outcomes: readonly string[];
        }> = [
          {
            name: 'database down: RETRY_LATER and nothing half-written; paid after it returns',
            arrange: register(),
            after: O.NOTIFY_OUTCOME_PAID,
            outcomes: ['PAID'],
          },
          {
            name: 'database down, a duplicate of a paid order: RETRY_LATER and nothing written; DUPLICATE after it returns',
            arrange: async (c, tradeNo) => {
              await registerAndPay(c, tradeNo);
              // Once more while the database is up, so the core knows the order is paid without asking.
              assert.equal((await c.notify(signed(paidFields(tradeNo)))).outcome, O.NOTIFY_OUTCOME_DUPLICATE);
            },
            after: O.NOTIFY_OUTCOME_DUPLICATE,
            outcomes: ['PAID', 'DUPLICATE', 'DUPLICATE'],
          },
        ];
        for (const c of databaseDownCases) {
          test(c.name, async () => {
            const server = backend.postgres ?? backend.mariadb;
            assert.ok(server);
            const tradeNo = newTradeNo('D');
            await c.arrange(core, tradeNo);
            const before = await tableCounts(core.db);
            await server.stop();
            try {
              const res = await core.notify(signed(paidFields(tradeNo)));
              assert.deepEqual(
                [res.outcome, res.code, res.acknowledge],
                [O.NOTIFY_OUTCOME_RETRY_LATER, 'STORE_UNAVAILABLE', false],
              );
            } finally {
              await server.restart();
            }
            await waitFor(async () => (await tableCounts(core.db).catch(() => undefined)) !== undefined);
            assert.deepEqual(await tableCounts(core.db), before);
            await waitFor(async () => (await core.notify(signed(paidFields(tradeNo)))).outcome === c.after);
            const trail = await orderTrail(core.db, tradeNo);
            assert.deepEqual(
              trail.notifications.map((n) => n['outcome']),
              c.outcomes,
            );
            assert.equal(trail.events.length, 1);
          });
        }
      }
    });
  });
}

/** Polls until `check` holds; for recovery after a restarted server. */
async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
