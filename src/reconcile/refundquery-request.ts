import type { Merchant } from '../notify/merchant';
import type { RefundChange } from '../notify/refund-decide';
import { buildSignedQuery, type QueryParty, type SignedQuery } from './signed-query';

/** Which refund to ask WeChat about. */
export interface RefundQueryTarget extends QueryParty {
  /** The refunded order's merchant: the merchant itself, or a sub-merchant of a service provider. */
  readonly mchId: string;
  /** The appid the order was paid through (a v2 refund notification's envelope names it). */
  readonly appid: string;
  readonly outRefundNo: string;
  /** When known, the reply must be about this order; it is checked, not sent. */
  readonly outTradeNo?: string;
}

/** A signed v2 refundquery request, and the algorithm its reply must be verified with. */
export type RefundQueryRequest = SignedQuery;

/**
 * The body of POST /pay/refundquery (WeChat Pay API v2) by out_refund_no: appid, mch_id,
 * nonce_str, out_refund_no, sign_type, and sign over all of them with the merchant's current API
 * key; sub_mch_id for a sub-merchant's refund, as orderquery does. Only out_refund_no is sent:
 * WeChat picks the first of refund_id > out_refund_no > transaction_id > out_trade_no, and
 * out_refund_no names exactly the refund a notification reports.
 *
 * buildRefundQuery({ mchId: '10000100', appid: 'wxd930ea5d5a258f4f', outRefundNo: 'r1' }, demo, 'n1').fields
 *   => { appid, mch_id: '10000100', nonce_str: 'n1', out_refund_no: 'r1', sign_type: 'HMAC-SHA256', sign: '<64 hex>' }
 */
export function buildRefundQuery(target: RefundQueryTarget, merchant: Merchant, nonce: string): RefundQueryRequest {
  return buildSignedQuery(target, merchant, nonce, { out_refund_no: target.outRefundNo });
}

/**
 * The query that confirms a refund notification: its merchant, appid, out_refund_no and order.
 * undefined for a change without an appid (APIv3 refunds, which are signed and need no query).
 *
 * refundQueryTargetOf({ mchId: '10000100', appid: 'wx2421b1c4370ec43b', outRefundNo: 'r1', outTradeNo: 'o1', ... })
 *   => { mchId: '10000100', appid: 'wx2421b1c4370ec43b', outRefundNo: 'r1', outTradeNo: 'o1' }
 */
export function refundQueryTargetOf(change: RefundChange): RefundQueryTarget | undefined {
  if (change.appid === undefined) return undefined;
  return { mchId: change.mchId, appid: change.appid, outRefundNo: change.outRefundNo, outTradeNo: change.outTradeNo };
}
