import { OUT_TRADE_NO } from '../notify/payment-notice';
import { refundStateOfV2, type RefundChange, type RefundState } from '../notify/refund-decide';
import { CANONICAL_INTEGER, isRefundStatus, WECHAT_ID } from '../notify/v2-refund/refund-notice';
import type { RefundQueryTarget } from './refundquery-request';
import { authenticateQueryReply, type ExpectedReply } from './reply-authenticity';

/** A refund's state as refundquery reports it: a notification's states, and PROCESSING (not final yet). */
type QueriedRefundState = RefundState | 'PROCESSING';

/**
 * What an authentic refundquery reply says about ONE out_refund_no:
 * - CONFIRMED: WeChat reports this refund, with these facts and this state (which may be
 *   PROCESSING, ABNORMAL or CLOSED: confirmsRefund decides whether it confirms a notification).
 * - NOT_CONFIRMED: WeChat, in a signed reply, has no such refund (REFUNDNOTEXIST) or files it
 *   under another order than the one expected.
 * - NO_ANSWER: nothing usable: the call failed, WeChat reported an error, or the reply is not
 *   provably WeChat's answer to this question (unsigned, forged, about another refund, malformed).
 * Messages are for the log: they may hold WeChat's error text but never a signature or key.
 */
export type RefundQueryVerdict =
  | {
      readonly kind: 'CONFIRMED';
      /** The refunded order's merchant, as queried (the sub-merchant for a service provider). */
      readonly mchId: string;
      readonly outRefundNo: string;
      readonly refundId: string;
      readonly refundFee: number;
      readonly transactionId: string;
      readonly outTradeNo: string;
      readonly totalFee: number;
      readonly state: QueriedRefundState;
      /** As WeChat spelled it: SUCCESS, CHANGE, REFUNDCLOSE or PROCESSING. */
      readonly reportedStatus: string;
      readonly message: string;
    }
  | { readonly kind: 'NOT_CONFIRMED'; readonly label: 'REFUNDNOTEXIST' | 'OTHER_ORDER'; readonly message: string }
  | {
      readonly kind: 'NO_ANSWER';
      readonly label: 'RETURN_FAIL' | 'RESULT_FAIL' | 'MALFORMED' | 'REJECTED' | 'TRANSPORT_ERROR';
      /** For REJECTED: the authenticity code (INVALID_SIGNATURE, UNKNOWN_MERCHANT, OUT_REFUND_NO_MISMATCH...). */
      readonly code?: string;
      readonly message: string;
    };

/** A reply lists at most a page of refunds; anything far beyond is not WeChat. */
const MAX_REFUND_COUNT = 100;

/**
 * Reads a parsed refundquery reply about `expected.target`. Authenticity first, by the rules an
 * orderquery reply follows (authenticateQueryReply): no field of an unsigned or badly signed
 * reply is believed; an unsigned return_code FAIL is read as "no answer". Then the refund is
 * looked up among refund_count entries by out_refund_no_$n, and its refund_id_$n, refund_fee_$n
 * and refund_status_$n are read with the order's transaction_id, out_trade_no and total_fee, every
 * amount a canonical integer. Pure.
 *
 * interpretRefundQueryReply({ return_code: 'SUCCESS', result_code: 'SUCCESS', refund_count: '1',
 *   out_refund_no_0: 'r1', refund_status_0: 'SUCCESS', refund_fee_0: '6', ..., sign: '...' }, expected)
 *   => { kind: 'CONFIRMED', outRefundNo: 'r1', state: 'SUCCESS', refundFee: 6, ... }
 */
