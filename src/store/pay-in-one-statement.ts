import type { Knex } from 'knex';
import type { StoredOrder } from '../notify/order';
import type { NotifyResult } from '../notify/outcome';
import type { PaidNotice } from '../notify/payment-notice';
import { notificationRow, paymentSubject, type ReceivedNotification } from './notifications-table';
import { orderPaidEvent } from './order-paid-event';
import { paymentEventRow } from './payment-events-table';

/**
 * PostgreSQL: pays an order in one statement, so one round trip and one commit instead of a
 * transaction of seven. The UPDATE is the same conditional transition as markPaid, narrowed to
 * the order values the decision was made on; the notification and the ORDER_PAID event are
 * written only from the row it returns. A statement is atomic, so either all three are written
 * or none is.
 *
 * Returns false when the order was not NOTPAY with those values any more (another delivery paid
 * it first, or the read was stale): nothing was written, and the caller decides again in a
 * transaction on the locked row. A second ORDER_PAID event for the order would violate the
 * unique dedupe key and fail the whole statement (an internal error, as in the transaction path).
 */
export async function payInOneStatement(
  db: Knex,
  received: ReceivedNotification,
  notice: PaidNotice,
  seen: StoredOrder,
  outcome: NotifyResult,
  now: Date,
): Promise<boolean> {
  const notification = notificationRow(received, paymentSubject(notice), outcome);
  const event = paymentEventRow(orderPaidEvent(notice, 0), now);
  const { payload_json: payload, ...eventColumns } = event;
  if (typeof payload !== 'string' || !payload.endsWith('"notification_id":0}')) throw new Error('ORDER_PAID payload must end with notification_id');

  const bindings: Array<string | number | null> = [];
  const values = (row: Readonly<Record<string, string | number | null>>): string =>
    Object.values(row).map((v) => {
      bindings.push(v);
      // Parameters in a SELECT list have no type to infer from the target column.
      return typeof v === 'number' ? '?::bigint' : '?::text';
    }).join(', ');
  const columns = (row: object): string => Object.keys(row).map((c) => `"${c}"`).join(', ');

  const update = [notice.transactionId, notice.paidAt.getTime(), now.getTime(), seen.mchId, seen.outTradeNo, seen.appid, seen.totalFee, seen.feeType];
  bindings.push(...update);
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
    returning "id"`.replace(/\s+/g, ' ').trim();
  let written: { rows: unknown[] };
  try {
    written = (await db.raw(sql, bindings)) as { rows: unknown[] };
  } catch (e) {
    // The order was NOTPAY yet has an ORDER_PAID event: corrupt state, not contention. Say so,
    // as the transaction path does, rather than let it pass for a race worth retrying.
    const { code, constraint } = e as { code?: unknown; constraint?: unknown };
    if (code === '23505' && constraint === 'payment_events_dedupe_key') {
      throw new Error(`order ${notice.outTradeNo} already has an ORDER_PAID event`, { cause: e });
    }
    throw e;
  }
  // At most one row: (mch_id, out_trade_no) is unique, so the UPDATE returns at most one.
  return written.rows.length > 0;
}
