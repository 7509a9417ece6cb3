import type { Knex } from 'knex';
import { subjectOrder, type MoneySubject } from '../notify/money-subject';
import type { StoredOrder } from '../notify/order';
import type { NotifyResult } from '../notify/outcome';
import { recordsOnly, type StoredView, type Transition, type WritePlan } from '../notify/write-plan';
import { insertAnomaly } from './anomalies-table';
import { dialectOf, isSqlite } from './database';
import { NotificationBatcher } from './notification-batcher';
import {
  findParkedPayments,
  hasBodyOf,
  insertNotification,
  notificationRow,
  subjectDigest,
  type ParkedPayment,
  type ReceivedNotification,
} from './notifications-table';
import type { OutboxSignal } from './outbox-signal';
import { addRefund, findOrder, findOrderPaidBy, insertOrder, markPaid, type NewOrder } from './orders-table';
import { appendEvent, eventOf } from './payment-events-table';
import { payInOneStatement } from './pay-in-one-statement';
import { findRefund, findRefundIdOwner, saveRefundState } from './refunds-table';
import { classifyStoreError, StoreError, violatesIndex } from './store-error';

export type Clock = () => Date;

export type CreateOrderResult =
  | { readonly ok: true; readonly order: StoredOrder; readonly created: boolean }
  | { readonly ok: false; readonly existing: StoredOrder };

/** Plans the writes for the view the store read (write-plan.ts's planWrite, bound to a subject). */
export type Planner = (view: StoredView) => WritePlan;

/** How often apply re-reads and plans again when its conditional update loses, before giving up. */
const REPLANS = 3;

/**
 * The orders and everything recorded about them. Every notification, whatever its API, and every
 * answer reconciliation gets, is applied through `apply`: a write plan (write-plan.ts) made on
 * the order as read under its row lock, applied atomically in one transaction (the transition,
 * the notification, the anomaly and the outbox event commit together or not at all), and planned
 * again on a fresh read if its conditional update loses. The store decides nothing itself.
 */
export class PaymentStore {
  private readonly rowLocks: boolean;
  private readonly oneStatementPay: boolean;
  private readonly settledNotifications: NotificationBatcher;

  constructor(
    private readonly db: Knex,
    private readonly clock: Clock,
    private readonly outbox?: OutboxSignal,
  ) {
    this.rowLocks = !isSqlite(db);
    // Only PostgreSQL has data-modifying WITH clauses.
    this.oneStatementPay = dialectOf(db) === 'pg';
    this.settledNotifications = new NotificationBatcher(db);
  }

  async getOrder(mchId: string, outTradeNo: string): Promise<StoredOrder | undefined> {
    return this.run(() => findOrder(this.db, mchId, outTradeNo, { forUpdate: false }));
  }

  /** Successful payments that came before their order (see OrderService.create), oldest first. */
  async parkedPayments(mchId: string, outTradeNo: string, limit: number): Promise<ParkedPayment[]> {
    return this.run(() => findParkedPayments(this.db, mchId, outTradeNo, limit));
  }

  /** Idempotent: the same order again is fine; a different one under the same key is refused. */
  async createOrder(order: NewOrder): Promise<CreateOrderResult> {
    const compare = (existing: StoredOrder): CreateOrderResult =>
      existing.appid === order.appid && existing.totalFee === order.totalFee && existing.feeType === order.feeType
        ? { ok: true, order: existing, created: false }
        : { ok: false, existing };
    return this.run(async () => {
      const existing = await findOrder(this.db, order.mchId, order.outTradeNo, { forUpdate: false });
      if (existing) return compare(existing);
      let created = true;
      try {
        await insertOrder(this.db, order, this.clock());
      } catch (e) {
        const classified = classifyStoreError(e);
        if (!(classified instanceof StoreError && classified.code === 'STORE_CONFLICT')) throw e;
        // A concurrent CreateOrder for the same key won; compare with what it wrote.
        created = false;
      }
      const stored = await findOrder(this.db, order.mchId, order.outTradeNo, { forUpdate: false });
      if (!stored) throw new Error(`order ${order.outTradeNo} vanished after insert`);
      const outcome = compare(stored);
      return outcome.ok ? { ...outcome, created } : outcome;
    });
  }

  /** What a subject's plan is made on, read without locks (see apply's `seen`). */
  async readView(subject: MoneySubject): Promise<StoredView> {
    return this.run(() => readView(this.db, subject, { forUpdate: false, full: false }));
  }

  /**
   * The one way anything about money is written. `seen`, when given, is the view as read earlier
   * without a lock; it only picks a shorter way to write, each of which re-checks against the row
   * it writes:
   * - a plan that only records a repeat on a PAID order (a paid order never changes status or
   *   transaction again, so that plan stays right) is written alone, with no transaction and no
   *   row lock, in one multi-row INSERT with the others arriving meanwhile;
   * - on PostgreSQL, a PAY plan is written in one statement, conditional on the values it was made on.
   * Anything else, or a shorter way that did not apply, takes the transaction.
   */
  async apply(
    subject: MoneySubject,
    received: ReceivedNotification,
    plan: Planner,
    seen?: StoredView,
    signal?: AbortSignal,
  ): Promise<NotifyResult> {
    const outcome = await this.run(() => this.applyPlan(subject, received, plan, seen, signal));
    // Committed: wake this replica's event streams (a spurious wake only costs a poll).
    if (outcome.outcome !== 'DUPLICATE' && outcome.outcome !== 'ORDER_NOT_FOUND') this.outbox?.notify();
    return outcome;
  }

