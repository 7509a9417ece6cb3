import type { Knex } from 'knex';
import { decide, type Decision } from '../notify/decide';
import type { StoredOrder } from '../notify/order';
import type { NotifyResult } from '../notify/outcome';
import type { PaymentNotice } from '../notify/payment-notice';
import type { RefundChange, RefundRecord } from '../notify/refund-decide';
import { raiseAnomaly } from './anomalies-table';
import { isSqlite } from './database';
import { NotificationBatcher } from './notification-batcher';
import { findParkedPayment, insertNotification, notificationRow, paymentSubject, type ParkedPayment, type ReceivedNotification } from './notifications-table';
import type { OutboxSignal } from './outbox-signal';
import { findOrder, insertOrder, markPaid, type NewOrder } from './orders-table';
import { appendEvent } from './payment-events-table';
import { orderPaidEvent } from './order-paid-event';
import { payInOneStatement } from './pay-in-one-statement';
import { applyRefund } from './refund-transaction';
import { findRefund } from './refunds-table';
import { classifyStoreError, StoreError } from './store-error';

export type Clock = () => Date;

export type CreateOrderResult =
  | { readonly ok: true; readonly order: StoredOrder; readonly created: boolean }
  | { readonly ok: false; readonly existing: StoredOrder };

/**
 * The orders and everything recorded about them. Each notification is applied atomically (one
 * transaction, or on PostgreSQL one statement for a payment): the order's transition, the
 * notification, the anomaly and the outbox event commit together or not at all.
 */
export class PaymentStore {
  private readonly rowLocks: boolean;
  private readonly oneStatementPay: boolean;
  private readonly settledNotifications: NotificationBatcher;

  constructor(private readonly db: Knex, private readonly clock: Clock, private readonly outbox?: OutboxSignal) {
    this.rowLocks = !isSqlite(db);
    // Only PostgreSQL has data-modifying WITH clauses.
    this.oneStatementPay = db.client.config.client === 'pg';
    this.settledNotifications = new NotificationBatcher(db);
  }

  async getOrder(mchId: string, outTradeNo: string): Promise<StoredOrder | undefined> {
    return this.run(() => findOrder(this.db, mchId, outTradeNo, { forUpdate: false }));
  }

