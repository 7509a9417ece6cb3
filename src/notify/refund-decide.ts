import type { Anomaly } from './decide';
import type { StoredOrder } from './order';
import { result, type NotifyResult } from './outcome';

/**
 * A refund's state, in APIv3's words. v2 says CHANGE for ABNORMAL (the money could not reach the
 * payer, e.g. a cancelled card; the merchant must refund another way, after which WeChat may still
 * report SUCCESS) and REFUNDCLOSE for CLOSED. SUCCESS and CLOSED are final.
 */
export type RefundState = 'SUCCESS' | 'ABNORMAL' | 'CLOSED';

/** A refund notification from either API after its fields were checked; amounts in fen. */
export interface RefundChange {
  /** The merchant the order belongs to (sub_mch_id for a service provider's notification). */
  readonly mchId: string;
  /** v2 only: the envelope's appid; APIv3 refund resources carry none. */
  readonly appid: string | undefined;
  readonly outTradeNo: string;
  /** The payment refunded. */
  readonly transactionId: string;
  readonly outRefundNo: string;
  readonly refundId: string;
  /** The paid total of the payment, as WeChat states it. */
  readonly totalFee: number;
  readonly refundFee: number;
  readonly state: RefundState;
  /** As WeChat spelled it: SUCCESS, CHANGE, REFUNDCLOSE (v2) or SUCCESS, ABNORMAL, CLOSED (v3). */
  readonly reportedStatus: string;
  readonly successTime: Date | undefined;
}

/** A refund as stored (one row per mch_id and out_refund_no). */
export interface RefundRecord {
  readonly outRefundNo: string;
  readonly refundId: string;
  readonly transactionId: string;
  readonly refundFee: number;
  readonly state: RefundState;
}

/**
 * What to write for a refund notification given the order and the refund as stored now. Applied
 * in one transaction, where every write is conditional again (see src/store/refund-transaction.ts).
 */
// The same shape as decide.ts's Decision on purpose: two tables, one write plan (write-plan.ts).
export type RefundDecision =
  /** Store the refund as SUCCESS and add refundFee to the order's refunded total. */
  | { readonly action: 'APPLY_SUCCESS'; readonly result: NotifyResult }
  /** Store the refund as ABNORMAL or CLOSED; no money moves. */
  | { readonly action: 'RECORD_STATE'; readonly result: NotifyResult }
  /** Store only the notification. */
  | { readonly action: 'RECORD'; readonly result: NotifyResult }
  | { readonly action: 'RAISE_ANOMALY'; readonly anomaly: Anomaly; readonly result: NotifyResult };

const FINAL: readonly RefundState[] = ['SUCCESS', 'CLOSED'];

