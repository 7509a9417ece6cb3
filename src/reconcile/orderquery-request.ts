import type { Merchant } from '../notify/merchant';
import { buildSignedQuery, querySignType, type QueryParty, type SignedQuery } from './signed-query';

export { querySignType };

/** Which order to ask WeChat about: the order as the merchant registered it. */
export interface OrderQueryTarget extends QueryParty {
  /** The order's merchant: the merchant itself, or a sub-merchant of a service provider. */
  readonly mchId: string;
  readonly appid: string;
  readonly outTradeNo: string;
}

/** A signed v2 orderquery request, and the algorithm its reply must be verified with. */
export type OrderQueryRequest = SignedQuery;

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
  return buildSignedQuery(target, merchant, nonce, { out_trade_no: target.outTradeNo });
}
