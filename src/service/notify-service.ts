import type { Logger } from '../logger';
import { InProcessLock } from '../lock/in-process-lock';
import { LockError, orderLockKey, type OrderLock } from '../lock/order-lock';
import type { CoreMetrics } from '../metrics';
import { authenticate } from '../notify/authenticate';
import type { MerchantDirectory } from '../notify/merchant';
import { result, type NotifyResult } from '../notify/outcome';
import { parsePaymentNotice, type PaymentNotice } from '../notify/payment-notice';
import type { RefundChange } from '../notify/refund-decide';
import { readRefundNotification } from '../notify/v2-refund/read-refund-notification';
import { readV3Notification, type V3Received } from '../notify/v3/read-v3-notification';
import type { ReceivedNotification } from '../store/notifications-table';
import type { Clock, PaymentStore } from '../store/payment-store';
import { StoreError } from '../store/store-error';
import { PaidOrderCache } from './paid-order-cache';

export interface NotifyServiceDeps {
  /** Read on every notification, so a reload (SIGHUP) applies to the next one. */
  readonly merchants: MerchantDirectory;
  readonly lock: OrderLock;
  readonly store: PaymentStore;
  readonly metrics: CoreMetrics;
  /** Key rotation windows and the APIv3 timestamp window are judged against it; the system clock by default. */
  readonly clock?: Clock;
  /** How long a delivery may wait for its order, in this process's queue and for the lock together: LOCK_WAIT_MS in the core. */
  readonly localWaitMs?: number;
}

const DEFAULT_LOCAL_WAIT_MS = 2_000;
/**
 * WeChat's redeliveries of one notification mostly come within seconds of each other (several of
 * its servers, a reply that was slow): at a few hundred payments a second this covers a minute
 * of them, in a few MB.
 */
const PAID_ORDERS_REMEMBERED = 20_000;

/** The log fields of a notification, whatever its kind; never a key or a signature. */
type LogFields = Readonly<Record<string, string | undefined>>;

/**
 * HandleNotify, HandleRefundNotify and HandleV3Notify's work: prove and read the notification
 * (pure), then apply the decision under the order lock. Payments from v2 and v3 take the same
 * path, and so do refunds. Failures of the lock or the database become RETRY_LATER: their
 * transaction rolled back, so nothing was written and WeChat's retry is the recovery.
 */
export class NotifyService {
  private readonly now: Clock;
  /** Where this replica's concurrent deliveries for one order wait their turn (see exclusive). */
  private readonly localQueue: InProcessLock;
  private readonly localWaitMs: number;
  private readonly paidOrders = new PaidOrderCache(PAID_ORDERS_REMEMBERED);

  constructor(private readonly deps: NotifyServiceDeps) {
    this.now = deps.clock ?? ((): Date => new Date());
    this.localWaitMs = deps.localWaitMs ?? DEFAULT_LOCAL_WAIT_MS;
    this.localQueue = new InProcessLock(this.localWaitMs);
  }

  /** A v2 payment notification. `signal` aborts when the caller is gone; no work starts after that. */
  async handle(received: ReceivedNotification, log: Logger, signal?: AbortSignal): Promise<NotifyResult> {
    const f = received.fields;
    return this.observe(received, log, {
      mch_id: f['mch_id'], sub_mch_id: f['sub_mch_id'], out_trade_no: f['out_trade_no'], transaction_id: f['transaction_id'],
    }, async () => {
      const auth = authenticate(received.fields, this.deps.merchants, this.now());
      if (!auth.ok) return auth.result;
      const parsed = parsePaymentNotice(received.fields);
      if (!parsed.ok) return parsed.result;
      return this.applyPayment(received, parsed.notice, log, signal);
    });
  }

  /** A v2 refund notification: req_info decrypted with the merchant's key, then the refund applied. */
  async handleRefund(received: ReceivedNotification, log: Logger, signal?: AbortSignal): Promise<NotifyResult> {
    const logFields: Record<string, string | undefined> = { mch_id: received.fields['mch_id'], sub_mch_id: received.fields['sub_mch_id'] };
    return this.observe(received, log, logFields, async () => {
      const read = readRefundNotification(received.fields, this.deps.merchants, this.now());
      if (!read.ok) return read.result;
      Object.assign(logFields, refundLogFields(read.change));
      return this.applyRefund({ ...received, fields: read.fields }, read.change, log, signal);
    });
  }

