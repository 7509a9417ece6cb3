import { signV2, type V2SignType } from '../../harness/v2-signature';

/** A merchant as WeChat knows it: the key it signs notifications with. */
export interface SimMerchant {
  readonly mchId: string;
  readonly appid: string;
  readonly apiKey: string;
}

/** What one payment-result notification says. Amounts are integers in fen. */
export interface PaymentSpec {
  readonly merchant: SimMerchant;
  readonly outTradeNo: string;
  readonly transactionId: string;
  readonly totalFee: number;
  readonly signType: V2SignType;
  readonly timeEnd: Date;
  readonly nonceStr: string;
  readonly resultCode?: 'SUCCESS' | 'FAIL';
  readonly feeType?: string;
  readonly openid?: string;
  readonly tradeType?: string;
  readonly bankType?: string;
  /** Free text the merchant attached to the order; any Unicode. */
  readonly attach?: string;
  /** Coupon amounts in fen, one per coupon: coupon_count, coupon_fee, coupon_*_<n>; cash_fee is the rest. */
  readonly coupons?: readonly number[];
  /** Fields WeChat may add in future versions: the receiver must sign over them and otherwise ignore them. */
  readonly extraFields?: Readonly<Record<string, string>>;
}

/** A notification ready to send: its fields (signed) and the XML body. */
export interface BuiltNotification {
  readonly fields: Readonly<Record<string, string>>;
  readonly xml: string;
}

/** The unsigned fields of a payment notification, as WeChat documents them. */
export function paymentFields(spec: PaymentSpec): Record<string, string> {
  if (!Number.isSafeInteger(spec.totalFee) || spec.totalFee < 0)
    throw new RangeError(`total_fee must be a whole number of fen, not ${spec.totalFee}`);
  const coupons = spec.coupons ?? [];
  const couponFee = coupons.reduce((sum, c) => sum + c, 0);
  if (coupons.some((c) => !Number.isSafeInteger(c) || c <= 0) || couponFee > spec.totalFee) {
    throw new RangeError(
      `coupons ${coupons.join('+')} must be positive and add up to at most total_fee ${spec.totalFee}`,
    );
  }
  const fields: Record<string, string> = {
    appid: spec.merchant.appid,
    bank_type: spec.bankType ?? 'CMC',
    cash_fee: String(spec.totalFee - couponFee),
    fee_type: spec.feeType ?? 'CNY',
    is_subscribe: 'N',
    mch_id: spec.merchant.mchId,
    nonce_str: spec.nonceStr,
    openid: spec.openid ?? 'oUpF8uMEb4qRXf22hE3X68TekukE',
    out_trade_no: spec.outTradeNo,
    result_code: spec.resultCode ?? 'SUCCESS',
    return_code: 'SUCCESS',
    time_end: beijingTimeEnd(spec.timeEnd),
    total_fee: String(spec.totalFee),
    trade_type: spec.tradeType ?? 'JSAPI',
    transaction_id: spec.transactionId,
  };
  if (spec.attach !== undefined) fields['attach'] = spec.attach;
  if (coupons.length > 0) {
    fields['coupon_count'] = String(coupons.length);
    fields['coupon_fee'] = String(couponFee);
    coupons.forEach((fee, i) => {
      fields[`coupon_type_${i}`] = 'CASH';
      fields[`coupon_id_${i}`] = `${2000000000 + i}${spec.outTradeNo.length}`;
      fields[`coupon_fee_${i}`] = String(fee);
    });
  }
  if (spec.resultCode === 'FAIL') {
    fields['err_code'] = 'NOTENOUGH';
    fields['err_code_des'] = '余额不足';
    delete fields['transaction_id'];
  }
  for (const [k, v] of Object.entries(spec.extraFields ?? {})) fields[k] = v;
  return fields;
}

/** Signed fields and the XML body, every value in CDATA as WeChat sends it. */
export function buildNotification(spec: PaymentSpec): BuiltNotification {
  const fields = signV2(paymentFields(spec), spec.merchant.apiKey, spec.signType);
  return { fields, xml: toNotifyXml(fields) };
}

export interface XmlOptions {
  /** Write integer values as plain text, as in WeChat's own example (`<total_fee>1</total_fee>`). */
  readonly plainNumbers?: boolean;
  /** Indent one field per line. */
  readonly pretty?: boolean;
}

/** `<xml><k><![CDATA[v]]></k>...</xml>` in the fields' order. */
export function toNotifyXml(fields: Readonly<Record<string, string>>, options: XmlOptions = {}): string {
  const sep = options.pretty ? '\n  ' : '';
  const body = Object.entries(fields).map(([k, v]) => {
    const value = options.plainNumbers && /^\d+$/.test(v) ? v : cdata(v);
    return `<${k}>${value}</${k}>`;
  });
  return `<xml>${sep}${body.join(sep)}${options.pretty ? '\n' : ''}</xml>`;
}

/** A CDATA section holding exactly `value`; a "]]>" inside it is split over two sections. */
export function cdata(value: string): string {
  return `<![CDATA[${value.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
}

/** WeChat's time_end: yyyyMMddHHmmss in China Standard Time (UTC+8). */
export function beijingTimeEnd(d: Date): string {
  return new Date(d.getTime() + 8 * 3600_000).toISOString().replace(/[-T:]/g, '').slice(0, 14);
}