  private async applyPlan(
    subject: MoneySubject,
    received: ReceivedNotification,
    planner: Planner,
    seen: StoredView | undefined,
    signal: AbortSignal | undefined,
  ): Promise<NotifyResult> {
    const order = subjectOrder(subject);
    if (seen) {
      const guess = planner(seen);
      // Only a plan that keeps no body: one that does keeps it once per fact, which the
      // transaction checks (a replayed failure notification of a paid order must not store its
      // padded body again and again).
      if (recordsOnly(guess) && !guess.keepsBody && seen.order?.status === 'PAID') {
        await this.settledNotifications.insert(
          notificationRow(received, subject, guess.result, guess.keepsBody),
          signal,
        );
        return guess.result;
      }
      if (
        this.oneStatementPay &&
        guess.transition?.kind === 'PAY' &&
        guess.event &&
        !guess.anomaly &&
        (await payInOneStatement(
          this.db,
          order,
          guess.transition,
          notificationRow(received, subject, guess.result, true),
          eventOf(guess.event, order, 0),
          this.clock(),
        ))
      ) {
        return guess.result;
      }
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction((trx) => this.applyInTransaction(trx, subject, received, planner));
      } catch (e) {
        // Two transactions paid two orders with one transaction id (or stored two refunds with one
        // refund_id) at once; the index let one through. Plan again: the read now sees the other.
        if (
          attempt < REPLANS &&
          (violatesIndex(e, 'orders_merchant_transaction') || violatesIndex(e, 'refunds_merchant_refund_id'))
        )
          continue;
        throw e;
      }
    }
  }

  private async applyInTransaction(
    trx: Knex.Transaction,
    subject: MoneySubject,
    received: ReceivedNotification,
    planner: Planner,
  ): Promise<NotifyResult> {
    const now = this.clock();
    const order = subjectOrder(subject);
    const read = (): Promise<StoredView> => readView(trx, subject, { forUpdate: this.rowLocks, full: true });
    let plan = planner(await read());
    for (let replans = 0; plan.transition && !(await changeOrder(trx, order, plan.transition, now)); replans++) {
      // Someone else committed first (a lock that expired, a second replica): plan again on the
      // row as it is now; a locking read sees the latest commit in every dialect.
      if (replans >= REPLANS)
        throw new StoreError(
          'STORE_CONFLICT',
          `order ${order.outTradeNo} kept changing while a notification was applied`,
        );
      plan = planner(await read());
    }
    const digest = subjectDigest(subject);
    const keepBody = plan.keepsBody && !(await hasBodyOf(trx, order, digest));
    const notificationId = await insertNotification(trx, notificationRow(received, subject, plan.result, keepBody));
    if (
      plan.transition?.kind === 'REFUND' &&
      !(await saveRefundState(trx, plan.transition.change, plan.transition.from, notificationId, now))
    ) {
      // Another writer moved the refund after our read: roll back; WeChat's retry plans again.
      throw new StoreError('STORE_CONFLICT', `refund ${plan.transition.change.outRefundNo} changed concurrently`);
    }
    if (plan.anomaly && (await insertAnomaly(trx, plan.anomaly, order, notificationId, now))) {
      await appendEvent(trx, eventOf(plan.anomaly.event, order, notificationId), now);
    }
    if (plan.event) {
      const written = await appendEvent(trx, eventOf(plan.event, order, notificationId), now);
      // The conditional update just succeeded, so an existing ORDER_PAID means corrupt state.
      if (!written && plan.event.type === 'ORDER_PAID')
        throw new Error(`order ${order.outTradeNo} already has an ORDER_PAID event`);
    }
    return plan.result;
  }

  /** Checks the database answers; for readiness. */
  async ping(): Promise<void> {
    await this.run(() => this.db.raw('select 1'));
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      throw classifyStoreError(e);
    }
  }
}

/**
 * What planning a subject needs: its order, a refund's stored row, and (on a full read, for a
 * successful payment of an unpaid order) which other order its transaction already pays.
 */
async function readView(
  db: Knex | Knex.Transaction,
  subject: MoneySubject,
  options: { forUpdate: boolean; full: boolean },
): Promise<StoredView> {
  const key = subjectOrder(subject);
  // The order row lock (PostgreSQL, MySQL) serialises every write about one order; the refund is
  // read after it, so it sees the other's commit. SQLite's single writer does the same.
  const order = await findOrder(db, key.mchId, key.outTradeNo, { forUpdate: options.forUpdate });
  if (subject.kind === 'REFUND') {
    const { mchId, outRefundNo, refundId } = subject.change;
    const refund = await findRefund(db, mchId, outRefundNo);
    const refundIdUsedBy = await findRefundIdOwner(db, mchId, refundId, outRefundNo);
    return { order, ...(refund ? { refund } : {}), ...(refundIdUsedBy !== undefined ? { refundIdUsedBy } : {}) };
  }
  if (
    options.full &&
    subject.kind === 'PAYMENT' &&
    subject.notice.resultCode === 'SUCCESS' &&
    order?.status === 'NOTPAY'
  ) {
    const other = await findOrderPaidBy(db, key, subject.notice.transactionId);
    return other !== undefined ? { order, transactionPays: other } : { order };
  }
  return { order };
}

/** The transition's conditional update of the order; false when the row no longer allows it. */
async function changeOrder(
  trx: Knex.Transaction,
  order: { mchId: string; outTradeNo: string },
  transition: Transition,
  now: Date,
): Promise<boolean> {
  switch (transition.kind) {
    case 'PAY':
      return markPaid(trx, order, transition, now);
    case 'REFUND':
      return transition.credit ? addRefund(trx, order, transition.change, now) : true;
  }
}
