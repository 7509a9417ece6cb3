import type { Logger } from '../logger';
import { LockError, orderLockKey, type OrderLock } from '../lock/order-lock';
import type { CoreMetrics } from '../metrics';
import { authenticate } from '../notify/authenticate';
import type { MerchantDirectory } from '../notify/merchant';
import { result, type NotifyResult } from '../notify/outcome';
import { parsePaymentNotice } from '../notify/payment-notice';
import type { ReceivedNotification } from '../store/notifications-table';
import type { PaymentStore } from '../store/payment-store';
import { StoreError } from '../store/store-error';

export interface NotifyServiceDeps {
  readonly merchants: MerchantDirectory;
  readonly lock: OrderLock;
  readonly store: PaymentStore;
  readonly metrics: CoreMetrics;
}

/**
 * HandleNotify's work: authenticate, parse, then apply the decision under the order lock.
 * Failures of the lock or the database become RETRY_LATER: their transaction rolled back, so
 * nothing was written and WeChat's retry is the recovery.
 */
export class NotifyService {
  constructor(private readonly deps: NotifyServiceDeps) {}

  /** `signal` aborts when the caller is gone; no work starts after that. */
  async handle(received: ReceivedNotification, log: Logger, signal?: AbortSignal): Promise<NotifyResult> {
    const started = process.hrtime.bigint();
    const outcome = await this.decide(received, log, signal);
    this.deps.metrics.handleNotifySeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.deps.metrics.notifications.inc({
      outcome: outcome.outcome,
      code: outcome.code,
      // Unauthenticated input must not create label values at will.
      mch_id: outcome.outcome === 'REJECTED' || outcome.outcome === 'MALFORMED' ? '' : received.fields['mch_id'] ?? '',
    });
    const level = outcome.outcome === 'PAID' || outcome.outcome === 'DUPLICATE' ? 'info' : 'warn';
    log[level]({
      outcome: outcome.outcome,
      code: outcome.code,
      mch_id: received.fields['mch_id'],
      out_trade_no: received.fields['out_trade_no'],
      transaction_id: received.fields['transaction_id'],
      client_ip: received.clientIp,
    }, `notification ${outcome.outcome}: ${outcome.message}`);
    return outcome;
  }

  private async decide(received: ReceivedNotification, log: Logger, signal: AbortSignal | undefined): Promise<NotifyResult> {
    const auth = authenticate(received.fields, this.deps.merchants);
    if (!auth.ok) return auth.result;
    const parsed = parsePaymentNotice(received.fields);
    if (!parsed.ok) return parsed.result;
    const notice = parsed.notice;
    const { store, lock, metrics } = this.deps;
    const record = async (): Promise<NotifyResult> => {
      if (signal?.aborted) throw new LockError('LOCK_WAIT_CANCELLED', 'caller went away before the write');
      const t = process.hrtime.bigint();
      try {
        return await store.recordNotification(received, notice);
      } finally {
        metrics.storeSeconds.observe(Number(process.hrtime.bigint() - t) / 1e9);
      }
    };
    try {
      // A known duplicate (the common case under WeChat's retries) needs no lock: the store's
      // transaction re-reads the order and decides again, so skipping the lock only skips waiting.
      const current = await store.getOrder(notice.mchId, notice.outTradeNo);
      if (current?.status === 'PAID') return await record();
      const waitStarted = process.hrtime.bigint();
      return await lock.withLock(orderLockKey(notice.mchId, notice.outTradeNo), () => {
        metrics.lockWaitSeconds.observe(Number(process.hrtime.bigint() - waitStarted) / 1e9);
        return record();
      }, signal);
    } catch (e) {
      if (e instanceof LockError) {
        log.warn({ err: e }, 'order lock not obtained');
        switch (e.code) {
          case 'LOCK_BUSY': return result('RETRY_LATER', 'LOCK_BUSY', 'another delivery of this order is being processed; retry later');
          case 'LOCK_UNAVAILABLE': return result('RETRY_LATER', 'LOCK_UNAVAILABLE', 'the lock service has no quorum; retry later');
          case 'LOCK_WAIT_CANCELLED': return result('RETRY_LATER', 'CALLER_CANCELLED', 'the caller cancelled or its deadline passed; nothing was written');
        }
      }
      if (e instanceof StoreError) {
        log.error({ err: e }, 'database error while recording a notification');
        return result('RETRY_LATER', 'STORE_UNAVAILABLE', e.code === 'STORE_CONFLICT'
          ? 'a concurrent delivery wrote first; retry later'
          : 'the database is unavailable; retry later');
      }
      throw e;
    }
  }
}
