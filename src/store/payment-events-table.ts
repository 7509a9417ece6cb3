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

export interface StoredPaymentEvent {
  /** Increasing in commit order (see migration 002); the stream's cursor. */
  readonly id: number;
  readonly type: PaymentEventType;
  readonly mchId: string;
  readonly outTradeNo: string;
  readonly transactionId: string | null;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly createdAt: Date;
}

/**
 * Writes an outbox event unless one with the same dedupe key exists; true when written.
 * Must be the transaction's last write: it takes the outbox lock, held until commit.
 */
export async function appendEvent(trx: Knex.Transaction, event: NewPaymentEvent, now: Date): Promise<boolean> {
  const existing: unknown = await trx('payment_events').select('id').where({ dedupe_key: event.dedupeKey }).first();
  if (existing) return false;
  // Serialises "assign an id, commit" across writers, so ids become visible in increasing
  // order. SQLite has a single writer already.
  if (trx.client.config.client !== 'better-sqlite3') {
    await trx('outbox_head').where({ id: 1 }).increment('events_written', 1);
  }
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

interface EventRow {
  id: number | string;
  type: string;
  mch_id: string;
  out_trade_no: string;
  transaction_id: string | null;
  payload_json: string;
  created_at_ms: number | string;
}

/** Events with id > afterId, oldest first. */
export async function eventsAfter(db: Knex, afterId: number, limit: number, mchIds: readonly string[]): Promise<StoredPaymentEvent[]> {
  let q = db<EventRow>('payment_events').where('id', '>', afterId).orderBy('id', 'asc').limit(limit);
  if (mchIds.length > 0) q = q.whereIn('mch_id', mchIds);
  const rows = (await q) as EventRow[];
  return rows.map((r) => ({
    id: Number(r.id),
    type: r.type as PaymentEventType,
    mchId: r.mch_id,
    outTradeNo: r.out_trade_no,
    transactionId: r.transaction_id,
    payload: JSON.parse(r.payload_json) as Record<string, unknown>,
    createdAt: new Date(Number(r.created_at_ms)),
  }));
}

/** The newest event's id, 0 when there is none. */
export async function latestEventId(db: Knex): Promise<number> {
  const row = (await db('payment_events').max({ id: 'id' }).first()) as { id: number | string | null } | undefined;
  return Number(row?.id ?? 0);
}
