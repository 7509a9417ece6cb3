// What the core's tables hold for one run's orders, read over a connection of the test's own
// (not the core's pool, which a fault may have just emptied), in the model's MoneyView shape.

import type { Knex } from 'knex';
import type { ModelRules, MoneyView, OrderSlot, OrderState } from './money-model';

export interface ObservedMoney {
  readonly view: MoneyView;
  /** notifications rows of the run's orders. */
  readonly notifications: number;
  /** Rules that hold whatever the model says: broken ones name the order and the numbers. */
  readonly broken: readonly string[];
}

interface OrderRow {
  mch_id: string;
  out_trade_no: string;
  appid: string;
  total_fee: number | string;
  status: string;
  transaction_id: string | null;
  refunded_fee: number | string;
}
interface EventRow {
  id: number | string;
  mch_id: string;
  out_trade_no: string;
  type: string;
  transaction_id: string | null;
}
interface AnomalyRow {
  mch_id: string;
  out_trade_no: string;
  kind: string;
  transaction_id: string | null;
}
interface RefundRow {
  mch_id: string;
  out_trade_no: string;
  out_refund_no: string;
  transaction_id: string;
  refund_fee: number | string;
  state: string;
}

export async function observeMoney(
  db: Knex,
  slots: readonly OrderSlot[],
  rules: Pick<ModelRules, 'transactionPaysOneOrder'>,
): Promise<ObservedMoney> {
  const mchIds = [...new Set(slots.map((s) => s.mchId))];
  const tradeNos = [...new Set(slots.map((s) => s.outTradeNo))];
  const ofRun = <T extends object>(table: string): Knex.QueryBuilder<T> =>
    db<T>(table).whereIn('mch_id', mchIds).whereIn('out_trade_no', tradeNos);
  const [orders, events, anomalies, refunds, counted] = await Promise.all([
    ofRun<OrderRow>('orders').select(
      'mch_id',
      'out_trade_no',
      'appid',
      'total_fee',
      'status',
      'transaction_id',
      'refunded_fee',
    ) as Promise<OrderRow[]>,
    ofRun<EventRow>('payment_events')
      .select('id', 'mch_id', 'out_trade_no', 'type', 'transaction_id')
      .orderBy('id') as Promise<EventRow[]>,
    ofRun<AnomalyRow>('anomalies').select('mch_id', 'out_trade_no', 'kind', 'transaction_id') as Promise<AnomalyRow[]>,
    ofRun<RefundRow>('refunds').select(
      'mch_id',
      'out_trade_no',
      'out_refund_no',
      'transaction_id',
      'refund_fee',
      'state',
    ) as Promise<RefundRow[]>,
    ofRun('notifications').count({ n: '*' }).first() as Promise<{ n: number | string } | undefined>,
  ]);
  const labelOf = (mchId: string, outTradeNo: string): string =>
    slots.find((s) => s.mchId === mchId && s.outTradeNo === outTradeNo)?.label ?? `${mchId}/${outTradeNo}`;

  const view: { orders: Record<string, OrderState | null>; events: Record<string, string[]> } = {
    orders: {},
    events: {},
  };
  for (const s of slots) {
    view.orders[s.label] = null;
    view.events[s.label] = [];
  }
  for (const o of orders) {
    view.orders[labelOf(o.mch_id, o.out_trade_no)] = {
      appid: o.appid,
      totalFee: Number(o.total_fee),
      status: o.status as OrderState['status'],
      transactionId: o.transaction_id,
      refundedFee: Number(o.refunded_fee),
    };
  }
  // PAYMENT_FAILED and refund states other than SUCCESS are never sent by the commands: any
  // such event shows up here as an unexpected line.
  for (const e of events) (view.events[labelOf(e.mch_id, e.out_trade_no)] ??= []).push(`${e.type} ${e.transaction_id}`);

  const broken: string[] = [];
  for (const s of slots) {
    const o = view.orders[s.label];
    const paidEvents = (view.events[s.label] ?? []).filter((e) => e.startsWith('ORDER_PAID ')).length;
    const refunded = refunds
      .filter((r) => r.mch_id === s.mchId && r.out_trade_no === s.outTradeNo && r.state === 'SUCCESS')
      .reduce((sum, r) => sum + Number(r.refund_fee), 0);
    if (paidEvents > 1) broken.push(`${s.label}: ${paidEvents} ORDER_PAID events (doubled)`);
    if (o && (o.status === 'PAID') !== (paidEvents === 1))
      broken.push(`${s.label}: status ${o.status} with ${paidEvents} ORDER_PAID events`);
    if (o && o.refundedFee !== refunded)
      broken.push(`${s.label}: refunded_fee ${o.refundedFee} but its SUCCESS refunds sum to ${refunded}`);
    if (o && o.refundedFee > o.totalFee)
      broken.push(`${s.label}: refunded_fee ${o.refundedFee} above total_fee ${o.totalFee}`);
    if (o && o.status !== 'PAID' && refunded > 0) broken.push(`${s.label}: refunds of an order that is not paid`);
  }
  const paidBy = new Map<string, string>();
  for (const s of rules.transactionPaysOneOrder ? slots : []) {
    const o = view.orders[s.label];
    if (o?.status !== 'PAID' || !o.transactionId) continue;
    const key = `${s.mchId} ${o.transactionId}`;
    const other = paidBy.get(key);
    if (other)
      broken.push(`${other} and ${s.label}: both paid by transaction ${o.transactionId} of merchant ${s.mchId}`);
    paidBy.set(key, s.label);
  }
  const anomalyEvents = events.filter((e) => e.type === 'ANOMALY_RAISED').length;
  if (anomalyEvents !== anomalies.length)
    broken.push(`${anomalies.length} anomalies but ${anomalyEvents} ANOMALY_RAISED events`);

  return {
    view: {
      ...view,
      anomalies: anomalies.map((a) => `${labelOf(a.mch_id, a.out_trade_no)} ${a.kind} ${a.transaction_id}`).sort(),
      refunds: refunds
        .map(
          (r) =>
            `${labelOf(r.mch_id, r.out_trade_no)} ${r.out_refund_no} ${r.transaction_id} ${Number(r.refund_fee)} ${r.state}`,
        )
        .sort(),
    },
    notifications: Number(counted?.n ?? 0),
    broken,
  };
}
