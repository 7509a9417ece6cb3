// The notifications a scenario sends, described deterministically so that the orchestrator (which
// inserts the orders) and the load generator (which signs and sends the bodies) agree without
// shipping tens of thousands of bodies between processes.

import { DEMO, paidFields, signNotification, toNotifyXml } from '../harness/sign-notification';

/** What a request is, and so which reply is right for it. */
export type ItemKind = 'paid' | 'dup' | 'forged' | 'wrong_amount';

export const EXPECTED_STATUS: Readonly<Record<ItemKind, number>> = Object.freeze({
  paid: 200, // NOTPAY -> PAID
  dup: 200, // a copy of a paid notification (or one racing the first copy): SUCCESS every time
  forged: 401, // signed with a key we do not hold
  wrong_amount: 409, // authentic, but total_fee differs from the order: anomaly, FAIL
});

type WorkloadType = 'unique' | 'duplicates' | 'mix' | 'forged' | 'wrong_amount';

export interface WorkloadSpec {
  readonly type: WorkloadType;
  /** Prefix of every out_trade_no of this workload: one per scenario, so scenarios never share orders. */
  readonly prefix: string;
  /** How many orders the workload pays (and the orchestrator registers). */
  readonly orders: number;
  readonly seed: number;
}

export interface WorkItem {
  readonly kind: ItemKind;
  /** Index of the order (tradeNo(prefix, order)); for forged items an order that does not exist. */
  readonly order: number;
}

/** Every order is registered with this amount; wrong_amount notifications claim one fen more. */
export const ORDER_FEE = 100;

export function tradeNo(prefix: string, order: number): string {
  return `${prefix}${order}`;
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The request sequence. Orders [0, spec.orders) must exist (NOTPAY, ORDER_FEE) before it is sent.
 *
 * - unique: each order paid once, in order.
 * - duplicates: each order delivered 5..10 times. The first three copies are adjacent in the
 *   sequence, so with tens of connections they are in flight together (they race for the lock);
 *   the rest come 50..2,000 positions later, when the order is already PAID (WeChat's retries).
 * - mix: ~85% paid once, ~10% forged (order never registered), ~5% wrong amount (order registered).
 * - forged, wrong_amount: only that kind (for the per-kind trace).
 */
export function workItems(spec: WorkloadSpec): WorkItem[] {
  const random = prng(spec.seed);
  switch (spec.type) {
    case 'unique':
      return Array.from({ length: spec.orders }, (_, order) => ({ kind: 'paid' as const, order }));
    case 'duplicates': {
      const placed: Array<{ at: number; item: WorkItem }> = [];
      for (let order = 0; order < spec.orders; order++) {
        const copies = 5 + Math.floor(random() * 6); // 5..10
        for (let c = 0; c < copies; c++) {
          // Positions are in units of "orders"; copies 0..2 share the order's slot.
          const at = c < 3 ? order + c * 1e-3 : order + 50 + random() * 1950;
          placed.push({ at, item: { kind: 'dup', order } });
        }
      }
      placed.sort((a, b) => a.at - b.at);
      return placed.map((p) => p.item);
    }
    case 'mix':
      // Slot by slot: 10% forged (for a trade no never registered), 5% wrong amount, 85% paid.
      return Array.from({ length: spec.orders }, (_, order) => {
        const r = random();
        if (r < 0.1) return { kind: 'forged' as const, order: 1_000_000_000 + order };
        return { kind: r < 0.15 ? ('wrong_amount' as const) : ('paid' as const), order };
      });
    case 'forged':
      return Array.from({ length: spec.orders }, (_, order) => ({
        kind: 'forged' as const,
        order: 1_000_000_000 + order,
      }));
    case 'wrong_amount':
      return Array.from({ length: spec.orders }, (_, order) => ({ kind: 'wrong_amount' as const, order }));
  }
}

/** The signed XML body WeChat would send for an item. MD5, WeChat's default sign_type. */
export function renderBody(prefix: string, item: WorkItem): string {
  const no = tradeNo(prefix, item.order);
  switch (item.kind) {
    case 'paid':
    case 'dup':
      return toNotifyXml(signNotification(paidFields(no), DEMO.key));
    case 'forged':
      return toNotifyXml(signNotification(paidFields(no), 'B'.repeat(32)));
    case 'wrong_amount':
      return toNotifyXml(
        signNotification(
          paidFields(no, { total_fee: String(ORDER_FEE + 1), cash_fee: String(ORDER_FEE + 1) }),
          DEMO.key,
        ),
      );
  }
}
