import { buildOrderQuery, type OrderQueryTarget } from './orderquery-request';
import { interpretOrderQueryReply, type QueryVerdict } from './orderquery-reply';
import type { QueryClientOptions } from './query-transport';
import { HttpSignedQueryClient, type QueryAnswer, type QueryClient } from './signed-query-client';

/** One orderquery call, as reconciliation sees it; the fields are what a PAID verdict stores. */
export type OrderQueryAnswer = QueryAnswer<QueryVerdict>;

/** Asks WeChat about one order; never throws for a failed call, which is a NO_ANSWER verdict. */
export type OrderQueryClient = QueryClient<OrderQueryTarget, QueryVerdict>;

/** The call goes to `${apiBase}/pay/orderquery`. */
export type HttpOrderQueryClientOptions = QueryClientOptions;

/** WeChat Pay API v2 `POST /pay/orderquery` over HTTPS (no client certificate needed). */
export class HttpOrderQueryClient extends HttpSignedQueryClient<OrderQueryTarget, QueryVerdict> {
  constructor(options: HttpOrderQueryClientOptions) {
    super({ path: '/pay/orderquery', build: buildOrderQuery, interpret: interpretOrderQueryReply }, options);
  }
}
