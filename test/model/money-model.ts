// The reference model of the money: a few lines per rule, no I/O, no code from src/. The
// model-based test (money-model.test.ts) applies every command to it and to the real core, and
// after each one compares the core's orders, events, anomalies and refunds with what is here.
//
// Rules marked NEW are being added to src/ in parallel; `ModelRules` can model today's behaviour
// for them instead (MODEL_TODAY), to look for other failures while they land.

export type PaymentApi = 'v2-MD5' | 'v2-HMAC' | 'v3';
export type RefundApi = 'v2' | 'v3';

export type Outcome =
  | 'PAID'
  | 'DUPLICATE'
  | 'CONFLICTING_PAYMENT'
  | 'REJECTED'
  | 'ORDER_MISMATCH'
  | 'ORDER_NOT_FOUND'
  | 'RETRY_LATER'
  | 'MALFORMED'
  | 'REFUNDED';

export interface Verdict {
  readonly outcome: Outcome;
  readonly code: string;
}

/** Whether WeChat must stop retrying after this outcome (the reply's acknowledge). */
export function acknowledged(outcome: Outcome): boolean {
  return ['PAID', 'DUPLICATE', 'CONFLICTING_PAYMENT', 'REFUNDED'].includes(outcome);
}

/** One order of the run's fixed pool: its key, and what WeChat would pay it with. */
export interface OrderSlot {
  /** A0, A1 (merchant A), B0, B1 (merchant B); A0 and B0 share their out_trade_no. */
  readonly label: string;
  /** Index into MODEL_MERCHANTS. */
  readonly merchant: number;
  readonly mchId: string;
  /** The app the order is created for; `otherAppid` is the merchant's other app. */
  readonly appid: string;
  readonly otherAppid: string;
  readonly outTradeNo: string;
  /** The amount the merchant means to charge (a conflicting CreateOrder uses plannedFee + 1). */
  readonly plannedFee: number;
  /** The payment WeChat makes for it, and a second, different payment of the same order. */
  readonly transactionId: string;
  readonly otherTransactionId: string;
}

/** A payment notification as WeChat (or a forger) would send it; its fields follow from these. */
export interface PaymentNote {
  readonly kind: 'payment';
  readonly api: PaymentApi;
  readonly slot: number;
  readonly appid: string;
  readonly transactionId: string;
  readonly totalFee: number;
  readonly forged: boolean;
  /**
   * What WeChat's redeliveries of one notification share: the v2 signature (a function of the
   * fields, so of this note) or the v3 notification id (derived from this string).
   */
  readonly identity: string;
}

/** A refund notification (REFUND.SUCCESS / refund_status SUCCESS). */
export interface RefundNote {
  readonly kind: 'refund';
  readonly api: RefundApi;
  readonly slot: number;
  readonly transactionId: string;
  readonly outRefundNo: string;
  readonly refundFee: number;
  /** The paid total the refund states. */
  readonly totalFee: number;
  readonly forged: boolean;
  readonly identity: string;
}

export type Note = PaymentNote | RefundNote;

export interface OrderState {
  appid: string;
  totalFee: number;
  status: 'NOTPAY' | 'PAID';
  transactionId: string | null;
  refundedFee: number;
}

export type EventType = 'ORDER_PAID' | 'REFUND_SUCCEEDED' | 'ANOMALY_RAISED';

export interface ModelRules {
  /** NEW: a SUCCESS whose transaction already pays another order of the merchant pays nothing. */
  readonly transactionPaysOneOrder: boolean;
  /** NEW: CreateOrder applies a parked APIv3 payment as it does a v2 one. */
  readonly replayParkedV3: boolean;
}

export const RULES_AS_SPECIFIED: ModelRules = Object.freeze({ transactionPaysOneOrder: true, replayParkedV3: true });

export type CreateResult =
  | { readonly ok: true; readonly created: boolean; readonly order: Readonly<OrderState> }
  | { readonly ok: false; readonly code: 'ALREADY_EXISTS' };

/** What the core's tables must hold for the run's orders, in a form both sides can build. */
export interface MoneyView {
  readonly orders: Record<string, Readonly<OrderState> | null>;
  /** Per order, its events in the order they were written: "TYPE transaction_id". */
  readonly events: Record<string, readonly string[]>;
  /** "ORDER KIND transaction_id", sorted. */
  readonly anomalies: readonly string[];
  /** "ORDER out_refund_no transaction_id refund_fee state", sorted. */
  readonly refunds: readonly string[];
}

interface AnomalyEntry {
  readonly slot: number;
  readonly kind: string;
  readonly transactionId: string;
}

interface RefundEntry {
  readonly slot: number;
  readonly outRefundNo: string;
  readonly transactionId: string;
  readonly refundFee: number;
}

