import type { Logger } from '../logger';
import { InProcessLock } from '../lock/in-process-lock';
import { LockError, orderLockKey, type OrderLock } from '../lock/order-lock';
import type { CoreMetrics } from '../metrics';
import type { MerchantDirectory } from '../notify/merchant';
import { paymentSubject, refundSubject, subjectOrder, type MoneySubject } from '../notify/money-subject';
import { publicMessage, result, type NotifyOutcome, type NotifyResult } from '../notify/outcome';
import type { PaidNotice } from '../notify/payment-notice';
import { readV2Payment } from '../notify/read-v2-payment';
import type { RefundChange } from '../notify/refund-decide';
import { readRefundNotification } from '../notify/v2-refund/read-refund-notification';
import { readV3Notification, type V3Received } from '../notify/v3/read-v3-notification';
import { planWrite, recordsOnly, type StoredView } from '../notify/write-plan';
import type { ReceivedNotification } from '../store/notifications-table';
import type { Clock, PaymentStore } from '../store/payment-store';
import { StoreError } from '../store/store-error';
import { PaidOrderCache } from './paid-order-cache';
import type { PaymentConfirmer } from './payment-confirmer';
import type { RefundConfirmer } from './refund-confirmer';

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
  /**
   * Confirms a v2 payment whose fields can be cut two ways (recut-suspicion.ts) with WeChat's
   * orderquery. Without one, such notifications are answered RETRY_LATER.
   */
  readonly confirmer?: PaymentConfirmer;
  /** Confirms a v2 refund SUCCESS with refundquery, for merchants with confirm_refunds_with_query. */
  readonly refundConfirmer?: RefundConfirmer;
}

/** What became of a payment that arrived before its order, applied at CreateOrder. */
export interface ParkedReplay {
  readonly transactionId: string;
  readonly result: NotifyResult;
}

