import type { Merchant } from '../notify/merchant';
import { sign, type SignType } from '../notify/sign';
import { toRequestXml } from './request-xml';

/** Which order to ask WeChat about: the order as the merchant registered it. */
export interface OrderQueryTarget {
  /** The order's merchant: the merchant itself, or a sub-merchant of a service provider. */
  readonly mchId: string;
  readonly appid: string;
  readonly outTradeNo: string;
}

/** A signed v2 orderquery request, and the algorithm its reply must be verified with. */
export interface OrderQueryRequest {
  readonly fields: Readonly<Record<string, string>>;
  readonly signType: SignType;
  readonly xml: string;
}

/**
 * The algorithm comes from configuration, never from guessing: HMAC-SHA256 when the merchant
 * allows it (WeChat's stronger option), otherwise MD5. The request says which in `sign_type`,
 * and WeChat signs its reply with the same one.
 */
export function querySignType(merchant: Merchant): SignType {
  return merchant.signTypes.includes('HMAC-SHA256') ? 'HMAC-SHA256' : 'MD5';
}

/**
 * The body of POST /pay/orderquery (WeChat Pay API v2): appid, mch_id, out_trade_no,
 * nonce_str (at most 32 characters), sign_type, and sign over all of them with the merchant's
 * current API key. For a sub-merchant's order, `merchant` is its service provider: mch_id is the
 * provider's and sub_mch_id the order's, as WeChat's service-provider mode documents.
 *
 * buildOrderQuery({ mchId: '10000100', appid: 'wxd930ea5d5a258f4f', outTradeNo: 'o1' }, demo, 'n1').fields
 *   => { appid, mch_id: '10000100', nonce_str: 'n1', out_trade_no: 'o1', sign_type: 'HMAC-SHA256', sign: '<64 hex>' }
 */
export function buildOrderQuery(target: OrderQueryTarget, merchant: Merchant, nonce: string): OrderQueryRequest {
  const viaProvider = target.mchId !== merchant.mchId;
  if (viaProvider && !merchant.subMchIds?.includes(target.mchId)) {
    throw new Error(`order of mch_id ${target.mchId} queried with the key of ${merchant.mchId}, which does not serve it`);
  }
  if (!/^[A-Za-z0-9]{1,32}$/.test(nonce)) throw new Error('nonce_str must be 1 to 32 letters or digits');
  const signType = querySignType(merchant);
  const unsigned: Record<string, string> = {
    appid: target.appid,
    mch_id: merchant.mchId,
    ...(viaProvider ? { sub_mch_id: target.mchId } : {}),
    nonce_str: nonce,
    out_trade_no: target.outTradeNo,
    sign_type: signType,
  };
  const fields = { ...unsigned, sign: sign(unsigned, merchant.apiKey, signType) };
  return { fields, signType, xml: toRequestXml(fields) };
}