export class MoneyModel {
  readonly orders: Array<OrderState | undefined>;
  readonly events: Array<Array<{ type: EventType; transactionId: string }>>;
  /** By dedupe identity: one anomaly per discrepancy, however often it is notified. */
  readonly anomalies = new Map<string, AnomalyEntry>();
  /** By mch_id and out_refund_no, the refund's idempotency key. */
  readonly refunds = new Map<string, RefundEntry>();
  /** Authenticated payments that came before their order, oldest first (every delivery). */
  readonly parked: PaymentNote[][];
  /** notifications rows the deliveries so far must have written... */
  notifications = 0;
  /** ...plus at most this many: CreateOrder replays, and attempts a fault left ambiguous. */
  notificationSlack = 0;
  /** Every note sent so far, for exact redeliveries. */
  readonly sent: Note[] = [];

  constructor(
    readonly slots: readonly OrderSlot[],
    readonly rules: ModelRules,
    /** Which faults this backend can inject (PostgreSQL: terminate the core's sessions). */
    readonly faults: { readonly terminateSessions: boolean },
  ) {
    this.orders = slots.map(() => undefined);
    this.events = slots.map(() => []);
    this.parked = slots.map(() => []);
  }

  /** A copy to ask "what would happen" without changing this one. */
  clone(): MoneyModel {
    const c = new MoneyModel(this.slots, this.rules, this.faults);
    this.orders.forEach((o, i) => {
      c.orders[i] = o ? { ...o } : undefined;
    });
    this.events.forEach((e, i) => {
      c.events[i] = e.map((x) => ({ ...x }));
    });
    this.parked.forEach((p, i) => {
      c.parked[i] = [...p];
    });
    for (const [k, v] of this.anomalies) c.anomalies.set(k, v);
    for (const [k, v] of this.refunds) c.refunds.set(k, v);
    c.notifications = this.notifications;
    c.notificationSlack = this.notificationSlack;
    c.sent.push(...this.sent);
    return c;
  }

  slot(i: number): OrderSlot {
    const s = this.slots[i];
    if (!s) throw new Error(`no order slot ${i}`);
    return s;
  }

  /**
   * At most one distinct payment waits for each order: with several, which one CreateOrder
   * should apply is a choice the rules leave open, so the commands do not create that case.
   */
  mayDeliver(note: Note): boolean {
    if (note.kind !== 'payment' || note.forged || this.orders[note.slot]) return true;
    return (this.parked[note.slot] ?? []).every((p) => p.identity === note.identity);
  }

  /** One delivery of `note` that the core answered (not RETRY_LATER): its verdict, and its effect. */
  deliver(note: Note): Verdict {
    return note.kind === 'payment' ? this.deliverPayment(note) : this.deliverRefund(note);
  }

  private deliverPayment(note: PaymentNote): Verdict {
    // Forged: nothing stored anywhere.
    if (note.forged) return { outcome: 'REJECTED', code: 'INVALID_SIGNATURE' };
    this.notifications += 1;
    const order = this.orders[note.slot];
    if (!order) {
      this.parked[note.slot]?.push(note);
      return { outcome: 'ORDER_NOT_FOUND', code: 'ORDER_NOT_FOUND' };
    }
    return this.decidePayment(note, order);
  }

  /** The notify table for an authenticated SUCCESS and an existing order. */
  private decidePayment(note: PaymentNote, order: OrderState): Verdict {
    const anomaly = (kind: string, outcome: Outcome): Verdict => {
      // One discrepancy is one anomaly: keyed by the money facts, so v2 and v3, MD5 and HMAC
      // deliveries of one payment raise it once.
      this.raise(note.slot, kind, note.transactionId, `${kind}|${note.appid}|${note.transactionId}|${note.totalFee}`);
      return { outcome, code: kind };
    };
    if (note.appid !== order.appid) return anomaly('APPID_MISMATCH', 'ORDER_MISMATCH');
    if (note.totalFee !== order.totalFee) return anomaly('AMOUNT_MISMATCH', 'ORDER_MISMATCH');
    if (order.status === 'PAID') {
      // PAID never changes back, and its transaction never changes.
      if (order.transactionId === note.transactionId) return { outcome: 'DUPLICATE', code: 'DUPLICATE' };
      return anomaly('CONFLICTING_TRANSACTION', 'CONFLICTING_PAYMENT');
    }
    // NEW. Judged where the order would otherwise be paid: for an order already paid, the
    // notification is a CONFLICTING_TRANSACTION (above), whichever order the transaction pays.
    if (this.rules.transactionPaysOneOrder && this.paysAnotherOrder(note.slot, note.transactionId)) {
      return anomaly('TRANSACTION_REUSED', 'CONFLICTING_PAYMENT');
    }
    order.status = 'PAID';
    order.transactionId = note.transactionId;
    this.events[note.slot]?.push({ type: 'ORDER_PAID', transactionId: note.transactionId });
    return { outcome: 'PAID', code: 'OK' };
  }

  private paysAnotherOrder(slot: number, transactionId: string): boolean {
    const mchId = this.slot(slot).mchId;
    return this.orders.some(
      (o, i) => i !== slot && o?.status === 'PAID' && o.transactionId === transactionId && this.slot(i).mchId === mchId,
    );
  }

