import type { Merchant } from '../notify/merchant';
import { result, type NotifyResult } from '../notify/outcome';
import type { RefundChange } from '../notify/refund-decide';
import type { RefundQueryClient } from '../reconcile/refundquery-client';
import { confirmRefund } from '../reconcile/refundquery-reply';
import { refundQueryTargetOf } from '../reconcile/refundquery-request';

export type RefundConfirmationResult =
  | { readonly ok: true }
  /** `detail` names the check that failed (field names and states, never a value): for the log. */
  | { readonly ok: false; readonly result: NotifyResult; readonly detail: string };

/** At most this long for the query, so the reply still reaches WeChat within its 5 s. */
const CONFIRM_TIMEOUT_MS = 2_000;

/**
 * Confirms a v2 refund SUCCESS with a signed refundquery before it is credited, for merchants
 * with `confirm_refunds_with_query`: the v2 refund envelope is unsigned, and its req_info is
 * AES-ECB without a MAC, so only WeChat's own signed answer proves the facts (docs/exactly-once.md "Refunds and API v3").
 */
export class RefundConfirmer {
  constructor(private readonly client: RefundQueryClient) {}

  async confirm(
    change: RefundChange,
    merchant: Merchant,
    signal: AbortSignal | undefined,
  ): Promise<RefundConfirmationResult> {
    const target = refundQueryTargetOf(change);
    if (!target) return { ok: true }; // APIv3 refunds are signed: nothing to confirm
    const timeout = AbortSignal.timeout(CONFIRM_TIMEOUT_MS);
    const answer = await this.client.query(target, merchant, signal ? AbortSignal.any([signal, timeout]) : timeout);
    const confirmed = confirmRefund(answer.verdict, change);
    if (confirmed.ok) return confirmed;
    const { kind, message, detail } = confirmed.failure;
    return kind === 'NOT_CONFIRMED'
      ? { ok: false, result: result('REJECTED', 'NOT_CONFIRMED', message), detail }
      : { ok: false, result: result('RETRY_LATER', 'CONFIRMATION_UNAVAILABLE', message), detail };
  }
}
