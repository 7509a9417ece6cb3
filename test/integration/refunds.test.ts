// v2 refund notifications (HandleRefundNotify) through a real gRPC server on each supported store:
// SQLite with the in-process lock, PostgreSQL and MariaDB with Redlock over three Redis nodes.
// Sequences: partial refunds, a full one, a duplicate, an over-refund refused, abnormal then
// refunded, a final state contradicted, an order unknown or not paid yet, concurrent copies, and
// two cores with no shared lock racing refunds that together exceed the payment.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  NotifyOutcome,
  PaymentEventType,
  type HandleNotifyResponse,
  type ListNotificationsResponse,
  type PaymentEvent,
} from '../../src/gen/payment/callback/v1/payment_callback';
import { MARIADB_REDLOCK, POSTGRES_REDLOCK, SQLITE_IN_PROCESS, type Backend } from '../../harness/backends';
import { refundEnvelope, refundInnerFields, type RefundInput } from '../../harness/refund-notification';
import { DEMO, newTradeNo, paidFields, signNotification } from '../../harness/sign-notification';
import { orderTrail, startTestCore, tableCounts, type TestCore } from '../../harness/test-core';

const O = NotifyOutcome;

/** A refund notification for the demo merchant, req_info encrypted with its key. */
const refund = (r: RefundInput, key: string = DEMO.key): Record<string, string> =>
  refundEnvelope(refundInnerFields(r), key, { mchId: DEMO.mchId, appid: DEMO.appid });

const verdict = (r: HandleNotifyResponse): [NotifyOutcome, string, boolean] => [r.outcome, r.code, r.acknowledge];

async function refundedFee(core: TestCore, tradeNo: string): Promise<number> {
  return (await core.getOrder(tradeNo)).order?.refundedFee ?? -1;
}

async function paidOrder(core: TestCore, label: string, totalFee = 100): Promise<string> {
  const tradeNo = newTradeNo(label);
  await core.createOrder({ outTradeNo: tradeNo, totalFee });
  const paid = await core.notify(
    signNotification(paidFields(tradeNo, { total_fee: String(totalFee), cash_fee: String(totalFee) }), DEMO.key),
  );
  assert.equal(paid.outcome, O.NOTIFY_OUTCOME_PAID, paid.message);
  return tradeNo;
}

