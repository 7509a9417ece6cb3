import type { Merchant } from '../notify/merchant';
import { postQuery, randomNonce, type QueryClientOptions } from './query-transport';
import { interpretRefundQueryReply, type RefundQueryVerdict } from './refundquery-reply';
import { buildRefundQuery, type RefundQueryTarget } from './refundquery-request';

/** One refundquery call. */
export interface RefundQueryAnswer {
  readonly verdict: RefundQueryVerdict;
  /** The reply's fields (empty without a parseable reply), for the log. */
  readonly fields: Readonly<Record<string, string>>;
  /** The reply body as received ('' without one), for the audit trail. */
  readonly rawBody: string;
}

/** Asks WeChat about one refund; never throws for a failed call, which is a NO_ANSWER verdict. */
export interface RefundQueryClient {
  query(target: RefundQueryTarget, merchant: Merchant, signal?: AbortSignal): Promise<RefundQueryAnswer>;
}

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
export class HttpRefundQueryClient implements RefundQueryClient {
  private readonly url: string;
  private readonly nonce: () => string;

  constructor(private readonly options: HttpRefundQueryClientOptions) {
    this.url = `${options.apiBase}/pay/refundquery`;
    this.nonce = options.nonce ?? randomNonce;
  }

  async query(target: RefundQueryTarget, merchant: Merchant, signal?: AbortSignal): Promise<RefundQueryAnswer> {
    const request = buildRefundQuery(target, merchant, this.nonce());
    const reply = await postQuery(this.url, request.xml, this.options, signal);
    if (!reply.ok)
      return {
        verdict: { kind: 'NO_ANSWER', label: 'TRANSPORT_ERROR', message: reply.message },
        fields: {},
        rawBody: '',
      };
    return {
      verdict: interpretRefundQueryReply(reply.fields, {
        target,
        merchant,
        signType: request.signType,
        now: this.options.clock(),
      }),
      fields: reply.fields,
      rawBody: reply.rawBody,
    };
  }
}
