import type { Knex } from 'knex';

export type PaymentEventType = 'ORDER_PAID' | 'PAYMENT_FAILED' | 'ANOMALY_RAISED';

export interface NewPaymentEvent {
  readonly type: PaymentEventType;
  readonly mchId: string;
  readonly outTradeNo: string;
  readonly transactionId: string | null;
  readonly payload: Readonly<Record<string, unknown>>;
  /** Unique: an event that would repeat an earlier one is not written. */
  readonly dedupeKey: string;
}

/** Writes an outbox event unless one with the same dedupe key exists; true when written. */
export async function appendEvent(trx: Knex.Transaction, event: NewPaymentEvent, now: Date): Promise<boolean> {
  const existing: unknown = await trx('payment_events').select('id').where({ dedupe_key: event.dedupeKey }).first();
  if (existing) return false;
  await trx('payment_events').insert({
    type: event.type,
    mch_id: event.mchId,
    out_trade_no: event.outTradeNo,
    transaction_id: event.transactionId,
    payload_json: JSON.stringify(event.payload),
    dedupe_key: event.dedupeKey,
    created_at_ms: now.getTime(),
  });
  return true;
}
