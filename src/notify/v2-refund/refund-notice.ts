import { OUT_TRADE_NO } from '../payment-notice';
import { refundError, type RefundError } from './refund-error';
import { parseRefundSuccessTime } from './success-time';

/**
 * refund_status: SUCCESS (refunded), CHANGE (refund failed, e.g. the user's card was cancelled;
 * the merchant must refund another way) or REFUNDCLOSE (closed).
 */
export type RefundStatus = 'SUCCESS' | 'CHANGE' | 'REFUNDCLOSE';

const REFUND_STATUSES: readonly RefundStatus[] = Object.freeze(['SUCCESS', 'CHANGE', 'REFUNDCLOSE']);

/** The decrypted content of a v2 refund notification; amounts are integers in fen. */
export interface RefundNotice {
  readonly outTradeNo: string;
  readonly outRefundNo: string;
  readonly refundId: string;
  readonly transactionId: string;
  readonly totalFee: number;
  readonly settlementTotalFee?: number;
  readonly refundFee: number;
  /** refund_fee less refunded coupons: what the payer actually gets back. */
  readonly settlementRefundFee?: number;
  readonly refundStatus: RefundStatus;
  /** When the money reached the payer; WeChat documents it as optional. */
  readonly successTime?: Date;
  /** Where the money went, e.g. '支付用户零钱' (WeChat's own spelling: "accout"). */
  readonly refundRecvAccout: string;
  /** REFUND_SOURCE_RECHARGE_FUNDS or REFUND_SOURCE_UNSETTLED_FUNDS. */
  readonly refundAccount: string;
  /** API or VENDOR_PLATFORM. */
  readonly refundRequestSource: string;
}

export type RefundNoticeParse =
  { readonly ok: true; readonly notice: RefundNotice } | { readonly ok: false; readonly error: RefundError };

const REQUIRED = [
  'out_trade_no',
  'out_refund_no',
  'refund_id',
  'transaction_id',
  'total_fee',
  'refund_fee',
  'refund_status',
  'refund_recv_accout',
  'refund_account',
  'refund_request_source',
] as const;
const OPTIONAL_AMOUNTS = ['settlement_total_fee', 'settlement_refund_fee'] as const;
/** An amount in fen as WeChat writes it: no sign, no leading zeros, no decimals. */
export const CANONICAL_INTEGER = /^(0|[1-9][0-9]{0,14})$/;
/** WeChat's rule for out_refund_no: at most 64 of digits, letters and _-|*@. */
const OUT_REFUND_NO = /^[A-Za-z0-9_\-|*@]{1,64}$/;
/** transaction_id, refund_id: WeChat's own identifiers. */
export const WECHAT_ID = /^[A-Za-z0-9_-]{1,32}$/;
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * Reads the fields of a decrypted req_info (the caller parsed its `<root>` XML into fields).
 * Amounts stay strings until proven canonical: "01", "-1", "1.0" or " 1" are refused.
 *
 * parseRefundNotice({ out_trade_no: '4893e76d8c8b434cb64e9cd536338e33', refund_fee: '6', ... })
 *   => { ok: true, notice: { outTradeNo: '4893e76d8c8b434cb64e9cd536338e33', refundFee: 6,
 *        refundStatus: 'SUCCESS', successTime: 2017-11-25T07:36:17.000Z, ... } }
 */
export function parseRefundNotice(fields: Readonly<Record<string, string>>): RefundNoticeParse {
  // Empty values count as absent, as everywhere in v2.
  const missing = REQUIRED.filter((k) => !fields[k]);
  if (missing.length > 0) {
    return fail(
      'MISSING_FIELD',
      `missing required field${missing.length > 1 ? 's' : ''} in req_info: ${missing.join(', ')}`,
    );
  }
  const get = (k: string): string => fields[k] ?? '';

  if (!OUT_TRADE_NO.test(get('out_trade_no')))
    return invalid('out_trade_no must be 1 to 32 of letters, digits and _-|*@');
  if (!OUT_REFUND_NO.test(get('out_refund_no')))
    return invalid('out_refund_no must be 1 to 64 of letters, digits and _-|*@');
  if (!WECHAT_ID.test(get('refund_id'))) return invalid('refund_id must be 1 to 32 letters, digits, _ or -');
  if (!WECHAT_ID.test(get('transaction_id'))) return invalid('transaction_id must be 1 to 32 letters, digits, _ or -');

  for (const name of ['total_fee', 'refund_fee', ...OPTIONAL_AMOUNTS.filter((k) => fields[k])]) {
    if (!CANONICAL_INTEGER.test(get(name))) {
      return invalid(`${name} must be a non-negative integer in fen without sign, leading zeros or decimals`);
    }
  }
  const totalFee = Number(get('total_fee'));
  const refundFee = Number(get('refund_fee'));
  // WeChat never refunds more than was paid; a notice that says so is not one to act on.
  // No values in messages: they are decrypted content, and go back to an unauthenticated sender.
  if (refundFee > totalFee) return invalid('refund_fee must not exceed total_fee');

  const refundStatus = get('refund_status');
  if (!isRefundStatus(refundStatus)) return invalid('refund_status must be SUCCESS, CHANGE or REFUNDCLOSE');

  let successTime: Date | undefined;
  if (fields['success_time']) {
    successTime = parseRefundSuccessTime(get('success_time'));
    if (!successTime) return invalid('success_time must be yyyy-MM-dd HH:mm:ss (China Standard Time)');
  }
  if (!CODE.test(get('refund_account')))
    return invalid('refund_account must be a code such as REFUND_SOURCE_RECHARGE_FUNDS');
  if (!CODE.test(get('refund_request_source'))) return invalid('refund_request_source must be a code such as API');

  const notice: RefundNotice = {
    outTradeNo: get('out_trade_no'),
    outRefundNo: get('out_refund_no'),
    refundId: get('refund_id'),
    transactionId: get('transaction_id'),
    totalFee,
    ...(fields['settlement_total_fee'] ? { settlementTotalFee: Number(get('settlement_total_fee')) } : {}),
    refundFee,
    ...(fields['settlement_refund_fee'] ? { settlementRefundFee: Number(get('settlement_refund_fee')) } : {}),
    refundStatus,
    ...(successTime ? { successTime } : {}),
    refundRecvAccout: get('refund_recv_accout'),
    refundAccount: get('refund_account'),
    refundRequestSource: get('refund_request_source'),
  };
  return { ok: true, notice };
}

export function isRefundStatus(value: string): value is RefundStatus {
  return (REFUND_STATUSES as readonly string[]).includes(value);
}

function invalid(message: string): RefundNoticeParse {
  return fail('INVALID_FIELD', message);
}

function fail(code: 'MISSING_FIELD' | 'INVALID_FIELD', message: string): RefundNoticeParse {
  return { ok: false, error: refundError(code, message) };
}