  private deliverRefund(note: RefundNote): Verdict {
    if (note.forged)
      return { outcome: 'REJECTED', code: note.api === 'v2' ? 'REFUND_UNDECRYPTABLE' : 'INVALID_SIGNATURE' };
    // WeChat never refunds more than the payment: such a notification is not one to act on. A v2
    // refund's decrypted values are judged like its decryption (one answer for every bad
    // document, so a block re-cutter learns nothing); v3 resources are authenticated by GCM.
    if (note.refundFee > note.totalFee)
      return note.api === 'v2'
        ? { outcome: 'REJECTED', code: 'REFUND_UNDECRYPTABLE' }
        : { outcome: 'MALFORMED', code: 'INVALID_FIELD' };
    this.notifications += 1;
    const order = this.orders[note.slot];
    if (!order) return { outcome: 'ORDER_NOT_FOUND', code: 'ORDER_NOT_FOUND' };
    const s = this.slot(note.slot);
    const conflict = (kind: string, outcome: Outcome = 'CONFLICTING_PAYMENT'): Verdict => {
      this.raise(
        note.slot,
        kind,
        note.transactionId,
        `${kind}|${note.transactionId}|${note.outRefundNo}|${note.refundFee}`,
      );
      return { outcome, code: kind };
    };
    const key = `${s.mchId}|${note.outRefundNo}`;
    const existing = this.refunds.get(key);
    if (existing) {
      // An out_refund_no keeps naming one refund of one payment.
      if (existing.transactionId !== note.transactionId) return conflict('REFUND_OTHER_TRANSACTION');
      if (existing.refundFee !== note.refundFee) return conflict('REFUND_AMOUNT_CONFLICT');
      return { outcome: 'DUPLICATE', code: 'DUPLICATE' };
    }
    if (order.status !== 'PAID') return { outcome: 'ORDER_NOT_FOUND', code: 'ORDER_NOT_PAID' };
    if (note.transactionId !== order.transactionId) return conflict('REFUND_OTHER_TRANSACTION');
    if (note.totalFee !== order.totalFee) return conflict('AMOUNT_MISMATCH', 'ORDER_MISMATCH');
    if (order.refundedFee + note.refundFee > order.totalFee) return conflict('OVER_REFUND', 'ORDER_MISMATCH');
    this.refunds.set(key, {
      slot: note.slot,
      outRefundNo: note.outRefundNo,
      transactionId: note.transactionId,
      refundFee: note.refundFee,
    });
    order.refundedFee += note.refundFee;
    this.events[note.slot]?.push({ type: 'REFUND_SUCCEEDED', transactionId: note.transactionId });
    return { outcome: 'REFUNDED', code: 'OK' };
  }

  private raise(slot: number, kind: string, transactionId: string, identity: string): void {
    const key = `${slot}|${identity}`;
    if (this.anomalies.has(key)) return;
    this.anomalies.set(key, { slot, kind, transactionId });
    this.events[slot]?.push({ type: 'ANOMALY_RAISED', transactionId });
  }

  /**
   * CreateOrder: idempotent for the same values, refused for others. While the order is NOTPAY
   * (also on a repeat) the payment that came before it is applied, as if WeChat redelivered it.
   */
  createOrder(slot: number, totalFee: number): CreateResult {
    const s = this.slot(slot);
    let order = this.orders[slot];
    const created = !order;
    if (order && order.totalFee !== totalFee) return { ok: false, code: 'ALREADY_EXISTS' };
    if (!order) {
      order = { appid: s.appid, totalFee, status: 'NOTPAY', transactionId: null, refundedFee: 0 };
      this.orders[slot] = order;
    }
    if (order.status === 'NOTPAY') {
      const parked = (this.parked[slot] ?? []).filter((p) => this.rules.replayParkedV3 || p.api !== 'v3');
      const newest = parked[parked.length - 1];
      if (newest) {
        // The replay may or may not be stored as a notification row of its own.
        this.notificationSlack += 1;
        this.decidePayment(newest, order);
      }
    }
    return { ok: true, created, order: { ...order } };
  }

  view(): MoneyView {
    const orders: Record<string, OrderState | null> = {};
    const events: Record<string, string[]> = {};
    this.slots.forEach((s, i) => {
      const o = this.orders[i];
      orders[s.label] = o ? { ...o } : null;
      events[s.label] = (this.events[i] ?? []).map((e) => `${e.type} ${e.transactionId}`);
    });
    const label = (slot: number): string => this.slot(slot).label;
    return {
      orders,
      events,
      anomalies: [...this.anomalies.values()].map((a) => `${label(a.slot)} ${a.kind} ${a.transactionId}`).sort(),
      refunds: [...this.refunds.values()]
        .map((r) => `${label(r.slot)} ${r.outRefundNo} ${r.transactionId} ${r.refundFee} SUCCESS`)
        .sort(),
    };
  }
}
