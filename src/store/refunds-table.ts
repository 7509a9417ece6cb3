import type { Knex } from 'knex';
import type { RefundChange, RefundRecord, RefundState } from '../notify/refund-decide';

interface RefundRow {
  out_refund_no: string;
  refund_id: string;
  transaction_id: string;
  refund_fee: number | string;
  state: string;
}

/** The refund stored under (mch_id, out_refund_no), if any. */
export async function findRefund(
  db: Knex | Knex.Transaction,
  mchId: string,
  outRefundNo: string,
): Promise<RefundRecord | undefined> {
  const row = (await db('refunds')
    .select('out_refund_no', 'refund_id', 'transaction_id', 'refund_fee', 'state')
    .where({ mch_id: mchId, out_refund_no: outRefundNo })
    .first()) as RefundRow | undefined;
  if (!row) return undefined;
  const state = row.state;
  if (state !== 'SUCCESS' && state !== 'ABNORMAL' && state !== 'CLOSED')
    throw new Error(`refund ${row.out_refund_no} has unknown state ${state}`);
  return {
    outRefundNo: row.out_refund_no,
    refundId: row.refund_id,
    transactionId: row.transaction_id,
    refundFee: Number(row.refund_fee),
    state,
  };
}

/** Another out_refund_no of the merchant stored with `refundId`, if any. */
export async function findRefundIdOwner(
  db: Knex | Knex.Transaction,
  mchId: string,
  refundId: string,
  outRefundNo: string,
): Promise<string | undefined> {
  const row = (await db('refunds')
    .select('out_refund_no')
    .where({ mch_id: mchId, refund_id: refundId })
    .whereNot({ out_refund_no: outRefundNo })
    .first()) as { out_refund_no: string } | undefined;
  return row?.out_refund_no;
}

/**
 * Stores a refund's new state. A first notice inserts the row: the unique key (mch_id,
 * out_refund_no) refuses a concurrent second insert, which rolls its transaction back. A later
 * state replaces only the state `from` it was read in; false when another writer moved it first.
 */
export async function saveRefundState(
  trx: Knex.Transaction,
  change: RefundChange,
  from: RefundState | undefined,
  notificationId: number,
  now: Date,
): Promise<boolean> {
  const values = {
    refund_id: change.refundId,
    refund_fee: change.refundFee,
    state: change.state,
    success_at_ms: change.successTime?.getTime() ?? null,
    notification_id: notificationId,
    updated_at_ms: now.getTime(),
  };
  if (from === undefined) {
    await trx('refunds').insert({
      ...values,
      mch_id: change.mchId,
      out_refund_no: change.outRefundNo,
      out_trade_no: change.outTradeNo,
      transaction_id: change.transactionId,
      created_at_ms: now.getTime(),
    });
    return true;
  }
  const changed = await trx('refunds')
    .where({ mch_id: change.mchId, out_refund_no: change.outRefundNo, state: from })
    .update(values);
  if (changed > 1) throw new Error(`saveRefundState changed ${changed} rows for one refund`);
  return changed === 1;
}
