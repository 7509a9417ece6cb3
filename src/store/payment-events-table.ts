import type { Knex } from 'knex';
import { dialectOf } from './database';
import type { PaymentEventType, PlannedEvent } from '../notify/write-plan';

export type { PaymentEventType } from '../notify/write-plan';

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
  /** The stream position: increasing in the order events became visible (migration 005). */
  readonly id: number;
  readonly type: PaymentEventType;
  readonly mchId: string;
  readonly outTradeNo: string;
  readonly transactionId: string | null;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly createdAt: Date;
}

/**
 * Writes an outbox event unless one with the same dedupe key exists; true when written. The
 * event gets its stream position only after it commits (event-sequencer.ts), so writers never
 * wait on each other here.
 */
export async function appendEvent(trx: Knex.Transaction, event: NewPaymentEvent, now: Date): Promise<boolean> {
  const row = paymentEventRow(event, now);
  const client = dialectOf(trx);
  if (client === 'pg' || client === 'better-sqlite3') {
    // One round trip: the unique dedupe key decides, and a conflict writes nothing.
    const inserted: unknown = await trx('payment_events').insert(row, ['id']).onConflict('dedupe_key').ignore();
    return Array.isArray(inserted) && inserted.length === 1;
  }
  // MySQL spells "on conflict do nothing" INSERT IGNORE, which also downgrades other errors
  // (a truncated value, a NOT NULL violation) to warnings: read first instead.
  const existing: unknown = await trx('payment_events').select('id').where({ dedupe_key: event.dedupeKey }).first();
  if (existing) return false;
  await trx('payment_events').insert(row);
  return true;
}

/** A planned event of an order, with the notification row that carried it as the payload's last key. */
export function eventOf(
  planned: PlannedEvent,
  order: { readonly mchId: string; readonly outTradeNo: string },
  notificationId: number,
): NewPaymentEvent {
  return {
    type: planned.type,
    mchId: order.mchId,
    outTradeNo: order.outTradeNo,
    transactionId: planned.transactionId,
    payload: { ...planned.payload, notification_id: notificationId },
    dedupeKey: planned.dedupeKey,
  };
}

/** The columns of a payment_events row; `position` stays NULL until the event is sequenced. */
export function paymentEventRow(event: NewPaymentEvent, now: Date): Readonly<Record<string, string | number | null>> {
  return {
    type: event.type,
    mch_id: event.mchId,
    out_trade_no: event.outTradeNo,
    transaction_id: event.transactionId,
    payload_json: JSON.stringify(event.payload),
    dedupe_key: event.dedupeKey,
    created_at_ms: now.getTime(),
  };
}

interface EventRow {
  position: number | string;
  type: string;
  mch_id: string;
  out_trade_no: string;
  transaction_id: string | null;
  payload_json: string;
  created_at_ms: number | string;
}

/** Sequenced events with position > after, in position order. */
export async function eventsAfter(
  db: Knex,
  after: number,
  limit: number,
  mchIds: readonly string[],
): Promise<StoredPaymentEvent[]> {
  let q = db<EventRow>('payment_events')
    .select('position', 'type', 'mch_id', 'out_trade_no', 'transaction_id', 'payload_json', 'created_at_ms')
    .where('position', '>', after)
    .orderBy('position', 'asc')
    .limit(limit);
  if (mchIds.length > 0) q = q.whereIn('mch_id', mchIds);
  const rows = (await q) as EventRow[];
  return rows.map((r) => ({
    id: Number(r.position),
    type: r.type as PaymentEventType,
    mchId: r.mch_id,
    outTradeNo: r.out_trade_no,
    transactionId: r.transaction_id,
    payload: JSON.parse(r.payload_json) as Record<string, unknown>,
    createdAt: new Date(Number(r.created_at_ms)),
  }));
}

/** The newest position, 0 when there is none. */
export async function latestEventId(db: Knex): Promise<number> {
  const row = (await db('payment_events').max({ p: 'position' }).first()) as { p: number | string | null } | undefined;
  return Number(row?.p ?? 0);
}
