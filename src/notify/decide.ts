import type { OrderRecord } from './order';
import { result, type NotifyResult } from './outcome';
import type { PaymentNotice } from './payment-notice';

/** A kind of discrepancy a person has to look at. */
export type AnomalyKind =
  | 'AMOUNT_MISMATCH'
  | 'FEE_TYPE_MISMATCH'
  | 'APPID_MISMATCH'
  | 'CONFLICTING_TRANSACTION'
  // One WeChat transaction reported as paying a second order of the merchant (write-plan.ts).
  | 'TRANSACTION_REUSED'
  // orderquery: paid at WeChat and already refunded, never confirmed here.
  | 'REFUNDED_BEFORE_PAID'
  // Refunds (src/notify/refund-decide.ts).
  | 'OVER_REFUND'
  | 'REFUND_STATUS_CONFLICT'
  | 'REFUND_AMOUNT_CONFLICT'
  | 'REFUND_OTHER_TRANSACTION'
  | 'REFUND_ID_REUSED';

export interface Anomaly {
  readonly kind: AnomalyKind;
  readonly detail: string;
}

/**
 * The payment table: what an authenticated, well-formed payment means for the order as stored
 * now. write-plan.ts turns it into the rows to write; the store applies them with a conditional
 * update, so a decision made on a stale read can never pay an order twice.
 */
export type Decision =
  | { readonly action: 'MARK_PAID'; readonly result: NotifyResult }
  | { readonly action: 'RECORD'; readonly result: NotifyResult }
  | { readonly action: 'RECORD_FAILURE'; readonly result: NotifyResult }
  | { readonly action: 'RAISE_ANOMALY'; readonly anomaly: Anomaly; readonly result: NotifyResult };

/** The notify table, as a function. */
export function decide(notice: PaymentNotice, order: OrderRecord | undefined): Decision {
  if (notice.resultCode === 'FAIL') {
    const recorded = `payment failure recorded${notice.errCode ? ` (${notice.errCode})` : ''}`;
    // A failed attempt says nothing about an order that is paid, unknown or someone else's:
    // store the notification, but tell no consumer "payment failed" (one might cancel the order).
    if (!order || order.status === 'PAID' || order.appid !== notice.appid) {
      return {
        action: 'RECORD',
        result: result(
          'PAYMENT_FAILED',
          'PAYMENT_FAILED',
          `${recorded}; no event: the order is ${!order ? 'not registered' : order.status === 'PAID' ? 'already paid' : 'of another appid'}`,
        ),
      };
    }
    return { action: 'RECORD_FAILURE', result: result('PAYMENT_FAILED', 'PAYMENT_FAILED', recorded) };
  }
  if (!order) {
    return {
      action: 'RECORD',
      result: result('ORDER_NOT_FOUND', 'ORDER_NOT_FOUND', `order ${notice.outTradeNo} is not registered; retry later`),
    };
  }
  const mismatch = findMismatch(notice, order);
  if (mismatch) {
    return {
      action: 'RAISE_ANOMALY',
      anomaly: mismatch,
      result: result('ORDER_MISMATCH', mismatch.kind, `${mismatch.detail}; the order was not changed`),
    };
  }
  if (order.status === 'PAID') {
    if (order.transactionId === notice.transactionId) {
      return { action: 'RECORD', result: result('DUPLICATE', 'DUPLICATE', 'OK') };
    }
    return {
      action: 'RAISE_ANOMALY',
      anomaly: {
        kind: 'CONFLICTING_TRANSACTION',
        detail:
          `order ${order.outTradeNo} is already paid by transaction ${order.transactionId ?? '?'}, ` +
          `not ${notice.transactionId}`,
      },
      result: result(
        'CONFLICTING_PAYMENT',
        'CONFLICTING_TRANSACTION',
        'OK: the order was already paid by another transaction; an anomaly was raised for review',
      ),
    };
  }
  return { action: 'MARK_PAID', result: result('PAID', 'OK', 'OK') };
}

function findMismatch(notice: PaymentNotice & { resultCode: 'SUCCESS' }, order: OrderRecord): Anomaly | undefined {
  if (notice.appid !== order.appid) {
    return { kind: 'APPID_MISMATCH', detail: `appid ${notice.appid} differs from the order's ${order.appid}` };
  }
  if (notice.totalFee !== order.totalFee) {
    return {
      kind: 'AMOUNT_MISMATCH',
      detail: `total_fee ${notice.totalFee} differs from the order's ${order.totalFee}`,
    };
  }
  if (notice.feeType !== order.feeType) {
    return {
      kind: 'FEE_TYPE_MISMATCH',
      detail: `fee_type ${notice.feeType} differs from the order's ${order.feeType}`,
    };
  }
  return undefined;
}