  /** A successful payment notification that came before its order (see OrderService.create). */
  async parkedPayment(mchId: string, outTradeNo: string): Promise<ParkedPayment | undefined> {
    return this.run(() => findParkedPayment(this.db, mchId, outTradeNo));
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

  /**
   * Applies the notify decision for an authenticated, well-formed notification. `seen`, when
   * given, holds the order as read earlier without a lock (undefined: not registered then). It
   * only picks a shorter way to write: each way re-checks against the row as it is written.
   */
  async recordNotification(
    received: ReceivedNotification,
    notice: PaymentNotice,
    seen?: { readonly order: StoredOrder | undefined },
    signal?: AbortSignal,
  ): Promise<NotifyResult> {
    const outcome = await this.run(() => this.apply(received, notice, seen?.order, signal));
    // Committed: wake this replica's event streams (a spurious wake only costs a poll).
    if (outcome.outcome !== 'DUPLICATE' && outcome.outcome !== 'ORDER_NOT_FOUND') this.outbox?.notify();
    return outcome;
  }

  private async apply(received: ReceivedNotification, notice: PaymentNotice, seen: StoredOrder | undefined, signal: AbortSignal | undefined): Promise<NotifyResult> {
    if (seen) {
      const guess = decide(notice, seen);
      // A paid order never changes status or transaction again, so what a notification about it
      // decides now stays decided: record it alone, with no transaction and no row lock, in one
      // INSERT with the other such rows that arrive meanwhile.
      if (guess.action === 'RECORD' && seen.status === 'PAID') {
        await this.settledNotifications.insert(notificationRow(received, paymentSubject(notice), guess.result), signal);
        return guess.result;
      }
      if (guess.action === 'MARK_PAID' && notice.resultCode === 'SUCCESS' && this.oneStatementPay
        && await payInOneStatement(this.db, received, notice, seen, guess.result, this.clock())) {
        return guess.result;
      }
    }
    return this.applyNotification(received, notice);
  }

  private applyNotification(received: ReceivedNotification, notice: PaymentNotice): Promise<NotifyResult> {
    return this.db.transaction(async (trx) => {
      const now = this.clock();
      const key = { mchId: notice.mchId, outTradeNo: notice.outTradeNo };
      let decision: Decision = decide(notice, await findOrder(trx, key.mchId, key.outTradeNo, { forUpdate: this.rowLocks }));
      if (decision.action === 'MARK_PAID' && notice.resultCode === 'SUCCESS') {
        const won = await markPaid(trx, key, notice, now);
        if (!won) {
          // Someone else committed first (a lock that expired, a second replica): decide again on
          // the row as it is now; a locking read sees the latest commit in every dialect.
          decision = decide(notice, await findOrder(trx, key.mchId, key.outTradeNo, { forUpdate: this.rowLocks }));
          if (decision.action === 'MARK_PAID') throw new Error(`order ${notice.outTradeNo} refused the conditional update but is not paid`);
        }
      }
      const notificationId = await insertNotification(trx, received, notice, decision.result);
      switch (decision.action) {
        case 'MARK_PAID': {
          if (notice.resultCode !== 'SUCCESS') throw new Error('MARK_PAID for a failed notice');
          const written = await appendEvent(trx, orderPaidEvent(notice, notificationId), now);
          // The conditional update just succeeded, so an existing ORDER_PAID means corrupt state.
          if (!written) throw new Error(`order ${notice.outTradeNo} already has an ORDER_PAID event`);
          break;
        }
        case 'RECORD_FAILURE':
          await appendEvent(trx, {
            type: 'PAYMENT_FAILED',
            mchId: notice.mchId,
            outTradeNo: notice.outTradeNo,
            transactionId: null,
            payload: {
              mch_id: notice.mchId, out_trade_no: notice.outTradeNo,
              err_code: notice.resultCode === 'FAIL' ? notice.errCode : '', notification_id: notificationId,
            },
            dedupeKey: `PAYMENT_FAILED:${notice.mchId}:${notice.outTradeNo}:${notice.sign}`,
          }, now);
          break;
        case 'RAISE_ANOMALY':
          if (await raiseAnomaly(trx, decision.anomaly, notice, notificationId, now)) {
            await appendEvent(trx, {
              type: 'ANOMALY_RAISED',
              mchId: notice.mchId,
              outTradeNo: notice.outTradeNo,
              transactionId: notice.resultCode === 'SUCCESS' ? notice.transactionId : null,
              payload: { kind: decision.anomaly.kind, detail: decision.anomaly.detail, notification_id: notificationId },
              dedupeKey: `ANOMALY_RAISED:${decision.anomaly.kind}:${notice.mchId}:${notice.outTradeNo}:${notice.sign}`,
            }, now);
          }
          break;
        case 'RECORD':
          break;
      }
      return decision.result;
    });
  }

  async getRefund(mchId: string, outRefundNo: string): Promise<RefundRecord | undefined> {
    return this.run(() => findRefund(this.db, mchId, outRefundNo));
  }

  /** Applies a refund notification (v2 or v3) in one transaction: see refund-transaction.ts. */
  async recordRefund(received: ReceivedNotification, change: RefundChange): Promise<NotifyResult> {
    const outcome = await this.run(() => this.db.transaction((trx) => applyRefund(trx, received, change, this.clock(), this.rowLocks)));
    if (outcome.outcome !== 'DUPLICATE' && outcome.outcome !== 'ORDER_NOT_FOUND') this.outbox?.notify();
    return outcome;
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
