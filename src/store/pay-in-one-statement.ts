import type { Knex } from 'knex';
import type { Transition } from '../notify/write-plan';
import { paymentEventRow, type NewPaymentEvent } from './payment-events-table';
import { violatesIndex } from './store-error';

type Row = Readonly<Record<string, string | number | null>>;

/**
 * PostgreSQL: applies a PAY plan in one statement, so one round trip and one commit instead of a
 * transaction of seven. The UPDATE is the same conditional transition as markPaid, narrowed to
 * the order values the plan was made on; the notification and the ORDER_PAID event are written
 * only from the row it returns. A statement is atomic, so either all three are written or none.
 *
 * Returns false when nothing was written: the order was not NOTPAY with those values any more
 * (another delivery paid it first, or the read was stale), or the transaction already pays
 * another order (the unique (mch_id, transaction_id) index refused it). The caller then plans
 * again in a transaction on the locked row. A second ORDER_PAID event for the order would
 * violate the unique dedupe key and fail the whole statement (an internal error, as in the
 * transaction path).
 */
export async function payInOneStatement(
  db: Knex,
  order: { readonly mchId: string; readonly outTradeNo: string },
  pay: Extract<Transition, { kind: 'PAY' }>,
  notification: Row,
  /** Its payload's last key is notification_id, written here from the inserted row. */
  event: NewPaymentEvent,
  now: Date,
): Promise<boolean> {
  const { payload_json: payload, ...eventColumns } = paymentEventRow(
    { ...event, payload: { ...event.payload, notification_id: 0 } },
    now,
  );
  if (typeof payload !== 'string' || !payload.endsWith('"notification_id":0}'))
    throw new Error('event payload must end with notification_id');

  const bindings: Array<string | number | null> = [];
  const values = (row: Row): string =>
    Object.values(row)
      .map((v) => {
        bindings.push(v);
        // Parameters in a SELECT list have no type to infer from the target column.
        return typeof v === 'number' ? '?::bigint' : '?::text';
      })
      .join(', ');
  const columns = (row: object): string =>
    Object.keys(row)
      .map((c) => `"${c}"`)
      .join(', ');

  const { expected } = pay;
  bindings.push(
    pay.transactionId,
    pay.paidAt.getTime(),
    now.getTime(),
    order.mchId,
    order.outTradeNo,
    expected.appid,
    expected.totalFee,
    expected.feeType,
  );
  const notificationValues = values(notification);
  const eventValues = values(eventColumns);
  bindings.push(payload.slice(0, -'0}'.length));

  const sql = `
    with paid as (
      update "orders" set "status" = 'PAID', "transaction_id" = ?, "paid_at_ms" = ?, "updated_at_ms" = ?
      where "mch_id" = ? and "out_trade_no" = ? and "status" = 'NOTPAY' and "appid" = ? and "total_fee" = ? and "fee_type" = ?
      returning 1
    ), noted as (
      insert into "notifications" (${columns(notification)})
      select ${notificationValues} from paid
      returning "id"
    )
    insert into "payment_events" (${columns(eventColumns)}, "payload_json")
    select ${eventValues}, ?::text || noted."id"::text || '}' from noted
    returning "id"`
    .replace(/\s+/g, ' ')
    .trim();
  let written: { rows: unknown[] };
  try {
    written = await db.raw<{ rows: unknown[] }>(sql, bindings);
  } catch (e) {
    if (violatesIndex(e, 'orders_merchant_transaction')) return false;
    // The order was NOTPAY yet has an ORDER_PAID event: corrupt state, not contention. Say so,
    // as the transaction path does, rather than let it pass for a race worth retrying.
    if (violatesIndex(e, 'payment_events_dedupe_key')) {
      throw new Error(`order ${order.outTradeNo} already has an ORDER_PAID event`, { cause: e });
    }
    throw e;
  }
  // At most one row: (mch_id, out_trade_no) is unique, so the UPDATE returns at most one.
  return written.rows.length > 0;
}