export function interpretRefundQueryReply(
  fields: Readonly<Record<string, string>>,
  expected: ExpectedReply<RefundQueryTarget>,
): RefundQueryVerdict {
  if (fields['return_code'] !== 'SUCCESS') {
    return noAnswer(
      'RETURN_FAIL',
      `return_code ${fields['return_code'] ?? '(none)'}: ${(fields['return_msg'] ?? '').slice(0, 128)}`,
    );
  }
  const auth = authenticateQueryReply(fields, expected);
  if (!auth.ok) {
    if (auth.result.outcome === 'MALFORMED') return noAnswer('MALFORMED', auth.result.message);
    return { kind: 'NO_ANSWER', label: 'REJECTED', code: auth.result.code, message: auth.result.message };
  }
  const { target } = expected;
  switch (fields['result_code']) {
    case 'SUCCESS':
      break;
    case 'FAIL':
      if (fields['err_code'] === 'REFUNDNOTEXIST') {
        return {
          kind: 'NOT_CONFIRMED',
          label: 'REFUNDNOTEXIST',
          message: `WeChat has no refund ${target.outRefundNo}`,
        };
      }
      return noAnswer(
        'RESULT_FAIL',
        `result_code FAIL: ${fields['err_code'] ?? ''} ${(fields['err_code_des'] ?? '').slice(0, 128)}`.trim(),
      );
    default:
      return noAnswer('MALFORMED', 'result_code must be SUCCESS or FAIL');
  }

  const count = fields['refund_count'] ?? '';
  if (!CANONICAL_INTEGER.test(count) || Number(count) < 1 || Number(count) > MAX_REFUND_COUNT) {
    return noAnswer('MALFORMED', `refund_count must be an integer from 1 to ${MAX_REFUND_COUNT}`);
  }
  const matches: number[] = [];
  for (let n = 0; n < Number(count); n += 1) if (fields[`out_refund_no_${n}`] === target.outRefundNo) matches.push(n);
  const n = matches[0];
  if (n === undefined) {
    // WeChat was asked by out_refund_no: a signed reply about other refunds answers another question.
    return {
      kind: 'NO_ANSWER',
      label: 'REJECTED',
      code: 'OUT_REFUND_NO_MISMATCH',
      message: `the reply does not list refund ${target.outRefundNo}`,
    };
  }
  if (matches.length > 1) return noAnswer('MALFORMED', `the reply lists refund ${target.outRefundNo} more than once`);

  const refundId = fields[`refund_id_${n}`] ?? '';
  const refundFee = fields[`refund_fee_${n}`] ?? '';
  const status = fields[`refund_status_${n}`] ?? '';
  const transactionId = fields['transaction_id'] ?? '';
  const outTradeNo = fields['out_trade_no'] ?? '';
  const totalFee = fields['total_fee'] ?? '';
  if (!WECHAT_ID.test(refundId)) return noAnswer('MALFORMED', `refund_id_${n} must be 1 to 32 letters, digits, _ or -`);
  if (!CANONICAL_INTEGER.test(refundFee))
    return noAnswer('MALFORMED', `refund_fee_${n} must be a canonical integer in fen`);
  if (!WECHAT_ID.test(transactionId))
    return noAnswer('MALFORMED', 'transaction_id must be 1 to 32 letters, digits, _ or -');
  if (!OUT_TRADE_NO.test(outTradeNo))
    return noAnswer('MALFORMED', 'out_trade_no must be 1 to 32 of letters, digits and _-|*@');
  if (!CANONICAL_INTEGER.test(totalFee)) return noAnswer('MALFORMED', 'total_fee must be a canonical integer in fen');
  let state: QueriedRefundState;
  if (status === 'PROCESSING') state = 'PROCESSING';
  else if (isRefundStatus(status)) state = refundStateOfV2(status);
  else return noAnswer('MALFORMED', `refund_status_${n} must be SUCCESS, CHANGE, REFUNDCLOSE or PROCESSING`);

  if (target.outTradeNo !== undefined && outTradeNo !== target.outTradeNo) {
    return {
      kind: 'NOT_CONFIRMED',
      label: 'OTHER_ORDER',
      message: `WeChat files refund ${target.outRefundNo} under order ${outTradeNo}, not ${target.outTradeNo}`,
    };
  }
  return {
    kind: 'CONFIRMED',
    mchId: target.mchId,
    outRefundNo: target.outRefundNo,
    refundId,
    refundFee: Number(refundFee),
    transactionId,
    outTradeNo,
    totalFee: Number(totalFee),
    state,
    reportedStatus: status,
    message: `WeChat reports refund ${target.outRefundNo} as ${status}`,
  };
}

