import { result, type NotifyResult } from './outcome';
import { wallClockMs } from './wall-clock';

/** A v2 payment-result notification after its fields were checked; amounts are integers in fen. */
export type PaymentNotice = PaidNotice | FailedNotice;

interface NoticeBase {
  /**
   * The merchant the order belongs to: mch_id, or sub_mch_id when a service provider sent the
   * notification (authenticate checked the provider lists it).
   */
  readonly mchId: string;
  readonly appid: string;
  readonly outTradeNo: string;
}

export interface PaidNotice extends NoticeBase {
  readonly resultCode: 'SUCCESS';
  readonly transactionId: string;
  readonly totalFee: number;
  readonly feeType: string;
  /** WeChat's time_end (Beijing time) as an instant. */
  readonly paidAt: Date;
}

export interface FailedNotice extends NoticeBase {
  readonly resultCode: 'FAIL';
  readonly errCode: string;
  readonly errCodeDes: string;
}

export type NoticeParse =
  { readonly ok: true; readonly notice: PaymentNotice } | { readonly ok: false; readonly result: NotifyResult };

/** Fields that carry an amount in fen when present; each must be a canonical integer. */
const AMOUNT_FIELDS = ['total_fee', 'cash_fee', 'settlement_total_fee', 'coupon_fee', 'coupon_count'] as const;

/** WeChat's rule for out_trade_no: at most 32 of digits, letters and _-|*@. */
export const OUT_TRADE_NO = /^[A-Za-z0-9_\-|*@]{1,32}$/;
const TRANSACTION_ID = /^[A-Za-z0-9_-]{1,32}$/;
const FEE_TYPE = /^[A-Z]{3}$/;
const TIME_END = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;
const CANONICAL_INTEGER = /^(0|[1-9][0-9]{0,14})$/;

/**
 * Reads the fields the decision needs from an authenticated notification. Values stay strings
 * until they are proven canonical: "01", "-1", "1.0" or " 1" are rejected rather than guessed at.
 */
export function parsePaymentNotice(fields: Readonly<Record<string, string>>): NoticeParse {
  const returnCode = fields['return_code'];
  if (returnCode !== 'SUCCESS') {
    return malformed('RETURN_CODE_NOT_SUCCESS', 'return_code must be SUCCESS for a payment notification');
  }
  const missing = ['mch_id', 'appid', 'out_trade_no', 'result_code', 'sign'].filter((k) => !fields[k]);
  if (missing.length > 0) return missingFields(missing);

  const outTradeNo = fields['out_trade_no'] ?? '';
  if (!OUT_TRADE_NO.test(outTradeNo)) {
    return invalid('out_trade_no must be 1 to 32 of letters, digits and _-|*@');
  }
  // An empty value is an absent one, as in the signature rule; required ones are checked below.
  for (const name of AMOUNT_FIELDS.filter((k) => fields[k] !== undefined && fields[k] !== '')) {
    if (!CANONICAL_INTEGER.test(fields[name] ?? '')) {
      return invalid(`${name} must be a non-negative integer in fen without sign, leading zeros or decimals`);
    }
  }
  const base = {
    mchId: fields['sub_mch_id'] || (fields['mch_id'] ?? ''),
    appid: fields['appid'] ?? '',
    outTradeNo,
  };

  switch (fields['result_code']) {
    case 'FAIL':
      return {
        ok: true,
        notice: {
          ...base,
          resultCode: 'FAIL',
          errCode: fields['err_code'] ?? '',
          errCodeDes: fields['err_code_des'] ?? '',
        },
      };
    case 'SUCCESS':
      return parsePaid(fields, base);
    default:
      return invalid('result_code must be SUCCESS or FAIL');
  }
}

function parsePaid(
  fields: Readonly<Record<string, string>>,
  base: Omit<PaidNotice, 'resultCode' | 'transactionId' | 'totalFee' | 'feeType' | 'paidAt'>,
): NoticeParse {
  const missing = ['transaction_id', 'total_fee', 'time_end'].filter((k) => !fields[k]);
  if (missing.length > 0) return missingFields(missing);
  const transactionId = fields['transaction_id'] ?? '';
  if (!TRANSACTION_ID.test(transactionId)) return invalid('transaction_id must be 1 to 32 letters or digits');
  const feeType = fields['fee_type'] || 'CNY';
  if (!FEE_TYPE.test(feeType)) return invalid('fee_type must be a three-letter currency code such as CNY');
  const paidAt = parseTimeEnd(fields['time_end'] ?? '');
  if (!paidAt) return invalid('time_end must be yyyyMMddHHmmss');
  return {
    ok: true,
    notice: { ...base, resultCode: 'SUCCESS', transactionId, totalFee: Number(fields['total_fee']), feeType, paidAt },
  };
}

/**
 * time_end is China Standard Time (UTC+8, no daylight saving).
 *
 * parseTimeEnd('20141030133525') => 2014-10-30T05:35:25.000Z
 */
export function parseTimeEnd(value: string): Date | undefined {
  const m = TIME_END.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const local = wallClockMs(y, mo, d, h, mi, s);
  return local === undefined ? undefined : new Date(local - 8 * 3600_000);
}

function missingFields(names: readonly string[]): NoticeParse {
  return malformed('MISSING_FIELD', `missing required field${names.length > 1 ? 's' : ''}: ${names.join(', ')}`);
}

function invalid(message: string): NoticeParse {
  return malformed('INVALID_FIELD', message);
}

function malformed(code: 'MISSING_FIELD' | 'INVALID_FIELD' | 'RETURN_CODE_NOT_SUCCESS', message: string): NoticeParse {
  return { ok: false, result: result('MALFORMED', code, message) };
}