/** At most this many distinct parked payments of one order are applied per CreateOrder. */
const PARKED_PER_ORDER = 5;

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
    const logFields: Record<string, string | undefined> = {
      mch_id: f['mch_id'],
      sub_mch_id: f['sub_mch_id'],
      out_trade_no: f['out_trade_no'],
      transaction_id: f['transaction_id'],
    };
    return this.observe(received, log, logFields, async () => {
      const read = readV2Payment(received.fields, this.deps.merchants, this.now());
      if (!read.ok) return read.result;
      let notice = read.notice;
      if (read.suspicion) {
        logFields['suspicious_field'] = read.suspicion.field;
        const confirmed = await this.confirm(notice, read.merchant, signal);
        if (!confirmed.ok) return confirmed.result;
        notice = confirmed.notice;
        logFields['transaction_id'] = confirmed.notice.transactionId;
      }
      return this.applySubject(paymentSubject(notice), received, log, signal);
    });
  }

  /**
   * A v2 refund notification: req_info decrypted with the merchant's key, confirmed with
   * refundquery when the merchant asks for it, then the refund applied. Like every reply (see
   * observe), it never carries what was decrypted (the envelope is unsigned and AES-ECB has no
   * MAC: an attacker re-cutting blocks must learn nothing from it).
   */
  async handleRefund(received: ReceivedNotification, log: Logger, signal?: AbortSignal): Promise<NotifyResult> {
    const logFields: Record<string, string | undefined> = {
      mch_id: received.fields['mch_id'],
      sub_mch_id: received.fields['sub_mch_id'],
    };
    return this.observe(received, log, logFields, async () => {
      const read = readRefundNotification(received.fields, this.deps.merchants, this.now());
      if (!read.ok) return read.result;
      Object.assign(logFields, refundLogFields(read.change));
      if (read.change.state === 'SUCCESS' && read.merchant.confirmRefundsWithQuery) {
        const confirmed = this.deps.refundConfirmer
          ? await this.deps.refundConfirmer.confirm(read.change, read.merchant, signal)
          : {
              ok: false as const,
              result: result(
                'RETRY_LATER',
                'CONFIRMATION_UNAVAILABLE',
                'no WeChat API is configured to confirm refunds; retry later',
              ),
              detail: 'no refund confirmer',
            };
        this.deps.metrics.confirmations.inc({
          kind: 'refund',
          result: confirmed.ok ? 'CONFIRMED' : confirmed.result.code,
        });
        if (!confirmed.ok) {
          logFields['confirmation'] = confirmed.detail;
          return confirmed.result;
        }
      }
      return this.applySubject(refundSubject(read.change), { ...received, fields: read.fields }, log, signal);
    });
  }

  /**
   * An APIv3 notification: the headers and raw body as received. Recorded like v2 ones: the raw
   * body, and as fields the headers without the signature, the event and the decrypted resource.
   */
  async handleV3(
    v3: V3Received,
    received: Omit<ReceivedNotification, 'fields' | 'api'>,
    log: Logger,
    signal?: AbortSignal,
  ): Promise<NotifyResult> {
    const serial = Object.entries(v3.headers).find(([k]) => k.toLowerCase() === 'wechatpay-serial')?.[1];
    const logFields: Record<string, string | undefined> = { serial: serial?.slice(0, 64) };
    const audit = { ...received, api: 'v3' as const, fields: {} };
    return this.observe(audit, log, logFields, async () => {
      const read = readV3Notification(v3, this.deps.merchants, this.now());
      if (!read.ok) return read.result;
      const headers = Object.fromEntries(
        Object.entries(v3.headers).filter(([k]) => k.toLowerCase() !== 'wechatpay-signature'),
      );
      const fields = {
        ...headers,
        id: read.notification.id,
        event_type: read.notification.eventType,
        resource: read.plaintext,
      };
      logFields['notification_id'] = read.notification.id;
      logFields['event_type'] = read.notification.eventType;
      if (read.kind === 'payment') {
        Object.assign(logFields, {
          mch_id: read.notice.mchId,
          out_trade_no: read.notice.outTradeNo,
          transaction_id: read.notice.transactionId,
        });
        return this.applySubject(paymentSubject(read.notice), { ...audit, fields }, log, signal);
      }
      Object.assign(logFields, refundLogFields(read.change));
      return this.applySubject(refundSubject(read.change), { ...audit, fields }, log, signal);
    });
  }

  /** Metrics and one log line per notification, whatever it was. */
  private async observe(
    received: Pick<ReceivedNotification, 'clientIp' | 'api'>,
    log: Logger,
    fields: LogFields,
    decide: () => Promise<NotifyResult>,
  ): Promise<NotifyResult> {
    const started = process.hrtime.bigint();
    const outcome = await decide();
    this.deps.metrics.handleNotifySeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.deps.metrics.notifications.inc({
      outcome: outcome.outcome,
      code: outcome.code,
      // Unauthenticated input must not create label values at will.
      mch_id: outcome.outcome === 'REJECTED' || outcome.outcome === 'MALFORMED' ? '' : (fields['mch_id'] ?? ''),
    });
    const quiet = QUIET.includes(outcome.outcome);
    // Values may come from anyone who can POST: each is cut, so a log line stays a log line.
    const cut = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v?.slice(0, LOG_VALUE_MAX)]));
    log[quiet ? 'info' : 'warn'](
      {
        outcome: outcome.outcome,
        code: outcome.code,
        ...cut,
        api: received.api ?? 'v2',
        client_ip: received.clientIp.slice(0, LOG_VALUE_MAX),
      },
      `notification ${outcome.outcome}: ${outcome.message.slice(0, LOG_MESSAGE_MAX)}`,
    );
    // The log keeps the detail; the sender learns only what kind of thing happened.
    return result(outcome.outcome, outcome.code, publicMessage(outcome));
  }

  /**
   * The one entry point for anything that moves money: every notification handler, the parked
   * payments applied at CreateOrder and reconciliation's answers. The write plan is made and
   * applied by the store under the order lock (planWrite, PaymentStore.apply); a plan that only
   * records a repeat on a paid order needs no lock, since nothing can change its decision any
   * more. Lock and database failures come back as RETRY_LATER: nothing was written.
   */
  async applySubject(
    subject: MoneySubject,
    received: ReceivedNotification,
    log: Logger,
    signal?: AbortSignal,
  ): Promise<NotifyResult> {
    const { store } = this.deps;
    const order = subjectOrder(subject);
    const key = orderLockKey(order.mchId, order.outTradeNo);
    const plan = (view: StoredView) => planWrite(subject, view);
    return this.whileWriting(log, () =>
      this.exclusive(
        key,
        async (): Promise<StoredView> => {
          // What a payment's plan reads of a paid order never changes; a refund's does (refunded_fee).
          const known = subject.kind === 'PAYMENT' ? this.paidOrders.get(key) : undefined;
          if (known) return { order: known };
          const view = await store.readView(subject);
          this.paidOrders.remember(key, view.order);
          return view;
        },
        (view) => {
          const guess = plan(view);
          return view.order?.status === 'PAID' && recordsOnly(guess) && !guess.keepsBody;
        },
        async (view) => {
          const outcome = await store.apply(subject, received, plan, view, signal);
          // This notification paid it: the order is now what it was plus the payment.
          if (
            outcome.outcome === 'PAID' &&
            view.order &&
            subject.kind === 'PAYMENT' &&
            subject.notice.resultCode === 'SUCCESS'
          ) {
            this.paidOrders.remember(key, {
              ...view.order,
              status: 'PAID',
              transactionId: subject.notice.transactionId,
              paidAt: subject.notice.paidAt,
            });
          }
          return outcome;
        },
        signal,
      ),
    );
  }

  /**
   * Applies the successful payments stored for an order that did not exist when they arrived
   * (answered ORDER_NOT_FOUND then; WeChat may since have given up retrying), oldest first, each
   * through applySubject. The facts stored with them were authenticated on arrival; rows written
   * before those facts were stored are read again from their fields (v2, signature re-checked).
   * A failure is logged, counted and returned; the next identical CreateOrder, or reconciliation,
   * tries again.
   */
  async applyParked(mchId: string, outTradeNo: string, log: Logger): Promise<ParkedReplay[]> {
    const parked = await this.deps.store.parkedPayments(mchId, outTradeNo, PARKED_PER_ORDER);
    const replays: ParkedReplay[] = [];
    for (const p of parked) {
      const received: ReceivedNotification = {
        fields: p.fields,
        rawBody: p.rawBody,
        clientIp: p.clientIp,
        requestId: p.requestId,
        receivedAt: this.now(),
        api: p.kind === 'PAYMENT_V3' ? 'v3' : 'v2',
        source: 'notification',
      };
      const legacy = p.notice ? undefined : await this.legacyParked(p.kind, p.fields);
      const notice = p.notice ?? (legacy?.ok ? legacy.notice : undefined);
      const outcome = notice
        ? await this.applySubject(paymentSubject(notice), received, log)
        : legacy && !legacy.ok
          ? legacy.result
          : result(
              'MALFORMED',
              'INVALID_FIELD',
              'a parked APIv3 payment stored before its facts were kept; reconciliation applies it',
            );
      replays.push({ transactionId: notice?.transactionId ?? p.fields['transaction_id'] ?? '', result: outcome });
      this.deps.metrics.parkedReplays.inc({ outcome: outcome.outcome });
      const applied = ['PAID', 'DUPLICATE'].includes(outcome.outcome);
      log[applied ? 'info' : 'warn'](
        {
          mch_id: mchId,
          out_trade_no: outTradeNo,
          transaction_id: notice?.transactionId,
          outcome: outcome.outcome,
          code: outcome.code,
        },
        applied
          ? 'a payment that arrived before its order was applied at CreateOrder'
          : `a payment that arrived before its order was not applied at CreateOrder: ${outcome.message}`,
      );
    }
    return replays;
  }

  /** A parked v2 payment stored before its facts were: proved and read again, confirmed when it must be. */
  private async legacyParked(
    kind: string,
    fields: Readonly<Record<string, string>>,
  ): Promise<{ ok: true; notice: PaidNotice } | { ok: false; result: NotifyResult } | undefined> {
    if (kind !== 'PAYMENT_V2') return undefined;
    const read = readV2Payment(fields, this.deps.merchants, this.now());
    if (!read.ok) return read;
    if (read.notice.resultCode !== 'SUCCESS') return undefined;
    if (!read.suspicion) return { ok: true, notice: read.notice };
    return this.confirm(read.notice, read.merchant, undefined);
  }

  private async confirm(
    notice: Parameters<PaymentConfirmer['confirm']>[0],
    merchant: Parameters<PaymentConfirmer['confirm']>[1],
    signal: AbortSignal | undefined,
  ): ReturnType<PaymentConfirmer['confirm']> {
    const confirmer = this.deps.confirmer;
    const outcome = confirmer
      ? await confirmer.confirm(notice, merchant, signal)
      : {
          ok: false as const,
          result: result(
            'RETRY_LATER',
            'CONFIRMATION_UNAVAILABLE',
            "the notification's fields can be read two ways and no WeChat API is configured to confirm it; retry later",
          ),
        };
    this.deps.metrics.confirmations.inc({ kind: 'payment', result: outcome.ok ? 'CONFIRMED' : outcome.result.code });
    return outcome;
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
    const step = await this.localQueue.withLock(
      key,
      async (): Promise<{ readonly settled: S } | { readonly result: NotifyResult }> => {
        const now = queued ? await read() : seen;
        if (settled(now)) return { settled: now };
        return {
          result: await this.deps.lock.withLock(
            key,
            () => {
              this.deps.metrics.lockWaitSeconds.observe(Number(process.hrtime.bigint() - waitStarted) / 1e9);
              return this.timed(() => write(now), signal);
            },
            signal,
            Math.max(0, waitEnds - Date.now()),
          ),
        };
      },
      signal,
    );
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
          case 'LOCK_BUSY':
            return result('RETRY_LATER', 'LOCK_BUSY', 'another delivery of this order is being processed; retry later');
          case 'LOCK_UNAVAILABLE':
            return result('RETRY_LATER', 'LOCK_UNAVAILABLE', 'the lock service has no quorum; retry later');
          case 'LOCK_WAIT_CANCELLED':
            return result(
              'RETRY_LATER',
              'CALLER_CANCELLED',
              'the caller cancelled or its deadline passed; nothing was written',
            );
        }
      }
      if (e instanceof StoreError && e.code === 'STORE_CANCELLED') {
        return result(
          'RETRY_LATER',
          'CALLER_CANCELLED',
          'the caller cancelled or its deadline passed; nothing was written',
        );
      }
      if (e instanceof StoreError) {
        log.error({ err: e }, 'database error while recording a notification');
        return result(
          'RETRY_LATER',
          'STORE_UNAVAILABLE',
          e.code === 'STORE_CONFLICT'
            ? 'a concurrent delivery wrote first; retry later'
            : 'the database is unavailable; retry later',
        );
      }
      throw e;
    }
  }
}

/** How much of an unauthenticated value, and of a result's message, a log line keeps (docs/operating.md "Logs, metrics, health"). */
const LOG_VALUE_MAX = 128;
const LOG_MESSAGE_MAX = 512;

const QUIET: readonly NotifyOutcome[] = ['PAID', 'DUPLICATE', 'REFUNDED', 'REFUND_RECORDED'];

function refundLogFields(change: RefundChange): Record<string, string> {
  return {
    mch_id: change.mchId,
    out_trade_no: change.outTradeNo,
    out_refund_no: change.outRefundNo,
    transaction_id: change.transactionId,
    refund_status: change.reportedStatus,
  };
}