  /**
   * An APIv3 notification: the headers and raw body as received. Recorded like v2 ones: the raw
   * body, and as fields the headers without the signature, the event and the decrypted resource.
   */
  async handleV3(v3: V3Received, received: Omit<ReceivedNotification, 'fields' | 'api'>, log: Logger, signal?: AbortSignal): Promise<NotifyResult> {
    const serial = Object.entries(v3.headers).find(([k]) => k.toLowerCase() === 'wechatpay-serial')?.[1];
    const logFields: Record<string, string | undefined> = { serial: serial?.slice(0, 64) };
    const audit = { ...received, api: 'v3' as const, fields: {} };
    return this.observe(audit, log, logFields, async () => {
      const read = readV3Notification(v3, this.deps.merchants, this.now());
      if (!read.ok) return read.result;
      const headers = Object.fromEntries(Object.entries(v3.headers).filter(([k]) => k.toLowerCase() !== 'wechatpay-signature'));
      const fields = { ...headers, id: read.notification.id, event_type: read.notification.eventType, resource: read.plaintext };
      logFields['notification_id'] = read.notification.id;
      logFields['event_type'] = read.notification.eventType;
      if (read.kind === 'payment') {
        Object.assign(logFields, { mch_id: read.notice.mchId, out_trade_no: read.notice.outTradeNo, transaction_id: read.notice.transactionId });
        return this.applyPayment({ ...audit, fields }, read.notice, log, signal);
      }
      Object.assign(logFields, refundLogFields(read.change));
      return this.applyRefund({ ...audit, fields }, read.change, log, signal);
    });
  }

  /** Metrics and one log line per notification, whatever it was. */
  private async observe(received: Pick<ReceivedNotification, 'clientIp' | 'api'>, log: Logger, fields: LogFields, decide: () => Promise<NotifyResult>): Promise<NotifyResult> {
    const started = process.hrtime.bigint();
    const outcome = await decide();
    this.deps.metrics.handleNotifySeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.deps.metrics.notifications.inc({
      outcome: outcome.outcome,
      code: outcome.code,
      // Unauthenticated input must not create label values at will.
      mch_id: outcome.outcome === 'REJECTED' || outcome.outcome === 'MALFORMED' ? '' : fields['mch_id'] ?? '',
    });
    const quiet = ['PAID', 'DUPLICATE', 'REFUNDED', 'REFUND_RECORDED'].includes(outcome.outcome);
    log[quiet ? 'info' : 'warn']({
      outcome: outcome.outcome,
      code: outcome.code,
      ...fields,
      api: received.api ?? 'v2',
      client_ip: received.clientIp,
    }, `notification ${outcome.outcome}: ${outcome.message}`);
    return outcome;
  }

  private async applyPayment(received: ReceivedNotification, notice: PaymentNotice, log: Logger, signal: AbortSignal | undefined): Promise<NotifyResult> {
    const { store } = this.deps;
    const key = orderLockKey(notice.mchId, notice.outTradeNo);
    // An order already paid (the common case under WeChat's retries) needs no lock: nothing can
    // change its decision any more. For the others the read lets the store try its shortest way
    // to write; the store checks again against the row it writes.
    return this.whileWriting(log, () => this.exclusive(
      key,
      async () => {
        const known = this.paidOrders.get(key);
        if (known) return known;
        const order = await store.getOrder(notice.mchId, notice.outTradeNo);
        this.paidOrders.remember(key, order);
        return order;
      },
      (order) => order?.status === 'PAID',
      async (order) => {
        const outcome = await store.recordNotification(received, notice, { order }, signal);
        // This notification paid it: the order is now what it was plus the payment.
        if (outcome.outcome === 'PAID' && order && notice.resultCode === 'SUCCESS') {
          this.paidOrders.remember(key, { ...order, status: 'PAID', transactionId: notice.transactionId, paidAt: notice.paidAt });
        }
        return outcome;
      },
      signal,
    ));
  }

