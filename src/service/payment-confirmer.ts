import type { Merchant } from '../notify/merchant';
import { result, type NotifyResult } from '../notify/outcome';
import type { PaidNotice, PaymentNotice } from '../notify/payment-notice';
import type { OrderQueryClient } from '../reconcile/orderquery-client';

export type Confirmation =
  /** WeChat's signed orderquery reply says the order is paid: these are the facts to apply. */
  { readonly ok: true; readonly notice: PaidNotice } | { readonly ok: false; readonly result: NotifyResult };

/** At most this long for the query, so the reply still reaches WeChat within its 5 s. */
const CONFIRM_TIMEOUT_MS = 2_000;

/**
 * Asks WeChat (a signed v2 orderquery) whether the order a suspicious notification names is
 * paid, and by what. The reply's facts replace the notification's: a re-cut notification can
 * only ever pay what WeChat itself reports paid.
 */
export class PaymentConfirmer {
  constructor(private readonly client: OrderQueryClient) {}

  async confirm(notice: PaymentNotice, merchant: Merchant, signal: AbortSignal | undefined): Promise<Confirmation> {
    const timeout = AbortSignal.timeout(CONFIRM_TIMEOUT_MS);
    const answer = await this.client.query(
      { mchId: notice.mchId, appid: notice.appid, outTradeNo: notice.outTradeNo },
      merchant,
      signal ? AbortSignal.any([signal, timeout]) : timeout,
    );
    const v = answer.verdict;
    switch (v.kind) {
      case 'PAID':
        return { ok: true, notice: v.notice };
      case 'NOT_PAID_YET':
      case 'REFUNDED':
      case 'FINAL':
        return {
          ok: false,
          result: result(
            'REJECTED',
            'NOT_CONFIRMED',
            "the notification's fields can be read two ways and WeChat does not confirm this payment; nothing was written",
          ),
        };
      case 'NO_ANSWER':
      case 'REJECTED':
        return {
          ok: false,
          result: result(
            'RETRY_LATER',
            'CONFIRMATION_UNAVAILABLE',
            "the notification's fields can be read two ways and WeChat could not be asked to confirm it; retry later",
          ),
        };
    }
  }
}
