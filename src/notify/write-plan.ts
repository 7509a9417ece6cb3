import { decide, type Anomaly } from './decide';
import type { MoneySubject, RefundedPayment } from './money-subject';
import type { StoredOrder } from './order';
import { result, type NotifyResult } from './outcome';
import type { PaymentNotice } from './payment-notice';
import { decideRefund, type RefundChange, type RefundRecord, type RefundState } from './refund-decide';

export type PaymentEventType =
  | 'ORDER_PAID'
  | 'PAYMENT_FAILED'
  | 'ANOMALY_RAISED'
  // One per refund and state: SUCCESS, ABNORMAL (v2 CHANGE), CLOSED (v2 REFUNDCLOSE).
  | 'REFUND_SUCCEEDED'
  | 'REFUND_FAILED'
  | 'REFUND_CLOSED';

/** What the store read about a subject's order, under the order's row lock when it applies a plan. */
export interface StoredView {
  readonly order: StoredOrder | undefined;
  /** A refund subject: the refund stored under its (mch_id, out_refund_no). */
  readonly refund?: RefundRecord;
  /** A refund subject: another out_refund_no of the merchant stored with the same refund_id. */
  readonly refundIdUsedBy?: string;
  /**
   * A successful payment of an unpaid order: the other order of the merchant that its
   * transaction already pays. Absent when there is none, or when it was not looked up (a read
   * outside the transaction): the unique (mch_id, transaction_id) index then refuses the write,
   * and the store plans again on a full read.
   */
  readonly transactionPays?: string;
}

/** The one change to money a plan may make, written by a conditional update. */
export type Transition =
  /** NOTPAY -> PAID, only while the order still holds the values the plan was made on. */
  | {
      readonly kind: 'PAY';
      readonly transactionId: string;
      readonly paidAt: Date;
      readonly expected: { readonly appid: string; readonly totalFee: number; readonly feeType: string };
    }
  /**
   * A refund's new state, moved from `from` (undefined: a first notice inserts the row). With
   * `credit`, the order's refunded total rises by the refund's amount, only while it stays at or
   * below what was paid, for the payment refunded.
   */
  | {
      readonly kind: 'REFUND';
      readonly change: RefundChange;
      readonly from: RefundState | undefined;
      readonly credit: boolean;
    };

/** An outbox event; the store appends `notification_id` (the row it writes) as the payload's last key. */
export interface PlannedEvent {
  readonly type: PaymentEventType;
  readonly transactionId: string | null;
  readonly payload: Readonly<Record<string, string | number>>;
  /** Unique: an event that would repeat an earlier one is not written. */
  readonly dedupeKey: string;
}

export interface PlannedAnomaly {
  readonly anomaly: Anomaly;
  readonly transactionId: string | null;
  /** One discrepancy is one anomaly, however often it is reported. */
  readonly dedupeKey: string;
  /** Written only when the anomaly is new. */
  readonly event: PlannedEvent;
}

/**
 * Everything one notification writes, decided from the subject and the order as stored: the
 * notification row (always), at most one transition, at most one event, at most one anomaly.
 * The store applies a plan in one transaction and plans again if its conditional update loses.
 */
export interface WritePlan {
  readonly result: NotifyResult;
  readonly transition?: Transition;
  readonly event?: PlannedEvent;
  readonly anomaly?: PlannedAnomaly;
  /**
   * False when the notification only repeats what is stored (a duplicate): its row keeps a digest
   * of the body instead of the body, so replays of one captured notification cannot fill the disk.
   */
  readonly keepsBody: boolean;
}

/** A plan that writes nothing but the notification row. */
export function recordsOnly(plan: WritePlan): boolean {
  return !plan.transition && !plan.event && !plan.anomaly;
}

/** The write plan for a subject given its order as stored. Pure: the one place money is decided. */
export function planWrite(subject: MoneySubject, view: StoredView): WritePlan {
  switch (subject.kind) {
    case 'PAYMENT':
      return planPayment(subject.notice, subject.identity, view);
    case 'REFUND':
      return planRefund(subject.change, subject.identity, view);
    case 'PAYMENT_REFUNDED':
      return planRefundedPayment(subject.refunded, subject.identity, view);
  }
}

