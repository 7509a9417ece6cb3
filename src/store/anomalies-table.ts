import type { Knex } from 'knex';
import type { Anomaly } from '../notify/decide';
import type { PaymentNotice } from '../notify/payment-notice';

/**
 * Records an anomaly once per discrepancy. Returns false when the same one was already recorded
 * (WeChat repeats the notification that caused it).
 */
export async function raiseAnomaly(
  trx: Knex.Transaction,
  anomaly: Anomaly,
  notice: PaymentNotice,
  notificationId: number,
  now: Date,
): Promise<boolean> {
  const transactionId = notice.resultCode === 'SUCCESS' ? notice.transactionId : null;
  const dedupeKey = [anomaly.kind, notice.mchId, notice.outTradeNo, transactionId ?? '', notice.sign].join(':');
  const existing: unknown = await trx('anomalies').select('id').where({ dedupe_key: dedupeKey }).first();
  if (existing) return false;
  // A concurrent insert of the same key fails the unique index and rolls the transaction back;
  // the notification then answers FAIL and WeChat's retry finds the row.
  await trx('anomalies').insert({
    kind: anomaly.kind,
    mch_id: notice.mchId,
    out_trade_no: notice.outTradeNo,
    transaction_id: transactionId,
    detail: anomaly.detail,
    dedupe_key: dedupeKey,
    notification_id: notificationId,
    created_at_ms: now.getTime(),
    resolved_at_ms: null,
    resolution_note: null,
  });
  return true;
}
