import type { PaidNotice, PaymentNotice } from './payment-notice';
import type { RefundChange } from './refund-decide';

/**
 * What a notification, or an answer we asked WeChat for, says about money, whatever API it came
 * through: the one shape the write plan (write-plan.ts) and the store's apply take. Each API has
 * a small adapter that produces it (v2 and v3 payments, v2 and v3 refunds, an orderquery reply).
 *
 * `identity` tells one fact apart from another across WeChat's redeliveries: two deliveries of
 * the same payment (v2 or v3, re-signed, padded, from another server) have the same identity,
 * and anything that would change the money has another. It is built from the money facts alone,
 * never from a received signature, so a replay cannot mint a new identity by re-signing or
 * re-casing, and v2 and v3 deliveries of one payment are one fact.
 */
export type MoneySubject =
  | { readonly kind: 'PAYMENT'; readonly notice: PaymentNotice; readonly identity: string }
  | { readonly kind: 'REFUND'; readonly change: RefundChange; readonly identity: string }
  /**
   * WeChat's orderquery answered trade_state REFUND for an order we never saw paid: the payment
   * notification was lost and the payment already refunded. Nothing moves; a person reviews.
   */
  | { readonly kind: 'PAYMENT_REFUNDED'; readonly refunded: RefundedPayment; readonly identity: string };

export interface RefundedPayment {
  readonly mchId: string;
  readonly appid: string;
  readonly outTradeNo: string;
  /** WeChat's transaction, when the reply named one. */
  readonly transactionId: string | null;
}

/**
 * paymentSubject({ resultCode: 'SUCCESS', transactionId: '4200...', totalFee: 1, feeType: 'CNY', appid: 'wx..', ... })
 *   => { kind: 'PAYMENT', identity: 'PAYMENT:SUCCESS:4200...:wx..:1:CNY', notice }
 */
export function paymentSubject(notice: PaymentNotice): MoneySubject {
  const identity =
    notice.resultCode === 'SUCCESS'
      ? ['PAYMENT', 'SUCCESS', notice.transactionId, notice.appid, notice.totalFee, notice.feeType].join(':')
      : ['PAYMENT', 'FAIL', notice.appid, notice.errCode].join(':');
  return { kind: 'PAYMENT', notice, identity };
}

export function refundSubject(change: RefundChange): MoneySubject {
  return {
    kind: 'REFUND',
    change,
    identity: [
      'REFUND',
      change.outRefundNo,
      change.state,
      change.refundFee,
      change.transactionId,
      change.totalFee,
    ].join(':'),
  };
}

export function refundedPaymentSubject(refunded: RefundedPayment): MoneySubject {
  return { kind: 'PAYMENT_REFUNDED', refunded, identity: ['PAYMENT_REFUNDED', refunded.transactionId ?? ''].join(':') };
}

/** The order a subject is about. */
export function subjectOrder(subject: MoneySubject): { readonly mchId: string; readonly outTradeNo: string } {
  switch (subject.kind) {
    case 'PAYMENT':
      return { mchId: subject.notice.mchId, outTradeNo: subject.notice.outTradeNo };
    case 'REFUND':
      return { mchId: subject.change.mchId, outTradeNo: subject.change.outTradeNo };
    case 'PAYMENT_REFUNDED':
      return { mchId: subject.refunded.mchId, outTradeNo: subject.refunded.outTradeNo };
  }
}

/** The transaction a subject names, if any. */
export function subjectTransaction(subject: MoneySubject): string | null {
  switch (subject.kind) {
    case 'PAYMENT':
      return subject.notice.resultCode === 'SUCCESS' ? subject.notice.transactionId : null;
    case 'REFUND':
      return subject.change.transactionId;
    case 'PAYMENT_REFUNDED':
      return subject.refunded.transactionId;
  }
}

/**
 * A successful payment as stored with a notification that could not be applied yet (its order was
 * not registered): enough to apply it later without the original signature, which may no longer
 * verify by then (a rotated key, an APIv3 timestamp window). Written only after the notification
 * was authenticated, so reading it back needs no second proof.
 */
export function parkedPaymentJson(notice: PaidNotice): string {
  return JSON.stringify({
    v: 1,
    mchId: notice.mchId,
    appid: notice.appid,
    outTradeNo: notice.outTradeNo,
    transactionId: notice.transactionId,
    totalFee: notice.totalFee,
    feeType: notice.feeType,
    paidAt: notice.paidAt.toISOString(),
  });
}

/** The inverse of parkedPaymentJson; undefined for anything it did not write. */
export function parkedPaymentFromJson(text: string): PaidNotice | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const str = (k: string): string | undefined => (typeof v[k] === 'string' ? v[k] : undefined);
  const mchId = str('mchId');
  const appid = str('appid');
  const outTradeNo = str('outTradeNo');
  const transactionId = str('transactionId');
  const feeType = str('feeType');
  const paidAt = new Date(str('paidAt') ?? '');
  const totalFee = v['totalFee'];
  if (
    v['v'] !== 1 ||
    !mchId ||
    !appid ||
    !outTradeNo ||
    !transactionId ||
    !feeType ||
    Number.isNaN(paidAt.getTime()) ||
    typeof totalFee !== 'number' ||
    !Number.isSafeInteger(totalFee) ||
    totalFee < 0
  ) {
    return undefined;
  }
  return { resultCode: 'SUCCESS', mchId, appid, outTradeNo, transactionId, totalFee, feeType, paidAt };
}