/**
 * Whether a refundquery verdict confirms a refund notification, and if not, what to do:
 * - ok: WeChat reports exactly this refund as SUCCESS: the same merchant, out_refund_no,
 *   refund_id, transaction_id, out_trade_no, total_fee and refund_fee. Credit it.
 * - NOT_CONFIRMED: WeChat's signed answer contradicts the notification (no such refund, other
 *   facts, not SUCCESS, or the change is not a SUCCESS at all). Do not credit it.
 * - UNAVAILABLE: no usable answer now (call failed, forged or malformed reply, WeChat error, or
 *   the refund still PROCESSING). Do not credit it; answer FAIL so that WeChat delivers it again.
 * `message` is fixed per kind and safe for return_msg; `detail` is for the log and names fields
 * and states only, never a value from the notification.
 *
 * confirmRefund({ kind: 'CONFIRMED', state: 'SUCCESS', refundFee: 6, ... }, { state: 'SUCCESS', refundFee: 6, ... }) => { ok: true }
 * confirmRefund({ kind: 'CONFIRMED', state: 'SUCCESS', refundFee: 5, ... }, { state: 'SUCCESS', refundFee: 6, ... })
 *   => { ok: false, failure: { kind: 'NOT_CONFIRMED', message: 'WeChat did not confirm this refund', detail: '... refund_fee' } }
 */
export function confirmRefund(verdict: RefundQueryVerdict, change: RefundChange): RefundConfirmation {
  if (change.state !== 'SUCCESS')
    return notConfirmed(`only a SUCCESS is confirmed; the notification reports ${change.state}`);
  switch (verdict.kind) {
    case 'NO_ANSWER':
      return unavailable(
        `refundquery gave no usable answer (${verdict.label}${verdict.code ? ` ${verdict.code}` : ''})`,
      );
    case 'NOT_CONFIRMED':
      return notConfirmed(`refundquery: ${verdict.label}`);
    case 'CONFIRMED':
      break;
  }
  const differing = (
    [
      ['mch_id', verdict.mchId === change.mchId],
      ['out_refund_no', verdict.outRefundNo === change.outRefundNo],
      ['refund_id', verdict.refundId === change.refundId],
      ['transaction_id', verdict.transactionId === change.transactionId],
      ['out_trade_no', verdict.outTradeNo === change.outTradeNo],
      ['total_fee', verdict.totalFee === change.totalFee],
      ['refund_fee', verdict.refundFee === change.refundFee],
    ] as const
  )
    .filter(([, same]) => !same)
    .map(([name]) => name);
  if (differing.length > 0) return notConfirmed(`refundquery reports a different ${differing.join(', ')}`);
  switch (verdict.state) {
    case 'SUCCESS':
      return { ok: true };
    case 'PROCESSING':
      // WeChat notifies once the refund is final; a query still behind is asked again on redelivery.
      return unavailable('refundquery still reports the refund as PROCESSING');
    case 'ABNORMAL':
    case 'CLOSED':
      return notConfirmed(`refundquery reports the refund as ${verdict.reportedStatus}, not SUCCESS`);
  }
}

/** Whether `verdict` confirms `change` as a SUCCESS with exactly its facts: confirmRefund(...).ok. */
export function confirmsRefund(verdict: RefundQueryVerdict, change: RefundChange): boolean {
  return confirmRefund(verdict, change).ok;
}

export type RefundConfirmation =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly failure: {
        readonly kind: 'NOT_CONFIRMED' | 'UNAVAILABLE';
        /** Fixed per kind: what the notification's sender may be told. */
        readonly message: string;
        /** For the log: which check failed, by field name and state. */
        readonly detail: string;
      };
    };

export const REFUND_NOT_CONFIRMED = 'WeChat did not confirm this refund';
export const REFUND_CONFIRMATION_UNAVAILABLE = 'the refund could not be confirmed with WeChat now; retry later';

function notConfirmed(detail: string): RefundConfirmation {
  return { ok: false, failure: { kind: 'NOT_CONFIRMED', message: REFUND_NOT_CONFIRMED, detail } };
}

function unavailable(detail: string): RefundConfirmation {
  return { ok: false, failure: { kind: 'UNAVAILABLE', message: REFUND_CONFIRMATION_UNAVAILABLE, detail } };
}

function noAnswer(label: 'RETURN_FAIL' | 'RESULT_FAIL' | 'MALFORMED', message: string): RefundQueryVerdict {
  return { kind: 'NO_ANSWER', label, message };
}
