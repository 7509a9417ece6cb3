import type { Knex } from 'knex';
import type { OrderStatus, StoredOrder } from '../notify/order';
import type { Transition } from '../notify/write-plan';

interface OrderRow {
  mch_id: string;
  appid: string;
  out_trade_no: string;
  total_fee: number | string;
  fee_type: string;
  status: string;
  transaction_id: string | null;
  paid_at_ms: number | string | null;
  created_at_ms: number | string;
  refunded_fee: number | string;
}

const COLUMNS = [
  'mch_id',
  'appid',
  'out_trade_no',
  'total_fee',
  'fee_type',
  'status',
  'transaction_id',
  'paid_at_ms',
  'created_at_ms',
  'refunded_fee',
];

export async function findOrder(
  db: Knex | Knex.Transaction,
  mchId: string,
  outTradeNo: string,
  options: { forUpdate: boolean },
): Promise<StoredOrder | undefined> {
  let query = db<OrderRow>('orders').select(COLUMNS).where({ mch_id: mchId, out_trade_no: outTradeNo }).first();
  // SQLite has no row locks: its single writer already serialises the transaction.
  if (options.forUpdate) query = query.forUpdate();
  const row = (await query) as OrderRow | undefined;
  return row ? toOrder(row) : undefined;
}

export interface NewOrder {
  readonly mchId: string;
  readonly appid: string;
  readonly outTradeNo: string;
  readonly totalFee: number;
  readonly feeType: string;
}

export async function insertOrder(db: Knex | Knex.Transaction, order: NewOrder, now: Date): Promise<void> {
  await db('orders').insert({
    mch_id: order.mchId,
    appid: order.appid,
    out_trade_no: order.outTradeNo,
    total_fee: order.totalFee,
    fee_type: order.feeType,
    status: 'NOTPAY' satisfies OrderStatus,
    transaction_id: null,
    paid_at_ms: null,
    created_at_ms: now.getTime(),
    updated_at_ms: now.getTime(),
  });
}

/**
 * NOTPAY -> PAID, only if the order is still NOTPAY with the values the plan was made on. Returns
 * false when another writer got there first: that, not the lock, is what makes the transition
 * happen exactly once. The unique (mch_id, transaction_id) index refuses a transaction that
 * already pays another order (an error the caller handles).
 */
export async function markPaid(
  trx: Knex.Transaction,
  key: { mchId: string; outTradeNo: string },
  pay: Extract<Transition, { kind: 'PAY' }>,
  now: Date,
): Promise<boolean> {
  const changed = await trx('orders')
    .where({
      mch_id: key.mchId,
      out_trade_no: key.outTradeNo,
      status: 'NOTPAY' satisfies OrderStatus,
      appid: pay.expected.appid,
      total_fee: pay.expected.totalFee,
      fee_type: pay.expected.feeType,
    })
    .update({
      status: 'PAID' satisfies OrderStatus,
      transaction_id: pay.transactionId,
      paid_at_ms: pay.paidAt.getTime(),
      updated_at_ms: now.getTime(),
    });
  if (changed > 1) throw new Error(`markPaid changed ${changed} rows for one order`);
  return changed === 1;
}

/** The other order of the merchant that `transactionId` pays, if any. */
export async function findOrderPaidBy(
  db: Knex | Knex.Transaction,
  key: { mchId: string; outTradeNo: string },
  transactionId: string,
): Promise<string | undefined> {
  const row = (await db('orders')
    .select('out_trade_no')
    .where({ mch_id: key.mchId, transaction_id: transactionId })
    .whereNot({ out_trade_no: key.outTradeNo })
    .first()) as { out_trade_no: string } | undefined;
  return row?.out_trade_no;
}

/**
 * Adds a SUCCESS refund to a PAID order's refunded total, only while the total stays at or below
 * what was paid and only for the payment it refunds. Returns false when the row refused: the
 * caller re-reads and decides again, so a stale read can never over-refund.
 */
// The same conditional-update shape as markPaid on purpose: each transition names every value it
// was decided on, so the row refuses a stale plan.
export async function addRefund(
  trx: Knex.Transaction,
  key: { mchId: string; outTradeNo: string },
  refund: { transactionId: string; refundFee: number },
  now: Date,
): Promise<boolean> {
  const changed = await trx('orders')
    .where({
      mch_id: key.mchId,
      out_trade_no: key.outTradeNo,
      status: 'PAID' satisfies OrderStatus,
      transaction_id: refund.transactionId,
    })
    .andWhereRaw('refunded_fee + ? <= total_fee', [refund.refundFee])
    .update({ refunded_fee: trx.raw('refunded_fee + ?', [refund.refundFee]), updated_at_ms: now.getTime() });
  if (changed > 1) throw new Error(`addRefund changed ${changed} rows for one order`);
  return changed === 1;
}

// Like findRefund's row check on purpose: each table refuses a value of its own enum it does not know.
function toOrder(row: OrderRow): StoredOrder {
  const status = row.status;
  if (status !== 'NOTPAY' && status !== 'PAID')
    throw new Error(`order ${row.out_trade_no} has unknown status ${status}`);
  return {
    mchId: row.mch_id,
    appid: row.appid,
    outTradeNo: row.out_trade_no,
    // PostgreSQL returns bigint as a string; amounts in fen are far below 2^53.
    totalFee: Number(row.total_fee),
    feeType: row.fee_type,
    status,
    transactionId: row.transaction_id,
    paidAt: row.paid_at_ms === null ? null : new Date(Number(row.paid_at_ms)),
    createdAt: new Date(Number(row.created_at_ms)),
    refundedFee: Number(row.refunded_fee),
  };
}