/** The refund table (docs/exactly-once.md "Refunds and API v3"), as a function. */
export function decideRefund(
  change: RefundChange,
  order: StoredOrder | undefined,
  existing: RefundRecord | undefined,
  /** Another out_refund_no of the merchant already stored with this refund_id, if any. */
  refundIdUsedBy?: string,
): RefundDecision {
  if (!order) {
    return {
      action: 'RECORD',
      result: result('ORDER_NOT_FOUND', 'ORDER_NOT_FOUND', `order ${change.outTradeNo} is not registered; retry later`),
    };
  }
  const refund = `refund ${change.outRefundNo}`;
  // WeChat's refund_id names one refund, and out_refund_no names it too: a notification that
  // pairs either with another is a re-cut of req_info (AES-ECB blocks dropped or repeated inside
  // one of them), never WeChat. The unique (mch_id, refund_id) index says the same.
  if (refundIdUsedBy !== undefined) {
    return conflict(
      'REFUND_ID_REUSED',
      `${refund} reports refund_id ${change.refundId}, already stored for refund ${refundIdUsedBy}; nothing was credited`,
    );
  }
  if (existing && existing.refundId !== change.refundId) {
    return conflict(
      'REFUND_ID_REUSED',
      `${refund} was recorded with refund_id ${existing.refundId}, now reported with ${change.refundId}; nothing was credited`,
    );
  }
  if (existing) {
    // The same out_refund_no must keep describing the same refund of the same payment.
    if (existing.transactionId !== change.transactionId) {
      return conflict(
        'REFUND_OTHER_TRANSACTION',
        `${refund} was recorded for transaction ${existing.transactionId}, now reported for ${change.transactionId}`,
      );
    }
    if (existing.state === change.state) {
      if (existing.state === 'SUCCESS' && existing.refundFee !== change.refundFee) {
        return conflict(
          'REFUND_AMOUNT_CONFLICT',
          `${refund} was recorded as a SUCCESS of ${existing.refundFee}, now reported with refund_fee ${change.refundFee}`,
        );
      }
      return { action: 'RECORD', result: result('DUPLICATE', 'DUPLICATE', 'OK') };
    }
    if (FINAL.includes(existing.state)) {
      return conflict(
        'REFUND_STATUS_CONFLICT',
        `${refund} is already final as ${existing.state}, now reported as ${change.reportedStatus}`,
      );
    }
    // ABNORMAL -> SUCCESS or CLOSED: the merchant refunded another way, or WeChat closed it.
  }
  if (order.status !== 'PAID') {
    return {
      action: 'RECORD',
      result: result(
        'ORDER_NOT_FOUND',
        'ORDER_NOT_PAID',
        `order ${order.outTradeNo} is not paid here yet (its payment notification may still come); retry later`,
      ),
    };
  }
  if (change.appid !== undefined && change.appid !== order.appid) {
    return mismatch('APPID_MISMATCH', `appid ${change.appid} differs from the order's ${order.appid}`);
  }
  if (change.transactionId !== order.transactionId) {
    // Typically the refund of a second payment (CONFLICTING_TRANSACTION): it must not count
    // against the payment this order records.
    return conflict(
      'REFUND_OTHER_TRANSACTION',
      `${refund} refunds transaction ${change.transactionId}, not the order's ${order.transactionId ?? '?'}`,
    );
  }
  if (change.totalFee !== order.totalFee) {
    return mismatch(
      'AMOUNT_MISMATCH',
      `the refund's total_fee ${change.totalFee} differs from the order's ${order.totalFee}`,
    );
  }
  switch (change.state) {
    case 'SUCCESS':
      if (order.refundedFee + change.refundFee > order.totalFee) {
        return {
          action: 'RAISE_ANOMALY',
          anomaly: {
            kind: 'OVER_REFUND',
            detail:
              `${refund} of ${change.refundFee} would bring the refunded total to ${order.refundedFee + change.refundFee}, ` +
              `above the paid ${order.totalFee}`,
          },
          result: result(
            'ORDER_MISMATCH',
            'OVER_REFUND',
            `${refund} of ${change.refundFee} exceeds what is left to refund (${order.totalFee - order.refundedFee}); the order was not changed`,
          ),
        };
      }
      return { action: 'APPLY_SUCCESS', result: result('REFUNDED', 'OK', 'OK') };
    case 'ABNORMAL':
      return {
        action: 'RECORD_STATE',
        result: result(
          'REFUND_RECORDED',
          'REFUND_ABNORMAL',
          `${refund} did not reach the payer (${change.reportedStatus}); refund another way`,
        ),
      };
    case 'CLOSED':
      return {
        action: 'RECORD_STATE',
        result: result('REFUND_RECORDED', 'REFUND_CLOSED', `${refund} was closed (${change.reportedStatus})`),
      };
  }
}

/** Stored for a person; no retry can change it, so it is acknowledged (like a second payment). */
function conflict(
  kind: 'REFUND_STATUS_CONFLICT' | 'REFUND_AMOUNT_CONFLICT' | 'REFUND_OTHER_TRANSACTION' | 'REFUND_ID_REUSED',
  detail: string,
): RefundDecision {
  return {
    action: 'RAISE_ANOMALY',
    anomaly: { kind, detail },
    result: result('CONFLICTING_PAYMENT', kind, `OK: ${detail}; an anomaly was raised for review`),
  };
}

function mismatch(kind: 'APPID_MISMATCH' | 'AMOUNT_MISMATCH', detail: string): RefundDecision {
  return {
    action: 'RAISE_ANOMALY',
    anomaly: { kind, detail },
    result: result('ORDER_MISMATCH', kind, `${detail}; the order was not changed`),
  };
}

/**
 * The state a v2 refund_status means.
 *
 * refundStateOfV2('REFUNDCLOSE') => 'CLOSED'
 */
export function refundStateOfV2(status: 'SUCCESS' | 'CHANGE' | 'REFUNDCLOSE'): RefundState {
  switch (status) {
    case 'SUCCESS':
      return 'SUCCESS';
    case 'CHANGE':
      return 'ABNORMAL';
    case 'REFUNDCLOSE':
      return 'CLOSED';
  }
}
