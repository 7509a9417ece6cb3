import type { PaidNotice } from '../notify/payment-notice';
import type { NewPaymentEvent } from './payment-events-table';

/**
 * The ORDER_PAID event of the notification that paid an order. `notification_id` is the
 * payload's last key: the one-statement payment (pay-in-one-statement.ts) appends it in SQL, and
 * both paths must store the same text.
 */
export function orderPaidEvent(notice: PaidNotice, notificationId: number): NewPaymentEvent {
  return {
    type: 'ORDER_PAID',
    mchId: notice.mchId,
    outTradeNo: notice.outTradeNo,
    transactionId: notice.transactionId,
    payload: {
      mch_id: notice.mchId, appid: notice.appid, out_trade_no: notice.outTradeNo,
      transaction_id: notice.transactionId, total_fee: notice.totalFee, fee_type: notice.feeType,
      paid_at: notice.paidAt.toISOString(), notification_id: notificationId,
    },
    dedupeKey: `ORDER_PAID:${notice.mchId}:${notice.outTradeNo}`,
  };
}
