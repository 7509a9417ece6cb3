import { parsePaymentNotice, type PaidNotice } from '../notify/payment-notice';
import type { OrderQueryTarget } from './orderquery-request';
import { authenticateQueryReply, type ExpectedReply } from './reply-authenticity';

/**
 * What reconciliation does with an answer:
 * - PAID: WeChat confirms the payment; apply it like a notification.
 * - NOT_PAID_YET: ask again later (NOTPAY, USERPAYING, ACCEPT, ORDERNOTEXIST).
 * - REFUNDED: paid at WeChat and already refunded (REFUND): applied as an anomaly for a person.
 * - FINAL: WeChat will not report a payment for this order: stop asking (CLOSED, REVOKED, PAYERROR).
 * - NO_ANSWER: nothing usable (a failed call, malformed reply); ask again later.
 * - REJECTED: not authentic, or about another order; ignored, logged, asked again later.
 */
export type QueryVerdict =
  | { readonly kind: 'PAID'; readonly label: 'SUCCESS'; readonly notice: PaidNotice; readonly message: string }
  | {
      readonly kind: 'NOT_PAID_YET';
      readonly label: 'NOTPAY' | 'USERPAYING' | 'ACCEPT' | 'ORDERNOTEXIST';
      readonly message: string;
    }
  | { readonly kind: 'REFUNDED'; readonly label: 'REFUND'; readonly message: string }
  | { readonly kind: 'FINAL'; readonly label: 'CLOSED' | 'REVOKED' | 'PAYERROR'; readonly message: string }
  | {
      readonly kind: 'NO_ANSWER';
      readonly label: 'RETURN_FAIL' | 'RESULT_FAIL' | 'MALFORMED' | 'TRANSPORT_ERROR';
      readonly message: string;
    }
  | { readonly kind: 'REJECTED'; readonly label: 'REJECTED'; readonly code: string; readonly message: string };

/**
 * Reads a parsed orderquery reply. Authenticity first: no field of an unsigned or badly signed
 * reply is believed, except that an unsigned return_code FAIL is read as "no answer" (WeChat
 * does not sign those, and believing it can only delay the next attempt). Pure.
 *
 * A reply is a payment only when return_code, result_code and trade_state are all SUCCESS, as
 * WeChat documents; it then becomes the same PaidNotice a notification would.
 */
export function interpretOrderQueryReply(
  fields: Readonly<Record<string, string>>,
  expected: ExpectedReply,
): QueryVerdict {
  if (fields['return_code'] !== 'SUCCESS') {
    return {
      kind: 'NO_ANSWER',
      label: 'RETURN_FAIL',
      message: `return_code ${fields['return_code'] ?? '(none)'}: ${(fields['return_msg'] ?? '').slice(0, 128)}`,
    };
  }
  const auth = authenticateQueryReply(fields, expected);
  if (!auth.ok) {
    if (auth.result.outcome === 'MALFORMED')
      return { kind: 'NO_ANSWER', label: 'MALFORMED', message: auth.result.message };
    return { kind: 'REJECTED', label: 'REJECTED', code: auth.result.code, message: auth.result.message };
  }
  const outTradeNo = fields['out_trade_no'];
  if (outTradeNo !== undefined && outTradeNo !== '' && outTradeNo !== expected.target.outTradeNo) {
    return {
      kind: 'REJECTED',
      label: 'REJECTED',
      code: 'OUT_TRADE_NO_MISMATCH',
      message: `the reply is about order ${outTradeNo}, not ${expected.target.outTradeNo}`,
    };
  }
  switch (fields['result_code']) {
    case 'SUCCESS':
      break;
    case 'FAIL':
      if (fields['err_code'] === 'ORDERNOTEXIST')
        return { kind: 'NOT_PAID_YET', label: 'ORDERNOTEXIST', message: 'WeChat has no such order' };
      return {
        kind: 'NO_ANSWER',
        label: 'RESULT_FAIL',
        message: `result_code FAIL: ${fields['err_code'] ?? ''} ${(fields['err_code_des'] ?? '').slice(0, 128)}`.trim(),
      };
    default:
      return { kind: 'NO_ANSWER', label: 'MALFORMED', message: 'result_code must be SUCCESS or FAIL' };
  }
  const state = fields['trade_state'] ?? '';
  switch (state) {
    case 'SUCCESS':
      return paid(fields, expected.target);
    case 'NOTPAY':
    case 'USERPAYING':
    case 'ACCEPT':
      return { kind: 'NOT_PAID_YET', label: state, message: `trade_state ${state}` };
    case 'REFUND':
      return {
        kind: 'REFUNDED',
        label: state,
        message: 'trade_state REFUND: paid at WeChat and refunded, never confirmed here',
      };
    case 'CLOSED':
    case 'REVOKED':
    case 'PAYERROR':
      return {
        kind: 'FINAL',
        label: state,
        message: `trade_state ${state}${fields['trade_state_desc'] ? ` (${fields['trade_state_desc'].slice(0, 64)})` : ''}`,
      };
    default:
      return {
        kind: 'NO_ANSWER',
        label: 'MALFORMED',
        message: `unknown trade_state ${state.slice(0, 32) || '(none)'}`,
      };
  }
}

function paid(fields: Readonly<Record<string, string>>, target: OrderQueryTarget): QueryVerdict {
  if (!fields['out_trade_no'])
    return { kind: 'NO_ANSWER', label: 'MALFORMED', message: 'a SUCCESS reply without out_trade_no' };
  const parsed = parsePaymentNotice(fields);
  if (!parsed.ok) return { kind: 'NO_ANSWER', label: 'MALFORMED', message: parsed.result.message };
  const notice = parsed.notice;
  if (notice.resultCode !== 'SUCCESS')
    return { kind: 'NO_ANSWER', label: 'MALFORMED', message: 'trade_state SUCCESS without result_code SUCCESS' };
  return {
    kind: 'PAID',
    label: 'SUCCESS',
    notice,
    message: `paid by transaction ${notice.transactionId} for order ${target.outTradeNo}`,
  };
}