/** Sends until no answer is RETRY_LATER (WeChat's retries, compressed). */
async function settle(send: () => Promise<HandleNotifyResponse>): Promise<HandleNotifyResponse> {
  for (let i = 0; ; i++) {
    const r = await send();
    if (r.outcome !== O.NOTIFY_OUTCOME_RETRY_LATER || i >= 50) return r;
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 50));
  }
}

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

    test('partial, the rest, a duplicate, then one fen too many: refunded once each, the over-refund refused', async () => {
      const t = await paidOrder(core, 'P');
      assert.deepEqual(
        verdict(await core.refundNotify(refund({ outTradeNo: t, outRefundNo: `${t}a`, refundFee: 60 }))),
        [O.NOTIFY_OUTCOME_REFUNDED, 'OK', true],
      );
      assert.equal(await refundedFee(core, t), 60);
      assert.deepEqual(
        verdict(await core.refundNotify(refund({ outTradeNo: t, outRefundNo: `${t}a`, refundFee: 60 }))),
        [O.NOTIFY_OUTCOME_DUPLICATE, 'DUPLICATE', true],
      );
      assert.equal(await refundedFee(core, t), 60);
      assert.deepEqual(
        verdict(await core.refundNotify(refund({ outTradeNo: t, outRefundNo: `${t}b`, refundFee: 40 }))),
        [O.NOTIFY_OUTCOME_REFUNDED, 'OK', true],
      );
      assert.equal(await refundedFee(core, t), 100);
      const before = await orderTrail(core.db, t);
      for (let i = 0; i < 2; i++) {
        // WeChat retries a FAIL: the same anomaly, raised once.
        assert.deepEqual(
          verdict(await core.refundNotify(refund({ outTradeNo: t, outRefundNo: `${t}c`, refundFee: 1 }))),
          [O.NOTIFY_OUTCOME_ORDER_MISMATCH, 'OVER_REFUND', false],
        );
      }
      const trail = await orderTrail(core.db, t);
      assert.equal(await refundedFee(core, t), 100);
      assert.deepEqual(trail.order, before.order, 'the order is untouched');
      assert.deepEqual(
        trail.anomalies.map((a) => a['kind']),
        ['OVER_REFUND'],
      );
      assert.deepEqual(
        trail.events.map((e) => e['type']),
        ['ORDER_PAID', 'REFUND_SUCCEEDED', 'REFUND_SUCCEEDED', 'ANOMALY_RAISED'],
      );
      assert.deepEqual(
        trail.notifications.map((n) => [n['kind'], n['outcome']]),
        [
          ['PAYMENT_V2', 'PAID'],
          ['REFUND_V2', 'REFUNDED'],
          ['REFUND_V2', 'DUPLICATE'],
          ['REFUND_V2', 'REFUNDED'],
          ['REFUND_V2', 'ORDER_MISMATCH'],
          ['REFUND_V2', 'ORDER_MISMATCH'],
        ],
      );
      const refunds = (await core.db('refunds').where({ out_trade_no: t }).orderBy('out_refund_no')) as Array<
        Record<string, unknown>
      >;
      assert.deepEqual(
        refunds.map((r) => [r['out_refund_no'], Number(r['refund_fee']), r['state']]),
        [
          [`${t}a`, 60, 'SUCCESS'],
          [`${t}b`, 40, 'SUCCESS'],
        ],
      );
    });

    test('a full refund', async () => {
      const t = await paidOrder(core, 'F', 250);
      assert.deepEqual(
        verdict(
          await core.refundNotify(refund({ outTradeNo: t, outRefundNo: `${t}f`, refundFee: 250, totalFee: 250 })),
        ),
        [O.NOTIFY_OUTCOME_REFUNDED, 'OK', true],
      );
      assert.equal(await refundedFee(core, t), 250);
    });

    test('CHANGE (abnormal), then SUCCESS: recorded without money, then refunded', async () => {
      const t = await paidOrder(core, 'C');
      const r = { outTradeNo: t, outRefundNo: `${t}x`, refundFee: 30 };
      assert.deepEqual(verdict(await core.refundNotify(refund({ ...r, status: 'CHANGE' }))), [
        O.NOTIFY_OUTCOME_REFUND_RECORDED,
        'REFUND_ABNORMAL',
        true,
      ]);
      assert.equal(await refundedFee(core, t), 0);
      assert.deepEqual(verdict(await core.refundNotify(refund({ ...r, status: 'CHANGE' }))), [
        O.NOTIFY_OUTCOME_DUPLICATE,
        'DUPLICATE',
        true,
      ]);
      assert.deepEqual(verdict(await core.refundNotify(refund(r))), [O.NOTIFY_OUTCOME_REFUNDED, 'OK', true]);
      assert.equal(await refundedFee(core, t), 30);
      const trail = await orderTrail(core.db, t);
      assert.deepEqual(
        trail.events.map((e) => e['type']),
        ['ORDER_PAID', 'REFUND_FAILED', 'REFUND_SUCCEEDED'],
      );
    });

    test('REFUNDCLOSE after SUCCESS: an anomaly, acknowledged, the money stays counted', async () => {
      const t = await paidOrder(core, 'X');
      const r = { outTradeNo: t, outRefundNo: `${t}x`, refundFee: 30 };
      await core.refundNotify(refund(r));
      assert.deepEqual(verdict(await core.refundNotify(refund({ ...r, status: 'REFUNDCLOSE' }))), [
        O.NOTIFY_OUTCOME_CONFLICTING_PAYMENT,
        'REFUND_STATUS_CONFLICT',
        true,
      ]);
      assert.equal(await refundedFee(core, t), 30);
      assert.deepEqual(
        (await orderTrail(core.db, t)).anomalies.map((a) => a['kind']),
        ['REFUND_STATUS_CONFLICT'],
      );
    });

    test('a refund for an unknown order: ORDER_NOT_FOUND, the notification stored, FAIL', async () => {
      const t = newTradeNo('U');
      assert.deepEqual(
        verdict(await core.refundNotify(refund({ outTradeNo: t, outRefundNo: `${t}u`, refundFee: 10 }))),
        [O.NOTIFY_OUTCOME_ORDER_NOT_FOUND, 'ORDER_NOT_FOUND', false],
      );
      const trail = await orderTrail(core.db, t);
      assert.deepEqual(
        trail.notifications.map((n) => [n['kind'], n['out_refund_no'], n['result_code']]),
        [['REFUND_V2', `${t}u`, 'SUCCESS']],
      );
    });

    test("a refund before its order's payment notification: ORDER_NOT_PAID (FAIL), refunded on the retry after the payment", async () => {
      const t = newTradeNo('N');
      await core.createOrder({ outTradeNo: t });
      const fields = refund({ outTradeNo: t, outRefundNo: `${t}n`, refundFee: 10 });
      assert.deepEqual(verdict(await core.refundNotify(fields)), [
        O.NOTIFY_OUTCOME_ORDER_NOT_FOUND,
        'ORDER_NOT_PAID',
        false,
      ]);
      assert.equal(await refundedFee(core, t), 0);
      assert.equal((await core.notify(signNotification(paidFields(t), DEMO.key))).outcome, O.NOTIFY_OUTCOME_PAID);
      assert.deepEqual(verdict(await core.refundNotify(fields)), [O.NOTIFY_OUTCOME_REFUNDED, 'OK', true]);
    });

    test('req_info encrypted with another key: REJECTED / REFUND_UNDECRYPTABLE, nothing stored', async () => {
      const t = await paidOrder(core, 'K');
      const before = await tableCounts(core.db);
      assert.deepEqual(
        verdict(
          await core.refundNotify(refund({ outTradeNo: t, outRefundNo: `${t}k`, refundFee: 10 }, 'A'.repeat(32))),
        ),
        [O.NOTIFY_OUTCOME_REJECTED, 'REFUND_UNDECRYPTABLE', false],
      );
      assert.deepEqual(await tableCounts(core.db), before);
    });

    test('20 concurrent copies of one refund: refunded once, one event', async () => {
      const t = await paidOrder(core, 'Q');
      const fields = refund({ outTradeNo: t, outRefundNo: `${t}q`, refundFee: 25 });
      const replies = await Promise.all(Array.from({ length: 20 }, () => core.refundNotify(fields)));
      assert.equal(replies.filter((r) => r.outcome === O.NOTIFY_OUTCOME_REFUNDED).length, 1);
      for (const r of replies)
        assert.ok(
          [O.NOTIFY_OUTCOME_REFUNDED, O.NOTIFY_OUTCOME_DUPLICATE, O.NOTIFY_OUTCOME_RETRY_LATER].includes(r.outcome),
          r.message,
        );
      assert.equal(await refundedFee(core, t), 25);
      assert.deepEqual(
        (await orderTrail(core.db, t)).events.map((e) => e['type']),
        ['ORDER_PAID', 'REFUND_SUCCEEDED'],
      );
    });

    test('two cores with no shared lock race five refunds of 30 on an order of 100: exactly three count', async () => {
      // Only the conditional updates and the unique refund key stand between them.
      const other = await startTestCore({ databaseUrl: backend.databaseUrl });
      const lone = await startTestCore({ databaseUrl: backend.databaseUrl });
      try {
        const t = await paidOrder(core, 'W');
        const replies = await Promise.all(
          Array.from({ length: 10 }, (_, i) => {
            const target = i % 2 === 0 ? other : lone;
            return settle(() =>
              target.refundNotify(refund({ outTradeNo: t, outRefundNo: `${t}r${i % 5}`, refundFee: 30 })),
            );
          }),
        );
        const refunded = replies.filter((r) => r.outcome === O.NOTIFY_OUTCOME_REFUNDED).length;
        assert.equal(refunded, 3, JSON.stringify(replies.map((r) => [r.outcome, r.code])));
        assert.equal(await refundedFee(core, t), 90);
        const trail = await orderTrail(core.db, t);
        assert.equal(trail.events.filter((e) => e['type'] === 'REFUND_SUCCEEDED').length, 3);
        assert.deepEqual(new Set(trail.anomalies.map((a) => a['kind'])), new Set(['OVER_REFUND']));
      } finally {
        await other.stop();
        await lone.stop();
      }
    });

    if (kind === SQLITE_IN_PROCESS) {
      test('WatchPaymentEvents carries the refund: REFUND_SUCCEEDED with out_refund_no, refund_fee and status', async () => {
        const t = await paidOrder(core, 'E');
        await core.refundNotify(refund({ outTradeNo: t, outRefundNo: `${t}e`, refundFee: 15 }));
        const events: PaymentEvent[] = [];
        const stream = core.client.watchPaymentEvents({ afterCursor: '', mchIds: [DEMO.mchId], fromNow: false });
        await new Promise<void>((resolve, reject) => {
          stream.on('data', (e: PaymentEvent) => {
            events.push(e);
            if (e.type === PaymentEventType.PAYMENT_EVENT_TYPE_REFUND_SUCCEEDED && e.outTradeNo === t) {
              stream.cancel();
              resolve();
            }
          });
          stream.on('error', (e: Error & { code?: number }) => (e.code === 1 ? resolve() : reject(e)));
        });
        const event = events.find(
          (e) => e.outTradeNo === t && e.type === PaymentEventType.PAYMENT_EVENT_TYPE_REFUND_SUCCEEDED,
        );
        assert.deepEqual(
          [event?.outRefundNo, event?.refundFee, event?.refundStatus, event?.transactionId],
          [`${t}e`, 15, 'SUCCESS', paidFields(t)['transaction_id']],
        );
      });

      test('ListNotifications tells payments from refunds: kind and out_refund_no', async () => {
        const t = await paidOrder(core, 'L');
        await core.refundNotify(refund({ outTradeNo: t, outRefundNo: `${t}l`, refundFee: 5 }));
        const page = await new Promise<ListNotificationsResponse>((resolve, reject) =>
          core.client.listNotifications(
            { mchId: DEMO.mchId, outTradeNo: t, pageSize: 10, pageToken: '' },
            (err, res) => (err || !res ? reject(err ?? new Error('no response')) : resolve(res)),
          ),
        );
        assert.deepEqual(
          page.notifications.map((n) => [n.kind, n.outRefundNo, n.outcome, n.resultCode]),
          [
            ['REFUND_V2', `${t}l`, O.NOTIFY_OUTCOME_REFUNDED, 'SUCCESS'],
            ['PAYMENT_V2', '', O.NOTIFY_OUTCOME_PAID, 'SUCCESS'],
          ],
        );
      });
    }
  });
}
