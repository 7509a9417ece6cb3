import type { Merchant } from '../notify/merchant';
import { buildOrderQuery, type OrderQueryTarget } from './orderquery-request';
import { interpretOrderQueryReply, type QueryVerdict } from './orderquery-reply';
import { postQuery, randomNonce, type QueryClientOptions } from './query-transport';

/** One orderquery call, as reconciliation sees it. */
export interface OrderQueryAnswer {
  readonly verdict: QueryVerdict;
  /** The reply's fields (empty without a parseable reply); they are what a PAID verdict stores. */
  readonly fields: Readonly<Record<string, string>>;
  /** The reply body as received ('' without one), for the audit trail. */
  readonly rawBody: string;
}

/** Asks WeChat about one order; never throws for a failed call, which is a NO_ANSWER verdict. */
export interface OrderQueryClient {
  query(target: OrderQueryTarget, merchant: Merchant, signal?: AbortSignal): Promise<OrderQueryAnswer>;
}

/** The call goes to `${apiBase}/pay/orderquery`. */
export type HttpOrderQueryClientOptions = QueryClientOptions;

/** WeChat Pay API v2 `POST /pay/orderquery` over HTTPS (no client certificate needed). */
export class HttpOrderQueryClient implements OrderQueryClient {
  private readonly url: string;
  private readonly nonce: () => string;

  constructor(private readonly options: HttpOrderQueryClientOptions) {
    this.url = `${options.apiBase}/pay/orderquery`;
    this.nonce = options.nonce ?? randomNonce;
  }

  async query(target: OrderQueryTarget, merchant: Merchant, signal?: AbortSignal): Promise<OrderQueryAnswer> {
    const request = buildOrderQuery(target, merchant, this.nonce());
    const reply = await postQuery(this.url, request.xml, this.options, signal);
    if (!reply.ok)
      return {
        verdict: { kind: 'NO_ANSWER', label: 'TRANSPORT_ERROR', message: reply.message },
        fields: {},
        rawBody: '',
      };
    return {
      verdict: interpretOrderQueryReply(reply.fields, {
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