function planPayment(notice: PaymentNotice, identity: string, view: StoredView): WritePlan {
  const decision = decide(notice, view.order);
  const about = {
    mchId: notice.mchId,
    outTradeNo: notice.outTradeNo,
    transactionId: notice.resultCode === 'SUCCESS' ? notice.transactionId : null,
    identity,
  };
  switch (decision.action) {
    case 'MARK_PAID': {
      if (notice.resultCode !== 'SUCCESS') throw new Error('MARK_PAID for a failed notice');
      if (view.transactionPays !== undefined) {
        // WeChat never reports one transaction for two orders; a notification that does was
        // re-cut or replayed onto another order. The unique index says the same.
        return raise(
          about,
          {
            kind: 'TRANSACTION_REUSED',
            detail: `transaction ${notice.transactionId} already pays order ${view.transactionPays}; order ${notice.outTradeNo} was not paid`,
          },
          result(
            'CONFLICTING_PAYMENT',
            'TRANSACTION_REUSED',
            'OK: this transaction already pays another order; an anomaly was raised for review',
          ),
        );
      }
      return {
        result: decision.result,
        transition: {
          kind: 'PAY',
          transactionId: notice.transactionId,
          paidAt: notice.paidAt,
          expected: { appid: notice.appid, totalFee: notice.totalFee, feeType: notice.feeType },
        },
        event: {
          type: 'ORDER_PAID',
          transactionId: notice.transactionId,
          payload: {
            mch_id: notice.mchId,
            appid: notice.appid,
            out_trade_no: notice.outTradeNo,
            transaction_id: notice.transactionId,
            total_fee: notice.totalFee,
            fee_type: notice.feeType,
            paid_at: notice.paidAt.toISOString(),
          },
          // With the conditional update, the second line of defence: one ORDER_PAID per order, ever.
          dedupeKey: `ORDER_PAID:${notice.mchId}:${notice.outTradeNo}`,
        },
        keepsBody: true,
      };
    }
    case 'RECORD':
      return { result: decision.result, keepsBody: decision.result.outcome !== 'DUPLICATE' };
    case 'RECORD_FAILURE':
      return {
        result: decision.result,
        event: {
          type: 'PAYMENT_FAILED',
          transactionId: null,
          payload: {
            mch_id: notice.mchId,
            out_trade_no: notice.outTradeNo,
            err_code: notice.resultCode === 'FAIL' ? notice.errCode : '',
          },
          dedupeKey: `PAYMENT_FAILED:${notice.mchId}:${notice.outTradeNo}:${identity}`.slice(0, 255),
        },
        keepsBody: true,
      };
    case 'RAISE_ANOMALY':
      return raise(about, decision.anomaly, decision.result);
  }
}

const REFUND_EVENT: Readonly<Record<RefundState, PaymentEventType>> = {
  SUCCESS: 'REFUND_SUCCEEDED',
  ABNORMAL: 'REFUND_FAILED',
  CLOSED: 'REFUND_CLOSED',
};

function planRefund(change: RefundChange, identity: string, view: StoredView): WritePlan {
  const decision = decideRefund(change, view.order, view.refund, view.refundIdUsedBy);
  switch (decision.action) {
    case 'APPLY_SUCCESS':
    case 'RECORD_STATE': {
      const type = REFUND_EVENT[change.state];
      return {
        result: decision.result,
        transition: { kind: 'REFUND', change, from: view.refund?.state, credit: decision.action === 'APPLY_SUCCESS' },
        event: {
          type,
          transactionId: change.transactionId,
          payload: {
            mch_id: change.mchId,
            out_trade_no: change.outTradeNo,
            transaction_id: change.transactionId,
            out_refund_no: change.outRefundNo,
            refund_id: change.refundId,
            refund_fee: change.refundFee,
            refund_status: change.reportedStatus,
            success_time: change.successTime?.toISOString() ?? '',
          },
          dedupeKey: `${type}:${change.mchId}:${change.outRefundNo}`,
        },
        keepsBody: true,
      };
    }
    case 'RECORD':
      return { result: decision.result, keepsBody: decision.result.outcome !== 'DUPLICATE' };
    case 'RAISE_ANOMALY':
      return raise(
        {
          mchId: change.mchId,
          outTradeNo: change.outTradeNo,
          transactionId: change.transactionId,
          identity,
          outRefundNo: change.outRefundNo,
        },
        decision.anomaly,
        decision.result,
      );
  }
}

function planRefundedPayment(refunded: RefundedPayment, identity: string, view: StoredView): WritePlan {
  const order = view.order;
  if (!order) {
    return {
      result: result('ORDER_NOT_FOUND', 'ORDER_NOT_FOUND', `order ${refunded.outTradeNo} is not registered`),
      keepsBody: true,
    };
  }
  // Paid here: its refunds arrive as refund notifications of their own.
  if (order.status === 'PAID') return { result: result('DUPLICATE', 'DUPLICATE', 'OK'), keepsBody: false };
  const detail =
    `WeChat reports order ${order.outTradeNo} paid${refunded.transactionId ? ` by transaction ${refunded.transactionId}` : ''} ` +
    'and refunded, but its payment was never confirmed here';
  return raise(
    { mchId: refunded.mchId, outTradeNo: refunded.outTradeNo, transactionId: refunded.transactionId, identity },
    { kind: 'REFUNDED_BEFORE_PAID', detail },
    result('ORDER_MISMATCH', 'REFUNDED_BEFORE_PAID', `${detail}; the order was not changed`),
  );
}

interface About {
  readonly mchId: string;
  readonly outTradeNo: string;
  readonly transactionId: string | null;
  readonly identity: string;
  readonly outRefundNo?: string;
}

function raise(about: About, anomaly: Anomaly, outcome: NotifyResult): WritePlan {
  const dedupeKey = [anomaly.kind, about.mchId, about.outTradeNo, about.transactionId ?? '', about.identity]
    .join(':')
    .slice(0, 255);
  return {
    result: outcome,
    anomaly: {
      anomaly,
      transactionId: about.transactionId,
      dedupeKey,
      event: {
        type: 'ANOMALY_RAISED',
        transactionId: about.transactionId,
        payload: {
          kind: anomaly.kind,
          detail: anomaly.detail,
          ...(about.outRefundNo !== undefined ? { out_refund_no: about.outRefundNo } : {}),
        },
        dedupeKey: `ANOMALY_RAISED:${dedupeKey}`.slice(0, 255),
      },
    },
    keepsBody: true,
  };
}
