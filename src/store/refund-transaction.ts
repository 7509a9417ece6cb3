import type { Knex } from 'knex';
import type { NotifyResult } from '../notify/outcome';
import { decideRefund, type RefundChange, type RefundDecision, type RefundRecord, type RefundState } from '../notify/refund-decide';
import { raiseAnomalyAbout } from './anomalies-table';
import { insertNotificationOf, type ReceivedNotification } from './notifications-table';
import { addRefund, findOrder } from './orders-table';
import { appendEvent, type PaymentEventType } from './payment-events-table';
import { findRefund, saveRefundState } from './refunds-table';
import { StoreError } from './store-error';

const EVENT_OF: Readonly<Record<RefundState, PaymentEventType>> = {
  SUCCESS: 'REFUND_SUCCEEDED',
  ABNORMAL: 'REFUND_FAILED',
  CLOSED: 'REFUND_CLOSED',
};

/**
 * Applies a refund notification inside the caller's transaction: the refund's state, the order's
 * refunded total, the notification, an anomaly and the outbox event commit together. Every write
 * is conditional, so a decision made on a stale read can never count a refund twice or refund
 * more than was paid:
 * - the refund row is inserted under a unique (mch_id, out_refund_no), or moved from the state it
 *   was read in;
 * - the order's refunded_fee rises only while it stays <= total_fee, for the payment refunded.
 */
export async function applyRefund(
  trx: Knex.Transaction,
  received: ReceivedNotification,
  change: RefundChange,
  now: Date,
  rowLocks: boolean,
): Promise<NotifyResult> {
  const read = async (): Promise<{ decision: RefundDecision; existing: RefundRecord | undefined }> => {
    // The order row lock (PostgreSQL, MySQL) serialises every refund of one order; the refund is
    // read after it, so it sees the other's commit.
    const order = await findOrder(trx, change.mchId, change.outTradeNo, { forUpdate: rowLocks });
    const existing = await findRefund(trx, change.mchId, change.outRefundNo);
    return { decision: decideRefund(change, order, existing), existing };
  };
  let { decision, existing } = await read();
  if (decision.action === 'APPLY_SUCCESS') {
    const added = await addRefund(trx, change, change, now);
    if (!added) {
      // The order moved since the read (a lock that expired, another replica): decide again on
      // the row as it is now, before anything else is written.
      ({ decision, existing } = await read());
      if (decision.action === 'APPLY_SUCCESS') throw new Error(`order ${change.outTradeNo} refused refund ${change.outRefundNo} but allows it`);
    }
  }
  const notificationId = await insertNotificationOf(trx, received, {
    kind: 'REFUND',
    mchId: change.mchId,
    appid: change.appid ?? '',
    outTradeNo: change.outTradeNo,
    transactionId: change.transactionId,
    resultCode: change.reportedStatus,
    outRefundNo: change.outRefundNo,
  }, decision.result);
  switch (decision.action) {
    case 'APPLY_SUCCESS':
    case 'RECORD_STATE': {
      if (!(await saveRefundState(trx, change, existing?.state, notificationId, now))) {
        // Another writer moved the refund after our read: roll back; WeChat's retry decides again.
        throw new StoreError('STORE_CONFLICT', `refund ${change.outRefundNo} changed concurrently`);
      }
      const type = EVENT_OF[change.state];
      await appendEvent(trx, {
        type,
        mchId: change.mchId,
        outTradeNo: change.outTradeNo,
        transactionId: change.transactionId,
        payload: {
          mch_id: change.mchId, out_trade_no: change.outTradeNo, transaction_id: change.transactionId,
          out_refund_no: change.outRefundNo, refund_id: change.refundId, refund_fee: change.refundFee,
          refund_status: change.reportedStatus, success_time: change.successTime?.toISOString() ?? '',
          notification_id: notificationId,
        },
        dedupeKey: `${type}:${change.mchId}:${change.outRefundNo}`,
      }, now);
      break;
    }
    case 'RAISE_ANOMALY': {
      const about = {
        mchId: change.mchId,
        outTradeNo: change.outTradeNo,
        transactionId: change.transactionId,
        identity: `${change.outRefundNo}:${change.state}:${change.refundFee}`,
      };
      if (await raiseAnomalyAbout(trx, decision.anomaly, about, notificationId, now)) {
        await appendEvent(trx, {
          type: 'ANOMALY_RAISED',
          mchId: change.mchId,
          outTradeNo: change.outTradeNo,
          transactionId: change.transactionId,
          payload: {
            kind: decision.anomaly.kind, detail: decision.anomaly.detail, out_refund_no: change.outRefundNo, notification_id: notificationId,
          },
          dedupeKey: `ANOMALY_RAISED:${decision.anomaly.kind}:${change.mchId}:${change.outTradeNo}:${about.identity}`.slice(0, 255),
        }, now);
      }
      break;
    }
    case 'RECORD':
      break;
  }
  return decision.result;
}