  private async applyRefund(received: ReceivedNotification, change: RefundChange, log: Logger, signal: AbortSignal | undefined): Promise<NotifyResult> {
    const { store } = this.deps;
    // A redelivery of a state already stored decides DUPLICATE in the transaction anyway, so it
    // needs no lock. Otherwise the refunds of one order share the order's lock: together they
    // must not exceed what was paid.
    return this.whileWriting(log, () => this.exclusive(
      orderLockKey(change.mchId, change.outTradeNo),
      () => store.getRefund(change.mchId, change.outRefundNo),
      (stored) => stored?.state === change.state,
      () => store.recordRefund(received, change),
      signal,
    ));
  }

  /**
   * Reads what the notification is about and writes without a lock when `settled` says the
   * write can only record a duplicate; otherwise writes under the order lock.
   *
   * Copies of a notification often reach this replica together (WeChat's retries overlap, and
   * several of its servers send at once). They queue here first, each woken the moment the one
   * ahead finishes, and read again: by then the first has usually settled the order, so they
   * leave the queue and write without the distributed lock, instead of each polling it until it
   * frees up. The queue and the distributed lock share one wait budget, LOCK_WAIT_MS.
   */
  private async exclusive<S>(
    key: string,
    read: () => Promise<S>,
    settled: (seen: S) => boolean,
    write: (seen: S) => Promise<NotifyResult>,
    signal: AbortSignal | undefined,
  ): Promise<NotifyResult> {
    const seen = await read();
    if (settled(seen)) return this.timed(() => write(seen), signal);
    const waitStarted = process.hrtime.bigint();
    const waitEnds = Date.now() + this.localWaitMs;
    const queued = this.localQueue.isHeld(key);
    const step = await this.localQueue.withLock(key, async (): Promise<{ readonly settled: S } | { readonly result: NotifyResult }> => {
      const now = queued ? await read() : seen;
      if (settled(now)) return { settled: now };
      return {
        result: await this.deps.lock.withLock(key, () => {
          this.deps.metrics.lockWaitSeconds.observe(Number(process.hrtime.bigint() - waitStarted) / 1e9);
          return this.timed(() => write(now), signal);
        }, signal, Math.max(0, waitEnds - Date.now())),
      };
    }, signal);
    // Settled while queued: out of the queue first, so the copies behind do not wait on this write.
    return 'result' in step ? step.result : this.timed(() => write(step.settled), signal);
  }

  /** Runs `write` unless the caller is gone, and times it. */
  private async timed(write: () => Promise<NotifyResult>, signal: AbortSignal | undefined): Promise<NotifyResult> {
    if (signal?.aborted) throw new LockError('LOCK_WAIT_CANCELLED', 'caller went away before the write');
    const t = process.hrtime.bigint();
    try {
      return await write();
    } finally {
      this.deps.metrics.storeSeconds.observe(Number(process.hrtime.bigint() - t) / 1e9);
    }
  }

  /**
   * Lock and database failures become RETRY_LATER: what failed was not committed (a transaction
   * rolled back, a statement or an INSERT failed), so WeChat's retry is the recovery.
   */
  private async whileWriting(log: Logger, work: () => Promise<NotifyResult>): Promise<NotifyResult> {
    try {
      return await work();
    } catch (e) {
      if (e instanceof LockError) {
        log.warn({ err: e }, 'order lock not obtained');
        switch (e.code) {
          case 'LOCK_BUSY': return result('RETRY_LATER', 'LOCK_BUSY', 'another delivery of this order is being processed; retry later');
          case 'LOCK_UNAVAILABLE': return result('RETRY_LATER', 'LOCK_UNAVAILABLE', 'the lock service has no quorum; retry later');
          case 'LOCK_WAIT_CANCELLED': return result('RETRY_LATER', 'CALLER_CANCELLED', 'the caller cancelled or its deadline passed; nothing was written');
        }
      }
      if (e instanceof StoreError && e.code === 'STORE_CANCELLED') {
        return result('RETRY_LATER', 'CALLER_CANCELLED', 'the caller cancelled or its deadline passed; nothing was written');
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

function refundLogFields(change: RefundChange): Record<string, string> {
  return {
    mch_id: change.mchId, out_trade_no: change.outTradeNo, out_refund_no: change.outRefundNo,
    transaction_id: change.transactionId, refund_status: change.reportedStatus,
  };
}
