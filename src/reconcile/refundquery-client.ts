import type { QueryClientOptions } from './query-transport';
import { interpretRefundQueryReply, type RefundQueryVerdict } from './refundquery-reply';
import { buildRefundQuery, type RefundQueryTarget } from './refundquery-request';
import { HttpSignedQueryClient, type QueryClient } from './signed-query-client';

/** Asks WeChat about one refund; never throws for a failed call, which is a NO_ANSWER verdict. */
export type RefundQueryClient = QueryClient<RefundQueryTarget, RefundQueryVerdict>;

/** The call goes to `${apiBase}/pay/refundquery`; timeouts and limits as for orderquery. */
export type HttpRefundQueryClientOptions = QueryClientOptions;

/**
 * WeChat Pay API v2 `POST /pay/refundquery` over HTTPS (no client certificate needed), by
 * out_refund_no. For a sub-merchant's refund, `merchant` is its service provider.
 *
 * await new HttpRefundQueryClient({ apiBase: 'https://api.mch.weixin.qq.com', timeoutMs: 3000, clock })
 *   .query({ mchId: '10000100', appid: 'wx2421b1c4370ec43b', outRefundNo: 'r1', outTradeNo: 'o1' }, merchant)
 *   => { verdict: { kind: 'CONFIRMED', state: 'SUCCESS', refundFee: 6, ... }, fields: {...}, rawBody: '<xml>...' }
 */
export class HttpRefundQueryClient extends HttpSignedQueryClient<RefundQueryTarget, RefundQueryVerdict> {
  constructor(options: HttpRefundQueryClientOptions) {
    super({ path: '/pay/refundquery', build: buildRefundQuery, interpret: interpretRefundQueryReply }, options);
  }
}
